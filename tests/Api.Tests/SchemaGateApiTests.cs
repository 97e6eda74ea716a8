using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Expand/contract over HTTP: the release's schema declaration is validated and shown; a contract is a 422 while the old schema is needed.</summary>
[Collection(EngineCollection.Name)]
public class SchemaGateApiTests(EngineFactory engine)
{
    private const string Validation = "urn:deploy-engine:problem:validation";
    private const string Policy = "urn:deploy-engine:problem:refused-by-policy";

    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);

    [Fact]
    public async Task A_contract_release_is_refused_while_an_environment_runs_a_version_that_needs_the_old_schema()
    {
        var service = TestHttp.Unique("ledger");
        var env = TestHttp.Unique("env");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 2 }).Expect(HttpStatusCode.Created);

        var bad = await _pipeline.PostJson("/v1/releases", new
        {
            service, version = "3.0.0", artifact = TestHttp.Digest("3.0.0"), schema = new { phase = "contract", requires = 3 },
        }).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.NotNull(bad["errors"]!["schema.drops"]);

        var v2 = await _pipeline.PostJson("/v1/releases", new
        {
            service, version = "2.0.0", artifact = TestHttp.Digest("2.0.0"), schema = new { phase = "migrate", requires = 2 },
        }).Expect(HttpStatusCode.Created);
        Assert.Equal(("migrate", 2), ((string?)v2["schema"]!["phase"], (int)v2["schema"]!["requires"]!));
        var rollout = await _pipeline.PostJson("/v1/rollouts", new { releaseId = (string)v2["id"]!, environment = env }).Expect(HttpStatusCode.Created);
        await _operator.WaitFor($"/v1/rollouts/{rollout["id"]}", r => (string?)r["status"] == "Succeeded");

        var contract = (string)(await _pipeline.PostJson("/v1/releases", new
        {
            service, version = "3.0.0", artifact = TestHttp.Digest("3.0.0"), @class = "major", schema = new { phase = "contract", requires = 3, drops = 2 },
        }).Expect(HttpStatusCode.Created))["id"]!;
        var refused = await _pipeline.PostJson("/v1/rollouts", new { releaseId = contract, environment = env })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        Assert.Contains($"{env} runs 2.0.0, which needs schema v2 (the contract drops v2)", (string?)refused["detail"]);
        await _operator.GetAsync($"/v1/rollouts/{contract}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }
}
