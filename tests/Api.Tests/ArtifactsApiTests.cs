using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.ArtifactsEngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Artifact upload, download and registration over HTTP: who may do what, and every refusal's status.</summary>
public class ArtifactsApiTests(ArtifactsEngineFactory engine) : IClassFixture<ArtifactsEngineFactory>
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    internal static string DigestOf(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    internal static byte[] Bytes(string seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed.GetHashCode(StringComparison.Ordinal)).NextBytes(bytes);
        return bytes;
    }

    internal static Task<HttpResponseMessage> Put(HttpClient client, string digest, byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return client.PutAsync($"/v1/artifacts/{digest}", content);
    }

    [Fact]
    public async Task Uploads_are_for_pipelines_and_must_hash_to_the_digest_they_claim()
    {
        var bytes = Bytes(TestHttp.Unique("a"), 1000);
        var digest = DigestOf(bytes);

        await Put(_viewer, digest, bytes).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await Put(_operator, digest, bytes).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var invalid = await Put(_pipeline, "sha256:abc", bytes).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(invalid["errors"]!["digest"]);

        var other = Bytes(TestHttp.Unique("b"), 1000);
        var mismatch = await Put(_pipeline, digest, other).ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal($"content digest mismatch: claimed {digest}, computed {DigestOf(other)}; nothing was stored", (string?)mismatch["detail"]);
        await _operator.GetAsync($"/v1/artifacts/{digest}/meta").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");

        var created = await Put(_pipeline, digest, bytes).Expect(HttpStatusCode.Created);
        Assert.Equal("ci", (string?)created["uploadedBy"]);
        Assert.Equal(1000, (long?)created["size"]);
        await Put(_pipeline, digest, bytes).Expect(HttpStatusCode.OK);

        // Other bytes can never take the digest's place: they do not hash to it.
        await Put(_pipeline, digest, other).ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal(bytes, await _operator.GetByteArrayAsync($"/v1/artifacts/{digest}"));

        var events = await _operator.WaitFor($"/v1/artifacts/{digest}/events", e => e["items"]!.AsArray().Count >= 1);
        var uploaded = Assert.Single(events["items"]!.AsArray());
        Assert.Equal("dev.cdeventsx.deploy-engine.artifact.uploaded", (string?)uploaded!["type"]);
        Assert.Equal("ci", (string?)uploaded["data"]!["actor"]);
        Assert.Equal("pipeline", (string?)uploaded["data"]!["role"]);
    }

    [Fact]
    public async Task An_upload_larger_than_the_general_body_limit_is_accepted_and_streamed_back_verified()
    {
        // 3 MiB: over the API's 1 MiB body limit, and over the verify-before-send threshold (streamed, verified at the end).
        var bytes = Bytes(TestHttp.Unique("big"), 3 * 1024 * 1024);
        var digest = DigestOf(bytes);
        await Put(_pipeline, digest, bytes).Expect(HttpStatusCode.Created);

        using var response = await _operator.GetAsync($"/v1/artifacts/{digest}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(bytes))}:", response.Headers.GetValues("Repr-Digest").Single());
    }

    [Fact]
    public async Task Reading_is_for_operators_and_for_agents_of_environments_the_artifact_was_released_to()
    {
        var bytes = Bytes(TestHttp.Unique("r"), 100);
        var digest = DigestOf(bytes);
        await Put(_pipeline, digest, bytes).Expect(HttpStatusCode.Created);
        var stagingAgent = engine.As(StagingAgentKey);
        var productionAgent = engine.As(ProductionAgentKey);
        var elsewhereAgent = engine.As(ElsewhereAgentKey);

        await _viewer.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await _pipeline.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        // Outside an agent's environments an artifact is refused as one that does not exist would be: 403, naming the key's scope.
        await stagingAgent.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");

        // Released and rolled out to staging: its agents may read it; production's and other environments' agents may not.
        var service = "svc" + Guid.NewGuid().ToString("n")[..6];
        await RollOut(_operator, _pipeline, Staging, service, digest);
        Assert.Equal(bytes, await stagingAgent.GetByteArrayAsync($"/v1/artifacts/{digest}"));
        await productionAgent.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await elsewhereAgent.GetAsync($"/v1/artifacts/{digest}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");

        var meta = await _operator.GetAsync($"/v1/artifacts/{digest}/meta").Expect(HttpStatusCode.OK);
        Assert.Equal(Staging, (string?)meta["environments"]!.AsArray().Single());
        Assert.Equal(service, (string?)meta["releases"]![0]!["service"]);

        await _viewer.GetAsync($"/v1/artifacts?service={service}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await _pipeline.GetAsync($"/v1/artifacts?service={service}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var listed = await _operator.GetAsync($"/v1/artifacts?service={service}").Expect(HttpStatusCode.OK);
        Assert.Equal(digest, (string?)listed["items"]!.AsArray().Single()!["digest"]);
        await _operator.GetAsync("/v1/artifacts?service=Not_A_Service").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
    }

    [Theory]
    [InlineData("http://artifacts.example/app.tar.gz", "must use https")]
    [InlineData("https://user:pass@artifacts.example/app.tar.gz", "user info")]
    [InlineData("https://artifacts.example/app.tar.gz?sig=abc", "query parameter 'sig'")]
    [InlineData("https://artifacts.example/app.tar.gz?X-Amz-Signature=abc", "query parameter 'x-amz-signature'")]
    [InlineData("not a url", "absolute https URL")]
    public async Task External_urls_must_be_https_without_credentials(string url, string message)
    {
        var problem = await _pipeline.PostJson("/v1/artifacts/external", new { digest = TestHttp.Digest(url), url })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Contains(message, problem["errors"]!["url"]![0]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_artifact_registered_by_url_redirects_its_readers_there_and_cannot_change_url()
    {
        var digest = TestHttp.Digest(TestHttp.Unique("ext"));
        const string url = "https://artifacts.example/app-1.tar.gz";
        await _operator.PostJson("/v1/artifacts/external", new { digest, url }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var registered = await _pipeline.PostJson("/v1/artifacts/external", new { digest, url, size = 42 }).Expect(HttpStatusCode.Created);
        Assert.False((bool)registered["stored"]!);
        await _pipeline.PostJson("/v1/artifacts/external", new { digest, url = "https://elsewhere.example/x" })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");

        using var noRedirect = engine.Server.CreateClient();
        noRedirect.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKey);
        using var response = await noRedirect.GetAsync($"/v1/artifacts/{digest}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(url, response.Headers.Location!.ToString());
        var events = await _operator.WaitFor($"/v1/artifacts/{digest}/events", e => e["items"]!.AsArray().Count >= 1);
        Assert.Equal("dev.cdeventsx.deploy-engine.artifact.registered", (string?)events["items"]![0]!["type"]);
    }

    [Fact]
    public async Task A_host_whose_download_fails_verification_is_a_rollout_failure_with_the_reason()
    {
        var env = TestHttp.Unique("corrupt");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 2, idPrefix = env + "-ok", currentArtifact = TestHttp.Digest("1"), currentVersion = "1" })
            .Expect(HttpStatusCode.Created);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 1, idPrefix = env + "-bad", currentArtifact = TestHttp.Digest("1"), currentVersion = "1", corruptDownloadVersions = new[] { "2" } })
            .Expect(HttpStatusCode.Created);
        var bad = await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 1, corruptDownloadVersions = new[] { "not a version" } })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(bad["errors"]!["corruptDownloadVersions"]);

        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "corrupt", version = "2", artifact = TestHttp.Digest("2") }).Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { preset = "AllAtOnce", maxFailures = "1" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        var done = await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        Assert.Equal(1, (int)done["hosts"]!["failed"]!);
        Assert.StartsWith($"artifact verification failed: expected {TestHttp.Digest("2")}, got sha256:", (string?)done["failures"]![$"{env}-bad-0001"], StringComparison.Ordinal);
        var host = await _operator.GetAsync($"/v1/hosts/{env}-bad-0001").Expect(HttpStatusCode.OK);
        Assert.Equal(TestHttp.Digest("1"), (string?)host["currentArtifact"]);

        // An operator (who may speak for simulated hosts) sees the validation; an agent of another environment is refused by its scope first.
        await engine.As(StagingAgentKey).PostJson($"/v1/hosts/{env}-bad-0001/reports", new { rollout, artifact = TestHttp.Digest("2"), succeeded = true, computedDigest = "md5:abc" })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var report = await _operator.PostJson($"/v1/hosts/{env}-bad-0001/reports", new { rollout, artifact = TestHttp.Digest("2"), succeeded = true, computedDigest = "md5:abc" })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(report["errors"]!["computedDigest"]);
    }

    /// <summary>Creates the environment (idempotent), a simulated host, a release of the artifact, and rolls it out to success.</summary>
    internal static async Task<(string Release, string Host)> RollOut(HttpClient op, HttpClient pipeline, string environment, string service, string digest, object? config = null)
    {
        await op.PutJson($"/v1/environments/{environment}", new { concurrencyLimit = 4 }).Expect(HttpStatusCode.OK);
        var prefix = "h" + Guid.NewGuid().ToString("n")[..8];
        await op.PostJson($"/v1/environments/{environment}/simulated-hosts", new { count = 1, idPrefix = prefix, currentArtifact = TestHttp.Digest("0"), currentVersion = "0" })
            .Expect(HttpStatusCode.Created);
        var release = (string)(await pipeline.PostJson("/v1/releases", new { service, version = "1.0.0", artifact = digest }).Expect(HttpStatusCode.Created))["id"]!;
        if (config is not null)
        {
            await pipeline.PostJson($"/v1/releases/{release}/config", config).Expect(HttpStatusCode.OK);
        }

        var rollout = (string)(await pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment, selector = new { }, strategy = new { preset = "AllAtOnce" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await op.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        var hosts = await op.GetAsync($"/v1/hosts?environment={environment}&limit=500").Expect(HttpStatusCode.OK);
        var host = hosts["items"]!.AsArray().Select(h => (string)h!["id"]!).First(id => id.StartsWith(prefix, StringComparison.Ordinal));
        return (release, host);
    }
}
