using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Artifacts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Integration.Tests;

/// <summary>The content-addressed artifact store on a real Azurite: digests verified on write and on read, no overwrite, retention, secrets at rest.</summary>
public sealed class ArtifactStoreTests : IAsyncLifetime
{
    private const int VerifyBeforeSendBytes = 4096;
    private const string Environment = "ret";

    private AzuriteProcess _azurite = null!;
    private EngineHost _host = null!;
    private WebApplicationFactory<Program> _engine = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        _host = new EngineHost(EngineHost.Settings.For(_azurite));
        _engine = _host.WithWebHostBuilder(b =>
        {
            b.UseSetting("Artifacts:VerifyBeforeSendBytes", VerifyBeforeSendBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            b.UseSetting("Artifacts:Retention:KeepLastReleasesPerServicePerEnvironment", "1");
            b.UseSetting("Artifacts:Retention:DeleteAfterDays", "0");
            // The main key is unscoped (retention is global, and a key bound to an environment may not run it); the
            // agent of this environment's (simulated, so engine-created: operators speak for them) hosts has its own
            // key, bound to the environment as every agent key must be.
            b.UseSetting("Auth:Keys:0:Roles", "pipeline,operator,viewer");
            b.UseSetting("Auth:Keys:1:Name", "artifact-agent");
            b.UseSetting("Auth:Keys:1:Key", AgentKey);
            b.UseSetting("Auth:Keys:1:Roles", "agent,operator");
            b.UseSetting("Auth:Keys:1:Environments", Environment);
        });
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _host.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    private BlobContainerClient Artifacts => new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient("deploy-engine-artifacts");

    private const string AgentKey = "artifact-store-agent-key";

    private HttpClient Client(string key = EngineHost.Key)
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static IEnumerable<Azure.Storage.Blobs.Models.BlobItem> Blobs(BlobContainerClient container, string prefix) =>
        container.GetBlobs(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, CancellationToken.None);

    private static string DigestOf(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static Task<HttpResponseMessage> Put(HttpClient client, string digest, byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return client.PutAsync($"/v1/artifacts/{digest}", content);
    }

    [Fact]
    public async Task Digests_are_verified_on_write_and_read_and_a_stored_digest_is_never_overwritten()
    {
        var api = Client();
        var small = Bytes(1000, 1);
        var digest = DigestOf(small);
        var other = Bytes(1000, 2);

        // Claimed digest ≠ content: 422, nothing committed, no staging blob left behind.
        var mismatch = await Put(api, digest, other).ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal($"content digest mismatch: claimed {digest}, computed {DigestOf(other)}; nothing was stored", (string?)mismatch["detail"]);
        Assert.Empty(Artifacts.GetBlobs().Select(b => b.Name));

        await Put(api, digest, small).Expect(HttpStatusCode.Created);
        await Put(api, digest, small).Expect(HttpStatusCode.OK);
        Assert.Equal([BlobArtifactStore.BlobName(digest)], Artifacts.GetBlobs().Select(b => b.Name).ToList());
        Assert.Equal(small, await api.GetByteArrayAsync($"/v1/artifacts/{digest}"));

        // The store's commit is a conditional create: committing the digest again leaves the blob untouched.
        var blob = Artifacts.GetBlobClient(BlobArtifactStore.BlobName(digest));
        var etag = (await blob.GetPropertiesAsync()).Value.ETag;
        var again = await new BlobArtifactStore(Artifacts).Write(digest, new MemoryStream(small));
        Assert.Equal(ArtifactWriteOutcome.AlreadyStored, again.Outcome);
        Assert.Equal(etag, (await blob.GetPropertiesAsync()).Value.ETag);
        var forged = await new BlobArtifactStore(Artifacts).Write(digest, new MemoryStream(other));
        Assert.Equal(ArtifactWriteOutcome.DigestMismatch, forged.Outcome);
        Assert.Equal(etag, (await blob.GetPropertiesAsync()).Value.ETag);

        // Someone with storage access alters the bytes: the engine refuses to serve them, says so, and records it.
        await blob.UploadAsync(BinaryData.FromBytes(other), overwrite: true);
        var tampered = await api.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.StartsWith($"artifact verification failed: expected {digest}, got {DigestOf(other)}", (string?)tampered["detail"], StringComparison.Ordinal);
        var events = await api.WaitFor($"/v1/artifacts/{digest}/events", e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == EventTypes.ArtifactVerificationFailed));
        Assert.Equal("integration", (string?)events["items"]!.AsArray().Last()!["data"]!["actor"]);
        var meta = await api.GetAsync($"/v1/artifacts/{digest}/meta").Expect(HttpStatusCode.OK);
        Assert.Contains(DigestOf(other), (string?)meta["lastVerificationFailure"], StringComparison.Ordinal);

        // A large artifact streams; altered, the connection is cut before the last chunk: never a complete altered body.
        var large = Bytes(300_000, 3);
        var largeDigest = DigestOf(large);
        await Put(api, largeDigest, large).Expect(HttpStatusCode.Created);
        Assert.Equal(large, await api.GetByteArrayAsync($"/v1/artifacts/{largeDigest}"));
        var altered = (byte[])large.Clone();
        altered[^1] ^= 0xff;
        await Artifacts.GetBlobClient(BlobArtifactStore.BlobName(largeDigest)).UploadAsync(BinaryData.FromBytes(altered), overwrite: true);
        byte[]? received = null;
        try
        {
            using var response = await api.GetAsync($"/v1/artifacts/{largeDigest}", HttpCompletionOption.ResponseHeadersRead);
            received = await response.Content.ReadAsByteArrayAsync();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            // The abort surfaced as a failed read: the client knows the download failed.
        }

        Assert.True(received is null || received.Length < altered.Length, $"received {received?.Length} bytes of an altered artifact");
        await api.WaitFor($"/v1/artifacts/{largeDigest}/events", e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == EventTypes.ArtifactVerificationFailed));
    }

    [Fact]
    public async Task Retention_keeps_live_and_rollback_target_artifacts_removes_the_rest_and_secrets_stay_encrypted_at_rest()
    {
        var api = Client();
        var (a1, a2, a3, a4) = (Bytes(500, 11), Bytes(500, 12), Bytes(500, 13), Bytes(500, 14));
        foreach (var bytes in new[] { a1, a2, a3, a4 })
        {
            await Put(api, DigestOf(bytes), bytes).Expect(HttpStatusCode.Created);
        }

        // Hosts run a1; release 2 (a2) rolls out, so a2 is deployed and a1 the hosts' rollback target.
        // Release 3 (a3) is never rolled out; a4 belongs to no release.
        await api.PutJson($"/v1/environments/{Environment}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var hosts = await api.PostJson($"/v1/environments/{Environment}/simulated-hosts", new { count = 2, currentArtifact = DigestOf(a1), currentVersion = "1" })
            .Expect(HttpStatusCode.Created);
        var host = (string)hosts["hostIds"]![0]!;
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("n");
        await api.PutJson($"/v1/environments/{Environment}/parameters", new { values = new { db_url = "postgres://ret" }, secrets = new { db_password = secret } })
            .Expect(HttpStatusCode.OK);
        var r2 = (string)(await api.PostJson("/v1/releases", new { service = "shop", version = "2", artifact = DigestOf(a2) }).Expect(HttpStatusCode.Created))["id"]!;
        await api.PostJson($"/v1/releases/{r2}/config", new { templates = new Dictionary<string, string> { ["app.env"] = "DB={{ db_url }}\nPW={{ db_password }}" } })
            .Expect(HttpStatusCode.OK);
        await api.PostJson("/v1/releases", new { service = "shop", version = "3", artifact = DigestOf(a3) }).Expect(HttpStatusCode.Created);
        var rollout = (string)(await api.PostJson("/v1/rollouts", new { releaseId = r2, environment = Environment, strategy = new { preset = "AllAtOnce" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        var dry = await api.PostAsync("/v1/artifacts/retention/run?dryRun=true", null).Expect(HttpStatusCode.OK);
        Assert.Equal(2, dry["removed"]!.AsArray().Count);
        Assert.Equal(4, Blobs(Artifacts, "sha256/").Count());

        var report = await api.PostAsync("/v1/artifacts/retention/run", null).Expect(HttpStatusCode.OK);
        var removed = report["removed"]!.AsArray().ToDictionary(x => (string)x!["digest"]!, x => (string)x!["why"]!);
        var kept = report["kept"]!.AsArray().ToDictionary(x => (string)x!["digest"]!, x => (string)x!["why"]!);
        Assert.Equal(new[] { DigestOf(a3), DigestOf(a4) }.Order(), removed.Keys.Order());
        Assert.StartsWith("deployed: ", kept[DigestOf(a2)], StringComparison.Ordinal);
        Assert.StartsWith("rollback target: host ", kept[DigestOf(a1)], StringComparison.Ordinal);
        Assert.Contains("not deployed, not a rollback target", removed[DigestOf(a3)], StringComparison.Ordinal);

        Assert.Equal(new[] { DigestOf(a1), DigestOf(a2) }.Select(BlobArtifactStore.BlobName).Order(), Blobs(Artifacts, "sha256/").Select(b => b.Name).Order());
        await api.GetAsync($"/v1/artifacts/{DigestOf(a3)}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Equal(a2, await api.GetByteArrayAsync($"/v1/artifacts/{DigestOf(a2)}"));
        var deleted = await api.WaitFor($"/v1/artifacts/{DigestOf(a3)}/events", e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == EventTypes.ArtifactDeleted));
        var deletion = deleted["items"]!.AsArray().Single(x => (string?)x!["type"] == EventTypes.ArtifactDeleted)!;
        Assert.Equal("integration", (string?)deletion["data"]!["actor"]);
        Assert.StartsWith("retention: not deployed", (string?)deletion["reason"], StringComparison.Ordinal);

        // The agent of a host in the environment gets the secret; storage holds it only protected, the key ring on blob storage.
        var config = await Client(AgentKey).GetAsync($"/v1/hosts/{host}/config?release={r2}").Expect(HttpStatusCode.OK);
        Assert.Equal($"DB=postgres://ret\nPW={secret}", (string?)config["files"]!["app.env"]);
        Assert.NotEmpty(Blobs(new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient("deploy-engine-keys"), "keys/"));
        var tables = new TableServiceClient(_azurite.ConnectionString);
        var stored = 0;
        foreach (var table in tables.Query())
        {
            foreach (var entity in tables.GetTableClient(table.Name).Query<TableEntity>())
            {
                stored++;
                Assert.DoesNotContain(((IDictionary<string, object>)entity).Values, v => v is string s && s.Contains(secret, StringComparison.Ordinal));
            }
        }

        Assert.True(stored > 10, $"only {stored} entities scanned");
        var blobs = new BlobServiceClient(_azurite.ConnectionString);
        foreach (var container in blobs.GetBlobContainers())
        {
            foreach (var item in blobs.GetBlobContainerClient(container.Name).GetBlobs())
            {
                var content = (await blobs.GetBlobContainerClient(container.Name).GetBlobClient(item.Name).DownloadContentAsync()).Value.Content;
                Assert.DoesNotContain(secret, content.ToString(), StringComparison.Ordinal);
            }
        }
    }
}
