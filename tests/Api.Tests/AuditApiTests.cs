using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

[Collection(EngineCollection.Name)]
public class AuditApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    [Fact]
    public async Task Every_action_is_in_the_trail_with_who_what_which_release_and_why_and_the_chain_verifies()
    {
        var env = TestHttp.Unique("audit");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count = 4, stepLatencyMs = 200, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0"), commit = "abc123" })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { preset = "OneAtATime" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await _operator.PostJson($"/v1/rollouts/{rollout}/pause", new { reason = "checking dashboards" }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/rollouts/{rollout}/abort", new { reason = "wrong build" }).Expect(HttpStatusCode.OK);

        // The rollout's actions reach the trail through its event stream: wait for the abort to arrive.
        var trail = await _viewer.WaitFor($"/v1/audit?release={release}&limit=1000",
            p => p["items"]!.AsArray().Any(e => ((string?)e!["action"])!.EndsWith("pipelinerun.finished.0.2.0", StringComparison.Ordinal)));
        var entries = trail["items"]!.AsArray().Select(e => e!).ToList();

        var submitted = Assert.Single(entries, e => ((string?)e["action"])!.EndsWith("release.submitted", StringComparison.Ordinal));
        Assert.Equal("ci", (string?)submitted["principal"]);
        Assert.Equal("pipeline", (string?)submitted["role"]);
        Assert.Equal("abc123", (string?)submitted["commit"]);
        Assert.Equal(TestHttp.Digest("2.0.0"), (string?)submitted["artifact"]);

        var paused = Assert.Single(entries, e => ((string?)e["action"])!.EndsWith("rollout.paused", StringComparison.Ordinal));
        Assert.Equal("alice", (string?)paused["principal"]);
        Assert.Equal("operator", (string?)paused["role"]);
        Assert.Equal(env, (string?)paused["environment"]);
        Assert.Contains("checking dashboards", (string?)paused["reason"]);
        // Aborting a running rollout is a rollback decided by alice; the engine records carrying it out.
        var aborted = Assert.Single(entries, e => ((string?)e["action"])!.EndsWith("rollout.rollback-decided", StringComparison.Ordinal));
        Assert.Equal("alice", (string?)aborted["principal"]);
        Assert.Contains("wrong build", (string?)aborted["reason"]);
        Assert.Contains(entries, e => (string?)e["principal"] == "engine" && ((string?)e["action"])!.EndsWith("pipelinerun.finished.0.2.0", StringComparison.Ordinal));

        // The engine's own decisions are in the trail too, as principal "engine".
        Assert.Contains(entries, e => (string?)e["principal"] == "engine" && ((string?)e["action"])!.EndsWith("pipelinerun.started.0.2.0", StringComparison.Ordinal));

        // In order, chained: each entry names the hash of the one before it in the whole trail.
        var sequences = entries.Select(e => (long)e["sequence"]!).ToList();
        Assert.Equal(sequences.Order(), sequences);

        // Filters: by principal and by environment; the configuration change is there with its author.
        var byAlice = await _viewer.GetAsync($"/v1/audit?principal=alice&environment={env}&limit=1000").Expect(HttpStatusCode.OK);
        Assert.All(byAlice["items"]!.AsArray(), e => Assert.Equal("alice", (string?)e!["principal"]));
        Assert.Contains(byAlice["items"]!.AsArray(), e => ((string?)e!["action"])!.EndsWith("environment.modified.0.2.0", StringComparison.Ordinal));

        // Paging with after = last sequence of the previous page.
        var first = await _viewer.GetAsync($"/v1/audit?release={release}&limit=1").Expect(HttpStatusCode.OK);
        var next = await _viewer.GetAsync($"/v1/audit?release={release}&limit=1&after={(long)first["items"]![0]!["sequence"]!}").Expect(HttpStatusCode.OK);
        Assert.True((long)next["items"]![0]!["sequence"]! > (long)first["items"]![0]!["sequence"]!);

        var verified = await _viewer.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
        Assert.True((bool)verified["valid"]!, verified.ToJsonString());
        Assert.True((long)verified["entries"]! >= entries.Count);
    }

    [Fact]
    public async Task Two_engines_in_one_process_each_verify_their_own_trail()
    {
        // Same service id, separate clusters (as tests and the bench run them): what one engine last wrote is not the
        // other's tail. Before, the remembered head was per process and the second engine reported its tail replaced.
        await using var second = new EngineFactory();
        var (otherOperator, otherViewer) = (second.As(OperatorKey), second.As(ViewerKey));
        foreach (var (client, viewer, name) in new[]
                 {
                     (_operator, _viewer, TestHttp.Unique("audit-a")), (otherOperator, otherViewer, TestHttp.Unique("audit-b")),
                     (_operator, _viewer, TestHttp.Unique("audit-c")),
                 })
        {
            await client.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
            await viewer.WaitFor($"/v1/audit?environment={name}", p => p["items"]!.AsArray().Count > 0);
        }

        foreach (var viewer in new[] { otherViewer, _viewer })
        {
            var verified = await viewer.GetAsync("/v1/audit/verify").Expect(HttpStatusCode.OK);
            Assert.True((bool)verified["valid"]!, verified.ToJsonString());
        }
    }

    [Theory]
    [InlineData("/v1/audit?limit=0", "limit")]
    [InlineData("/v1/audit?environment=Not_A_Name", "environment")]
    [InlineData("/v1/audit?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "from")]
    [InlineData("/v1/audit?after=-1", "after")]
    public async Task Bad_filters_are_validation_problems(string url, string field)
    {
        var problem = await _viewer.GetAsync(url).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);
    }
}
