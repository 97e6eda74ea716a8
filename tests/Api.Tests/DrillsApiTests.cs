using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Declared RTOs and rollback drills over HTTP (docs/rollouts.md): declared, visible, drilled on a simulated fleet.</summary>
[Collection(EngineCollection.Name)]
public class DrillsApiTests(EngineFactory engine)
{
    private const string Validation = "urn:deploy-engine:problem:validation";
    private const string Policy = "urn:deploy-engine:problem:refused-by-policy";

    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _pipeline = engine.As(PipelineKey);

    private static StringContent Yaml(string text) => new(text, Encoding.UTF8, "application/yaml");

    private async Task<(string Staging, string Production)> Declare()
    {
        var staging = TestHttp.Unique("stg");
        var production = TestHttp.Unique("prd");
        await _operator.PutAsync($"/v1/environments/{staging}/declaration", Yaml("""
            tier: staging
            dataClassification: synthetic
            """)).Expect(HttpStatusCode.OK);
        await _operator.PutAsync($"/v1/environments/{production}/declaration", Yaml($$"""
            tier: production
            rollback:
              rto: {rolling: 5m, blueGreen: 1m}
              drillEnvironment: {{staging}}
              drillFreshness: 14d
              timeout: 10m
            """)).Expect(HttpStatusCode.OK);
        return (staging, production);
    }

    [Fact]
    public async Task The_declared_rto_is_visible_and_a_drill_measures_time_to_safe_against_it()
    {
        var (staging, production) = await Declare();
        var rollback = (await _operator.GetAsync($"/v1/environments/{production}").Expect(HttpStatusCode.OK))["declaration"]!["declaration"]!["rollback"]!;
        Assert.Equal(300, (long)rollback["rtoSeconds"]!["rolling"]!);
        Assert.Equal(60, (long)rollback["rtoSeconds"]!["blueGreen"]!);
        Assert.Equal(staging, (string?)rollback["drillEnvironment"]);
        Assert.Equal(14 * 86_400, (long)rollback["drillFreshnessSeconds"]!);
        Assert.Equal(600, (long)rollback["timeoutSeconds"]!);

        await _operator.PostJson($"/v1/environments/{staging}/simulated-hosts", new
        {
            count = 3, stepLatencyMs = 50, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "web", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;

        var started = await _operator.PostJson($"/v1/environments/{staging}/drills", new
        {
            releaseId = release, strategy = new { preset = "AllAtOnce" }, target = production, reason = "quarterly drill",
        }).Expect(HttpStatusCode.Accepted);
        var id = (string)started["id"]!;
        Assert.Equal("RollingForward", (string?)started["status"]);

        var drill = await _operator.WaitFor($"/v1/environments/{staging}/drills/{id}", d => (string?)d["status"] is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", (string?)drill["status"]);
        Assert.InRange((double)drill["timeToSafeSeconds"]!, 0.05, 30);
        Assert.Equal((production, 300L, true), ((string?)drill["rtoOf"], (long)drill["rtoSeconds"]!, (bool)drill["metRto"]!));
        var listed = await _operator.GetAsync($"/v1/environments/{staging}/drills").Expect(HttpStatusCode.OK);
        Assert.Equal(id, (string?)Assert.Single(listed["items"]!.AsArray())!["id"]);
        var hosts = await _operator.GetAsync($"/v1/hosts?environment={staging}&version=1.0.0").Expect(HttpStatusCode.OK);
        Assert.Equal(3, (int)hosts["total"]!);
    }

    [Fact]
    public async Task Drills_refuse_production_bad_input_and_unknown_things_and_change_nothing()
    {
        var (staging, production) = await Declare();
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "web", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;

        var refused = await _operator.PostJson($"/v1/environments/{production}/drills", new { releaseId = release })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        Assert.Contains("is production", (string?)refused["detail"]);
        await _operator.PostJson($"/v1/environments/{staging}/drills", new { releaseId = release, strategy = new { type = "sideways" } })
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        await _operator.PostJson($"/v1/environments/{staging}/drills", new { strategy = new { preset = "AllAtOnce" } })
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        await _operator.PostJson($"/v1/environments/{staging}/drills", new { releaseId = "rel-unknown" })
            .ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _operator.GetAsync($"/v1/environments/{staging}/drills/drill-9").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Empty((await _operator.GetAsync($"/v1/environments/{staging}/drills").Expect(HttpStatusCode.OK))["items"]!.AsArray());
        Assert.Empty((await _operator.GetAsync($"/v1/environments/{production}/drills").Expect(HttpStatusCode.OK))["items"]!.AsArray());

        // The pipeline a missing drill holds back does not run drills itself.
        await _pipeline.PostJson($"/v1/environments/{staging}/drills", new { releaseId = release }).Expect(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_declaration_with_an_unknown_strategy_or_a_bad_duration_names_the_field()
    {
        var name = TestHttp.Unique("prd");
        var problem = await _operator.PutAsync($"/v1/environments/{name}/declaration", Yaml("""
            tier: production
            rollback:
              rto: {sideways: 5m, rolling: soon}
              drillFreshness: forever
            """)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        var errors = problem["errors"]!.AsObject().Select(e => e.Key).ToList();
        Assert.Contains("rollback.rto.sideways", errors);
        Assert.Contains("rollback.rto.rolling", errors);
        Assert.Contains("rollback.drillFreshness", errors);
        await _operator.GetAsync($"/v1/environments/{name}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }
}
