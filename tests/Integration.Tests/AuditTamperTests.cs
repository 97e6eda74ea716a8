using System.Net;
using Azure.Storage.Blobs;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>The audit trail is tamper-evident where it is stored: edit a stored entry in Azurite and verification says which.</summary>
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
}
