using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.StreamEngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary><c>GET /v1/rollouts</c> and <c>GET /v1/releases</c>: filters, newest-first cursor paging, key scopes.</summary>
[Collection(StreamEngineCollection.Name)]
public class CatalogApiTests(StreamEngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    internal static async Task<string> Environment(HttpClient operatorClient, string? name = null, int hosts = 3, object? failureProbability = null, int latencyMs = 0)
    {
        name ??= TestHttp.Unique("env");
        await operatorClient.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 5 }).Expect(HttpStatusCode.OK);
        await operatorClient.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = hosts,
            stepLatencyMs = latencyMs,
            failureProbability,
            currentArtifact = TestHttp.Digest("1.0.0"),
            currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return name;
    }

    internal static async Task<string> Release(HttpClient pipeline, string service, string version) =>
        (string)(await pipeline.PostJson("/v1/releases", new { service, version, artifact = TestHttp.Digest(version) })
            .Expect(HttpStatusCode.Created))["id"]!;

    internal static async Task<string> Rollout(HttpClient pipeline, string release, string environment, string preset = "AllAtOnce") =>
        (string)(await pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment, strategy = new { preset } })
            .Expect(HttpStatusCode.Created))["id"]!;

    private static List<string> Ids(JsonNode page) => page["items"]!.AsArray().Select(i => (string)i!["id"]!).ToList();

    [Fact]
    public async Task Rollouts_are_listed_newest_first_filtered_and_paged_with_a_cursor()
    {
        var service = TestHttp.Unique("svc");
        var env = await Environment(_operator);
        var first = await Rollout(_pipeline, await Release(_pipeline, service, "2.0.0"), env);
        await _viewer.WaitFor($"/v1/rollouts/{first}", r => (string?)r["status"] == "Succeeded");
        var second = await Rollout(_pipeline, await Release(_pipeline, service, "3.0.0"), env);
        await _viewer.WaitFor($"/v1/rollouts/{second}", r => (string?)r["status"] == "Succeeded");

        var all = await _viewer.WaitFor($"/v1/rollouts?service={service}",
            p => p["items"]!.AsArray().Count == 2 && p["items"]!.AsArray().All(i => (string?)i!["status"] == "Succeeded"));
        Assert.Equal([second, first], Ids(all));
        Assert.Equal("3.0.0", (string?)all["items"]![0]!["version"]);
        Assert.Equal(env, (string?)all["items"]![0]!["environment"]);
        Assert.Null(all["next"]);

        var page1 = await _viewer.GetAsync($"/v1/rollouts?service={service}&limit=1").Expect(HttpStatusCode.OK);
        Assert.Equal([second], Ids(page1));
        var page2 = await _viewer.GetAsync($"/v1/rollouts?service={service}&limit=1&cursor={(string)page1["next"]!}").Expect(HttpStatusCode.OK);
        Assert.Equal([first], Ids(page2));
        Assert.Null(page2["next"]);

        var release = (string)all["items"]![1]!["releaseId"]!;
        Assert.Equal([first], Ids(await _viewer.GetAsync($"/v1/rollouts?release={release}").Expect(HttpStatusCode.OK)));
        Assert.Equal([second, first], Ids(await _viewer.GetAsync($"/v1/rollouts?environment={env}&status=succeeded,RolledBack").Expect(HttpStatusCode.OK)));
        Assert.Empty(Ids(await _viewer.GetAsync($"/v1/rollouts?service={service}&status=Progressing").Expect(HttpStatusCode.OK)));
        Assert.Empty(Ids(await _viewer.GetAsync($"/v1/rollouts?service={service}&since={DateTimeOffset.UtcNow.AddMinutes(5):O}".Replace("+", "%2B")).Expect(HttpStatusCode.OK)));
        Assert.Equal(2, Ids(await _viewer.GetAsync($"/v1/rollouts?service={service}&since=2020-01-01T00:00:00Z").Expect(HttpStatusCode.OK)).Count);
    }

    [Fact]
    public async Task A_running_rollout_is_listed_with_its_current_status()
    {
        var service = TestHttp.Unique("svc");
        var env = await Environment(_operator, hosts: 4, latencyMs: 200);
        var id = (string)(await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = await Release(_pipeline, service, "2.0.0"), environment = env,
            strategy = new { type = "canary", steps = new object[] { new { setWeight = 25 }, new { pause = new { } } } },
        }).Expect(HttpStatusCode.Created))["id"]!;
        await _viewer.WaitFor($"/v1/rollouts/{id}", r => (string?)r["status"] == "Paused");

        var paused = await _viewer.WaitFor($"/v1/rollouts?service={service}&status=Paused", p => p["items"]!.AsArray().Count == 1);
        Assert.Equal(id, (string?)paused["items"]![0]!["id"]);

        await _operator.PostJson($"/v1/rollouts/{id}/abort", new { reason = "test over" }).Expect(HttpStatusCode.OK);
        await _viewer.WaitFor($"/v1/rollouts?service={service}&status=Aborted", p => p["items"]!.AsArray().Count == 1);
        Assert.Empty(Ids(await _viewer.GetAsync($"/v1/rollouts?service={service}&status=Paused").Expect(HttpStatusCode.OK)));
    }

    [Fact]
    public async Task Releases_are_listed_newest_first_by_service_and_version()
    {
        var service = TestHttp.Unique("svc");
        var older = await Release(_pipeline, service, "1.1.0");
        var newer = await Release(_pipeline, service, "1.2.0");
        await Release(_pipeline, TestHttp.Unique("other"), "1.2.0");

        var listed = await _viewer.GetAsync($"/v1/releases?service={service}").Expect(HttpStatusCode.OK);
        Assert.Equal([newer, older], Ids(listed));
        Assert.Equal("1.2.0", (string?)listed["items"]![0]!["version"]);
        Assert.Equal("ci", (string?)listed["items"]![0]!["submittedBy"]);
        Assert.Equal([older], Ids(await _viewer.GetAsync($"/v1/releases?service={service}&version=1.1.0").Expect(HttpStatusCode.OK)));

        var page1 = await _viewer.GetAsync($"/v1/releases?service={service}&limit=1").Expect(HttpStatusCode.OK);
        var page2 = await _viewer.GetAsync($"/v1/releases?service={service}&limit=1&cursor={(string)page1["next"]!}").Expect(HttpStatusCode.OK);
        Assert.Equal([newer, older], Ids(page1).Concat(Ids(page2)));
    }

    [Fact]
    public async Task A_scoped_key_lists_only_its_environments_and_services_and_a_filter_outside_is_a_403()
    {
        var service = TestHttp.Unique("svc");
        var lookalike = await Environment(_operator, ScopedEnvironment + "-" + Guid.NewGuid().ToString("n")[..6]);
        var scopedEnv = await EnsureScopedEnvironment();
        var outside = await Environment(_operator);
        var visible = await Rollout(_pipeline, await Release(_pipeline, service, "2.0.0"), scopedEnv);
        var hidden = await Rollout(_pipeline, await Release(_pipeline, service, "2.0.1"), outside);
        var alsoHidden = await Rollout(_pipeline, await Release(_pipeline, service, "2.0.2"), lookalike);
        await _viewer.WaitFor($"/v1/rollouts?service={service}", p => p["items"]!.AsArray().Count == 3);

        var east = engine.As(EnvScopedKey);
        Assert.Equal([visible], Ids(await east.GetAsync($"/v1/rollouts?service={service}").Expect(HttpStatusCode.OK)));
        var refused = await east.GetAsync($"/v1/rollouts?environment={outside}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Contains(outside, (string?)refused["detail"], StringComparison.Ordinal);

        var api = engine.As(ServiceScopedKey);
        Assert.Empty(Ids(await api.GetAsync($"/v1/rollouts?environment={outside}").Expect(HttpStatusCode.OK)));
        Assert.Empty(Ids(await api.GetAsync("/v1/releases?version=2.0.1").Expect(HttpStatusCode.OK)));
        Assert.DoesNotContain(hidden, Ids(await api.GetAsync("/v1/rollouts?limit=500").Expect(HttpStatusCode.OK)));
        await api.GetAsync($"/v1/releases?service={service}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var mine = await Release(_pipeline, ScopedService, "9.9.9");
        Assert.Contains(mine, Ids(await api.GetAsync("/v1/releases?limit=500").Expect(HttpStatusCode.OK)));
        Assert.DoesNotContain(alsoHidden, Ids(await api.GetAsync("/v1/rollouts?limit=500").Expect(HttpStatusCode.OK)));
    }

    private async Task<string> EnsureScopedEnvironment()
    {
        var existing = await _viewer.GetAsync($"/v1/environments/{ScopedEnvironment}");
        return existing.StatusCode == HttpStatusCode.OK ? ScopedEnvironment : await Environment(_operator, ScopedEnvironment, hosts: 2);
    }

    [Theory]
    [InlineData("/v1/rollouts?status=Sideways", "status")]
    [InlineData("/v1/rollouts?status=3", "status")]
    [InlineData("/v1/rollouts?environment=Not_A_Name", "environment")]
    [InlineData("/v1/rollouts?since=yesterday", "since")]
    [InlineData("/v1/rollouts?cursor=not-a-cursor!", "cursor")]
    [InlineData("/v1/rollouts?limit=0", "limit")]
    [InlineData("/v1/releases?limit=501", "limit")]
    [InlineData("/v1/releases?version=%20", "version")]
    public async Task Bad_filters_are_a_400_naming_the_field(string url, string field)
    {
        var problem = await _viewer.GetAsync(url).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task Listing_needs_a_key()
    {
        var anonymous = engine.CreateClient();
        await anonymous.GetAsync("/v1/rollouts").ExpectProblem(HttpStatusCode.Unauthorized, "urn:deploy-engine:problem:unauthorized");
    }
}
