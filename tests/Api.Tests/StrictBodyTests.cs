using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Strict request bodies: a field the engine does not declare is a 400 naming it by its path (with the closest declared
/// field when one is close), never silently dropped — a misspelt <c>rollbakTriggers</c> would otherwise start a rollout
/// with no rollback triggers at all. Nothing is created by a refused body.
/// </summary>
[Collection(EngineCollection.Name)]
public class StrictBodyTests(EngineFactory engine)
{
    private const string Validation = "urn:deploy-engine:problem:validation";
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private async Task<string> Release(string version) =>
        (string)(await _pipeline.PostJson("/v1/releases", new { service = "web", version, artifact = TestHttp.Digest(version) })
            .Expect(HttpStatusCode.Created))["id"]!;

    [Theory]
    [InlineData("""{"rollbakTriggers":[{"metric":"errorRatePercent","threshold":5}]}""", "strategy.rollbakTriggers", "Did you mean 'rollbackTriggers'?")]
    [InlineData("""{"type":"canary","steps":[{"setWieght":20}]}""", "strategy.steps[0].setWieght", "Did you mean 'setWeight'?")]
    [InlineData("""{"rollbackTriggers":[{"metric":"errorRatePercent","treshold":5}]}""", "strategy.rollbackTriggers[0].treshold", "Did you mean 'threshold'?")]
    [InlineData("""{"maxSurge":"25%","deadlines":{"progressSecs":60}}""", "strategy.deadlines.progressSecs", "Did you mean 'progressSeconds'?")]
    [InlineData("""{"strategy":"rolling"}""", "strategy.strategy", "Allowed here: type,")]
    public async Task An_unknown_strategy_field_is_a_400_naming_its_path_and_no_rollout_starts(string strategy, string field, string says)
    {
        var env = TestHttp.Unique("strict");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var release = await Release("3.0." + Random.Shared.Next(1_000_000));

        var problem = await _pipeline.PostAsync("/v1/rollouts", Json($$"""{"releaseId":"{{release}}","environment":"{{env}}","strategy":{{strategy}}}"""))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);

        var message = (string)problem["errors"]![field]![0]!;
        Assert.StartsWith("unknown field.", message, StringComparison.Ordinal);
        Assert.Contains(says, message, StringComparison.Ordinal);
        Assert.StartsWith(field + ": unknown field.", (string?)problem["detail"], StringComparison.Ordinal);
        await _operator.GetAsync($"/v1/rollouts/{release}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task A_kayenta_setting_the_judge_does_not_take_there_is_a_400_naming_it()
    {
        // Kayenta users carry over settings such as confLevel; where the engine has no such field it says so.
        var problem = await _operator.PostAsync("/v1/analyses/judge", Json("""
            {"judge":{"metrics":[{"name":"latency","direction":"increase","confLevel":0.98}]},
             "samples":{"latency":{"baseline":[1,2,3],"canary":[1,2,3]}}}
            """)).ExpectProblem(HttpStatusCode.BadRequest, Validation);

        Assert.NotNull(problem["errors"]!["judge.metrics[0].confLevel"]);
    }

    [Theory]
    [InlineData("""{"service":"web","versoin":"1.0.0"}""", "versoin", "Did you mean 'version'?")]
    [InlineData("""{"service":"web","version":"1.0.0","Artefact":"x"}""", "Artefact", "Did you mean 'artifact'?")]
    public async Task An_unknown_top_level_field_is_named_with_a_suggestion(string body, string field, string says)
    {
        var problem = await _pipeline.PostAsync("/v1/releases", Json(body)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Contains(says, (string)problem["errors"]![field]![0]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"hostCount":"four"}""", "hostCount", "must be a whole number")]
    [InlineData("""{"hostCount":4,"strategy":{"steps":{"setWeight":5}}}""", "strategy.steps", "must be an array")]
    [InlineData("""{"hostCount":4,"strategy":{"rollbackTriggers":[{"metric":"errorRatePercent","threshold":"high"}]}}""", "strategy.rollbackTriggers[0].threshold", "must be a number")]
    public async Task A_value_of_the_wrong_kind_is_named_with_the_kind_expected(string body, string field, string says)
    {
        var problem = await _operator.PostAsync("/v1/rollouts/preview", Json(body)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Contains(says, (string)problem["errors"]![field]![0]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_is_a_400_that_says_where()
    {
        var problem = await _operator.PostAsync("/v1/rollouts/preview", Json("{\"hostCount\":4,")).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.StartsWith("The request body is not valid JSON", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_declared_body_with_every_field_is_still_accepted()
    {
        // The strict reading must not refuse what the README shows: a full rolling strategy preview.
        var body = JsonNode.Parse("""
            {"hostCount":10,"strategy":{"type":"rolling","maxSurge":"0","maxUnavailable":"20%","minimumHealthyHosts":{"type":"FLEET_PERCENT","value":80},
             "maxFailures":"1","progressDeadlineSeconds":600,"rollbackTriggers":[{"metric":"errorRatePercent","threshold":5}],
             "deadlines":{"progressSeconds":600,"onExpiry":"abort"},"onConflict":"queue","rollbackWindowSeconds":3600}}
            """)!;
        var preview = await _operator.PostJson("/v1/rollouts/preview", body).Expect(HttpStatusCode.OK);
        Assert.Equal(10, (int)preview["hostCount"]!);
    }
    [Fact]
    public async Task A_misspelt_field_in_a_yaml_declaration_is_a_400_with_a_suggestion_and_declares_nothing()
    {
        var name = TestHttp.Unique("decl");
        var problem = await _operator.PutAsync($"/v1/environments/{name}/declaration",
                new StringContent("tier: staging\ndataClassification: synthetic\nhostGroup:\n  - name: web\n", Encoding.UTF8, "application/yaml"))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);

        Assert.Contains("Did you mean 'hostGroups'?", (string)problem["errors"]!["hostGroup"]![0]!, StringComparison.Ordinal);
        await _operator.GetAsync($"/v1/environments/{name}/declaration").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task A_traffic_router_the_server_does_not_have_is_a_400_saying_none_are_configured()
    {
        var problem = await _operator.PostAsync("/v1/rollouts/preview", Json("""{"hostCount":4,"strategy":{"type":"canary","trafficRouter":"edge","steps":[{"setWeight":20}]}}"""))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Contains("has no traffic routers configured", (string)problem["errors"]!["strategy.trafficRouter"]![0]!, StringComparison.Ordinal);
    }
}

/// <summary>An engine with routers configured lists them when a strategy names another.</summary>
public sealed class TrafficRouterNameTests
{
    [Fact]
    public async Task An_unknown_router_name_lists_the_configured_ones_with_a_suggestion_and_a_configured_one_passes()
    {
        using var engine = new EngineFactory().WithWebHostBuilder(b => b
            .UseSetting("Traffic:Routers:edge:Url", "http://127.0.0.1:9/weights")
            .UseSetting("Traffic:Routers:mesh:Url", "http://127.0.0.1:9/mesh"));
        using var client = engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EngineFactory.OperatorKey);

        var problem = await client.PostAsync("/v1/rollouts/preview", new StringContent(
                """{"hostCount":4,"strategy":{"type":"canary","trafficRouter":"edgr","steps":[{"setWeight":20}]}}""", Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Equal("unknown traffic router 'edgr'. Did you mean 'edge'? Configured routers: edge, mesh.",
            (string)problem["errors"]!["strategy.trafficRouter"]![0]!);

        await client.PostAsync("/v1/rollouts/preview", new StringContent(
                """{"hostCount":4,"strategy":{"type":"canary","trafficRouter":"Edge","steps":[{"setWeight":20}]}}""", Encoding.UTF8, "application/json"))
            .Expect(HttpStatusCode.OK);
    }
}
