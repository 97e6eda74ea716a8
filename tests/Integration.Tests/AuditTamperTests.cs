using System.Net;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Deploy.Engine.Domain.Audit;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The audit trail is tamper-evident against whoever can write its storage: edit a stored entry, recompute the chain
/// and its head without the audit key, or cut the last entry off (and fix the head beside it), in Azurite, and
/// verification after a restart says what and where.
/// </summary>
public sealed class AuditTamperTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task Editing_a_stored_audit_entry_is_detected_by_verification_after_a_restart()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await using (var first = new EngineHost(settings))
        {
            var api = first.Client();
            foreach (var version in new[] { "1.1.0", "1.2.0", "1.3.0" })
            {
                await api.PostJson("/v1/releases", new { service = "ledger", version, artifact = TestHttp.Digest(version) }).Expect(HttpStatusCode.Created);
            }

            var verified = await api.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
            Assert.True((bool)verified["valid"]!, verified.ToJsonString());
            Assert.Equal(3, (long)verified["entries"]!);
        }

        // Rewrite history in storage: the second release's entry now claims another version.
        var container = new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient("deploy-engine-state");
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync())
        {
            names.Add(item.Name);
        }

        var auditBlob = names.SingleOrDefault(n => n.Contains("audit", StringComparison.OrdinalIgnoreCase) && !n.Contains("page", StringComparison.OrdinalIgnoreCase));
        Assert.True(auditBlob is not null, "no audit blob among: " + string.Join(", ", names));
        var blob = container.GetBlobClient(auditBlob);
        var json = (await blob.DownloadContentAsync()).Value.Content.ToString();
        Assert.Contains("release ledger 1.2.0 submitted", json);
        await blob.UploadAsync(BinaryData.FromString(json.Replace("release ledger 1.2.0 submitted", "release ledger 1.2.9 submitted", StringComparison.Ordinal)), overwrite: true);

        await using var second = new EngineHost(settings);
        var result = await second.Client().GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
        Assert.False((bool)result["valid"]!, result.ToJsonString());
        Assert.Equal(2, (long)result["brokenAt"]!);
        Assert.Contains("altered", (string?)result["reason"]);
    }

    [Fact]
    public async Task Recomputing_the_chain_and_head_without_the_key_is_detected()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await Submit(settings, 3);

        var (blob, state) = await AuditState();
        var entries = Entries(state);
        entries[1]!["Reason"] = "release ledger 1.2.9 submitted";
        // What a storage writer can do: re-hash every entry from the edit on (with any key but the engine's) and the head.
        var guessed = "a-storage-writer-does-not-have-the-key"u8.ToArray();
        var previous = AuditChain.Genesis;
        foreach (var entry in entries)
        {
            entry!["PreviousHash"] = previous;
            var hash = AuditChain.Hash(guessed, previous, Facts(entry));
            entry["Hash"] = hash;
            previous = hash;
        }

        state["Head"] = previous;
        await blob.UploadAsync(BinaryData.FromString(state.ToJsonString()), overwrite: true);

        var result = await Verify(settings);
        Assert.False((bool)result["valid"]!, result.ToJsonString());
        Assert.Equal(1, (long)result["brokenAt"]!);
        Assert.Contains("under the audit key", (string?)result["reason"]);
    }

    [Fact]
    public async Task Deleting_the_last_entry_and_fixing_the_head_beside_it_is_detected_and_stays_detected()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await Submit(settings, 3);

        var (blob, state) = await AuditState();
        var entries = Entries(state);
        entries.RemoveAt(2);
        state["Count"] = 2;
        state["Head"] = (string?)entries[1]!["Hash"];
        await blob.UploadAsync(BinaryData.FromString(state.ToJsonString()), overwrite: true);

        await using var second = new EngineHost(settings);
        var api = second.Client();
        var result = await api.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
        Assert.False((bool)result["valid"]!, result.ToJsonString());
        Assert.Contains("the log holds 2 entries but its signed checkpoint records 3: entries were removed from the end", (string?)result["reason"]);

        // Appending afterwards does not wash it out: the finding is kept, signed, in the checkpoint.
        await api.PostJson("/v1/releases", new { service = "ledger", version = "1.4.0", artifact = TestHttp.Digest("1.4.0") }).Expect(HttpStatusCode.Created);
        var later = await api.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
        Assert.False((bool)later["valid"]!, later.ToJsonString());
        Assert.Contains("entries were removed from the end", (string?)later["reason"]);
        Assert.True((bool)later["keyed"]!);
    }

    private static async Task Submit(EngineHost.Settings settings, int releases)
    {
        await using var engine = new EngineHost(settings);
        var api = engine.Client();
        for (var i = 1; i <= releases; i++)
        {
            await api.PostJson("/v1/releases", new { service = "ledger", version = $"1.{i}.0", artifact = TestHttp.Digest($"1.{i}.0") }).Expect(HttpStatusCode.Created);
        }

        var verified = await api.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
        Assert.True((bool)verified["valid"]!, verified.ToJsonString());
    }

    private static async Task<JsonNode> Verify(EngineHost.Settings settings)
    {
        await using var engine = new EngineHost(settings);
        return await engine.Client().GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
    }

    /// <summary>The blob holding the open page of the audit log, and its state as stored.</summary>
    private async Task<(BlobClient Blob, JsonObject State)> AuditState()
    {
        var container = new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient("deploy-engine-state");
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync())
        {
            names.Add(item.Name);
        }

        var name = names.Single(n => n.Contains("audit", StringComparison.OrdinalIgnoreCase) && !n.Contains("page", StringComparison.OrdinalIgnoreCase));
        var blob = container.GetBlobClient(name);
        var json = JsonNode.Parse((await blob.DownloadContentAsync()).Value.Content.ToString())!.AsObject();
        return (blob, json);
    }

    private static JsonArray Entries(JsonObject state) =>
        state["Open"] is JsonObject wrapped ? wrapped["$values"]!.AsArray() : state["Open"]!.AsArray();

    private static AuditFacts Facts(JsonNode e)
    {
        var data = e["Data"] is JsonObject d
            ? d.Where(kv => !kv.Key.StartsWith('$')).ToDictionary(kv => kv.Key, kv => (string)kv.Value!, StringComparer.Ordinal)
            : new Dictionary<string, string>();
        return new AuditFacts((long)e["Sequence"]!, DateTimeOffset.Parse((string)e["At"]!, System.Globalization.CultureInfo.InvariantCulture),
            (string)e["Principal"]!, (string)e["Role"]!, (string)e["Action"]!, (string)e["Subject"]!, (string?)e["Release"], (string?)e["Environment"],
            (string?)e["Artifact"], (string?)e["Commit"], (string?)e["Reason"], data);
    }
}
