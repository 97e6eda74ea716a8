using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// Issue 14: "stored state carries type names from the serializer". Grain state on Azurite (tables and blobs) names no CLR
/// type (no <c>$type</c>, no assembly), so a storage writer cannot choose what the silo instantiates; and it still reads
/// back after a restart.
/// </summary>
public sealed class StoredStateFormatTests : IAsyncLifetime
{
    private static readonly string[] TypeMarkers = ["\"$type\"", "\"$values\"", "Deploy.Engine.", "System.Private.CoreLib", "mscorlib"];

    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task Grain_state_in_tables_and_blobs_names_no_clr_type_and_reads_back_after_a_restart()
    {
        var settings = EngineHost.Settings.For(_azurite);
        string rolloutId;
        await using (var first = new EngineHost(settings))
        {
            var api = first.Client();
            await api.PutAsync("/v1/environments/format/declaration", new StringContent(
                """{"tier":"staging","dataClassification":"synthetic","gates":[],"baseline":{"services":{"shop":{"version":"2.0.0"}}}}""",
                System.Text.Encoding.UTF8, "application/json")).Expect(HttpStatusCode.OK);
            await api.PostJson("/v1/environments/format/simulated-hosts", new
            {
                count = 4, labels = new { region = "eu-west" }, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
            }).Expect(HttpStatusCode.Created);
            var release = (string)(await api.PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
                .Expect(HttpStatusCode.Created))["id"]!;
            rolloutId = (string)(await api.PostJson("/v1/rollouts", new { releaseId = release, environment = "format" }).Expect(HttpStatusCode.Created))["id"]!;
            await api.WaitFor($"/v1/rollouts/{rolloutId}", r => (string?)r["status"] == "Succeeded", TimeSpan.FromSeconds(60));

            // A dark-launched flag, then the kill switch: stored as enabled = false, its type's default.
            await api.PutJson("/v1/environments/format/flags/new-checkout", new { service = "shop", percentage = 100 }).Expect(HttpStatusCode.OK);
            await api.PostJson("/v1/environments/format/flags/new-checkout/off", new { reason = "kill switch" }).Expect(HttpStatusCode.OK);
            Assert.Equal("DISABLED", await Evaluate(api));
        }

        var offending = new List<string>();
        var scanned = 0;
        var blobs = new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient("deploy-engine-state");
        await foreach (var item in blobs.GetBlobsAsync())
        {
            scanned++;
            var content = (await blobs.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToString();
            offending.AddRange(TypeMarkers.Where(m => content.Contains(m, StringComparison.Ordinal)).Select(m => $"blob {item.Name}: {m}"));
        }

        var tables = new TableServiceClient(_azurite.ConnectionString);
        foreach (var table in new[] { "DeployEngineState", "DeployEnginePubSub" })
        {
            await foreach (var entity in tables.GetTableClient(table).QueryAsync<TableEntity>())
            {
                scanned++;
                foreach (var (key, value) in entity)
                {
                    if (value is not string text || key is "PartitionKey" or "RowKey") continue; // keys name grains, not types
                    offending.AddRange(TypeMarkers.Where(m => text.Contains(m, StringComparison.Ordinal)).Select(m => $"{table} {entity.RowKey}.{key}: {m}"));
                }
            }
        }

        Assert.True(scanned > 10, $"only {scanned} stored items scanned");
        Assert.Empty(offending);

        // Read back by a new engine: the declaration, the hosts and the finished rollout are all there.
        await using var second = new EngineHost(settings);
        var client = second.Client();
        Assert.Equal("Succeeded", (string?)(await client.GetAsync($"/v1/rollouts/{rolloutId}").Expect(HttpStatusCode.OK))["status"]);
        Assert.Equal(4, (int)(await client.GetAsync("/v1/hosts?environment=format&version=2.0.0").Expect(HttpStatusCode.OK))["total"]!);
        Assert.Equal("Staging", (string?)(await client.GetAsync("/v1/environments/format/declaration").Expect(HttpStatusCode.OK))["declaration"]!["tier"]);
        Assert.True((bool)(await client.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK))["valid"]!);

        // The switched-off flag is still off (Orleans' JSON defaults left `enabled: false` out, and it read back as on).
        Assert.Equal("DISABLED", await Evaluate(client));
    }

    private static async Task<string?> Evaluate(HttpClient api) =>
        (string?)(await api.PostJson("/ofrep/v1/evaluate/flags/new-checkout", new { context = new { targetingKey = "user-1", environment = "format" } })
            .Expect(HttpStatusCode.OK))["reason"];
}
