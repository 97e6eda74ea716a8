using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

[Collection(EngineCollection.Name)]
public class ValidationAndAuthTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);

    [Theory]
    [InlineData("{\"service\":\"web\",\"version\":\"1.0.0\",\"artifact\":\"sha256:abc\"}", "artifact")]
    [InlineData("{\"service\":\"Web Service\",\"version\":\"1.0.0\",\"artifact\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}", "service")]
    [InlineData("{\"service\":\"web\",\"artifact\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}", "version")]
    [InlineData("{\"service\":\"web\",\"version\":\"1.0.0\",\"artifact\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"commit\":\"not a sha!\"}", "commit")]
    public async Task Invalid_releases_are_400_problems_naming_the_field(string body, string field)
    {
        var problem = await _pipeline.PostAsync("/v1/releases", new StringContent(body, Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"service\": 42}")]
    [InlineData("")]
    public async Task Unreadable_bodies_are_400_not_500(string body)
    {
        await _pipeline.PostAsync("/v1/releases", new StringContent(body, Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
    }

    [Theory]
    [InlineData("{\"maxSurge\":\"abc\"}", "strategy.maxSurge")]
    [InlineData("{\"maxUnavailable\":\"150%\"}", "strategy.maxUnavailable")]
    [InlineData("{\"maxFailures\":\"-1\"}", "strategy.maxFailures")]
    [InlineData("{\"preset\":\"TwoAtATime\"}", "strategy.preset")]
    [InlineData("{\"minimumHealthyHosts\":{\"type\":\"HOST_PERCENT\",\"value\":5}}", "strategy.minimumHealthyHosts.type")]
    [InlineData("{\"type\":\"teleport\"}", "strategy.type")]
    public async Task A_malformed_strategy_is_400_and_creates_no_rollout(string strategy, string field)
    {
        var env = TestHttp.Unique("val");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "web", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;

        var body = $"{{\"releaseId\":\"{release}\",\"environment\":\"{env}\",\"strategy\":{strategy}}}";
        var problem = await _pipeline.PostAsync("/v1/rollouts", new StringContent(body, Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);

        await _operator.GetAsync($"/v1/rollouts/{release}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        var preview = await _operator.PostAsync("/v1/rollouts/preview", new StringContent($"{{\"hostCount\":3,\"strategy\":{strategy}}}", Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(preview["errors"]![field]);
    }

    [Fact]
    public async Task Unknown_things_are_404_problems()
    {
        await _operator.GetAsync("/v1/releases/rel-doesnotexist").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.GetAsync("/v1/rollouts/rel-x.nowhere").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.GetAsync("/v1/rollouts/no-dot-here").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.GetAsync("/v1/hosts/ghost").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.GetAsync("/v1/environments/nowhere").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.PostJson("/v1/rollouts/rel-x.nowhere/pause", new { }).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _pipeline.PostJson("/v1/rollouts", new { releaseId = "rel-missing", environment = "nowhere" })
            .ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Host_listing_requires_an_environment_and_valid_filters()
    {
        var problem = await _operator.GetAsync("/v1/hosts").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]!["environment"]);
        problem = await _operator.GetAsync("/v1/hosts?environment=prod&state=Sleeping&label=nokey&limit=0").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]!["state"]);
        Assert.NotNull(problem["errors"]!["label"]);
        Assert.NotNull(problem["errors"]!["limit"]);
    }

    [Fact]
    public async Task Every_endpoint_but_health_needs_a_key_and_roles_are_enforced()
    {
        var anonymous = engine.CreateClient();
        await anonymous.GetAsync("/healthz").Expect(HttpStatusCode.OK);
        await anonymous.GetAsync("/readyz").Expect(HttpStatusCode.OK);
        var unauthorized = await anonymous.GetAsync("/v1/releases/x");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("urn:deploy-engine:problem:unauthorized", (string?)(await unauthorized.Read())["type"]);

        var wrongKey = engine.CreateClient();
        wrongKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-key");
        await wrongKey.GetAsync("/v1/releases/x").ExpectProblem(HttpStatusCode.Unauthorized, "urn:deploy-engine:problem:unauthorized");

        var viewer = engine.As(ViewerKey);
        await viewer.PostJson("/v1/releases", new { service = "web", version = "1", artifact = TestHttp.Digest("1") })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await viewer.PutJson("/v1/environments/prod", new { concurrencyLimit = 1 }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await engine.As(AgentKey).PostJson("/v1/releases", new { service = "web", version = "1", artifact = TestHttp.Digest("1") })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await viewer.PostJson("/v1/hosts", new { id = "h1", environment = "prod" }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await viewer.GetAsync("/v1/releases/x").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Prometheus_metrics_are_served_without_a_key()
    {
        await engine.CreateClient().GetAsync("/healthz").Expect(HttpStatusCode.OK);
        var response = await engine.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("# TYPE", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        var document = await engine.CreateClient().GetAsync("/openapi/v1.json").Expect(HttpStatusCode.OK);
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/v1/releases", paths);
        Assert.Contains("/v1/rollouts/{id}", paths);
        Assert.Contains("/v1/hosts", paths);
        Assert.Contains("/v1/environments/{name}/simulated-hosts", paths);
    }
}
