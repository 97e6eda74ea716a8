using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Strategies and scopes over HTTP: validated as a whole before anything starts, shown step by step.</summary>
[Collection(EngineCollection.Name)]
public class StrategiesApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _agent = engine.As(AgentKey);

    private Task<string> Environment(params (int Count, object Labels, object? Metrics)[] groups) => Environment(TestHttp.Unique("env"), groups);

    private async Task<string> Environment(string name, params (int Count, object Labels, object? Metrics)[] groups)
    {
        await _operator.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var n = 0;
        foreach (var (count, labels, metrics) in groups)
        {
            await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new
            {
                count,
                idPrefix = $"{name}-g{++n}",
                labels,
                stepLatencyMs = 2,
                currentArtifact = TestHttp.Digest("1.0.0"),
                currentVersion = "1.0.0",
                metrics,
            }).Expect(HttpStatusCode.Created);
        }

        return name;
    }

    private async Task<string> Release(string version) =>
        (string)(await _pipeline.PostJson("/v1/releases", new { service = "web", version, artifact = TestHttp.Digest(version), commit = "abc123" })
            .Expect(HttpStatusCode.Created))["id"]!;

    [Theory]
    [InlineData("""{"type":"canary"}""", "strategy.steps")]
    [InlineData("""{"type":"canary","steps":[{"setWeight":50},{"setWeight":20}]}""", "strategy.steps[1].setWeight")]
    [InlineData("""{"type":"canary","steps":[{"setWeight":50,"pause":{}}]}""", "strategy.steps[0]")]
    [InlineData("""{"type":"rolling","rollbackTriggers":[{"metric":"cpu","threshold":1}]}""", "strategy.rollbackTriggers[0].metric")]
    [InlineData("""{"type":"teleport"}""", "strategy.type")]
    [InlineData("""{"scope":{"type":"waves","waves":[]}}""", "strategy.scope.waves")]
    public async Task An_invalid_strategy_is_a_400_naming_the_field_and_starts_nothing(string strategy, string field)
    {
        var env = await Environment((4, new { region = "eu" }, null));
        var release = await Release("2.0.0");
        var body = JsonNode.Parse($$"""{"releaseId":"{{release}}","environment":"{{env}}","strategy":{{strategy}}}""")!;

        var problem = await _pipeline.PostJson("/v1/rollouts", body).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);
        await _operator.GetAsync($"/v1/rollouts/{release}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task A_plan_that_does_not_fit_the_fleet_is_a_422_naming_the_problem()
    {
        var env = await Environment((4, new { region = "eu" }, null));
        var release = await Release("2.0.0");

        var waves = await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release,
            environment = env,
            strategy = new { scope = new { type = "waves", waves = new object[] { new { region = "eu" }, new { region = "mars" } } } },
        }).ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.NotNull(waves["errors"]!["strategy.scope.waves[1]"]);

        var blueGreen = await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { type = "blueGreen" } })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.NotNull(blueGreen["errors"]);
        await _operator.GetAsync($"/v1/rollouts/{release}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task The_dry_run_shows_steps_times_waves_with_host_counts()
    {
        var env = await Environment((10, new { region = "eu" }, null), (20, new { region = "us" }, null));
        var preview = await _operator.PostJson("/v1/rollouts/preview", new
        {
            environment = env,
            strategy = new
            {
                type = "canary",
                steps = new object[] { new { setWeight = 10 }, new { pause = new { durationSeconds = 60 } }, new { setWeight = 50 } },
                scope = new { type = "waves", waves = new object[] { new { region = "eu" }, new { region = "us" } }, bakeSeconds = 300 },
            },
        }).Expect(HttpStatusCode.OK);

        Assert.True((bool)preview["feasible"]!);
        Assert.Equal("Canary", (string?)preview["strategy"]);
        Assert.Equal(new[] { 10, 20 }, preview["stages"]!.AsArray().Select(s => (int)s!["hosts"]!));
        // eu: ceil(10% of 10) = 1, then 5 - 1 = 4, then the other 5 in place, ⌊25% of 10⌋ = 2 at a time; us: 2, 8, then 10 by 5.
        Assert.Equal(new[] { 1, 4, 2, 2, 1, 2, 8, 5, 5 }, preview["batches"]!.AsArray().Select(b => (int)b!));
        Assert.Contains(preview["steps"]!.AsArray(), s => (string?)s!["kind"] == "Bake");
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&version=2.0.0").Expect(HttpStatusCode.OK))["total"]!);
    }

    [Fact]
    public async Task Metrics_breaching_a_trigger_roll_the_canary_back_an_agent_key_cannot_forge_them_for_simulated_hosts_and_promote_is_refused_outside_a_pause()
    {
        // An environment agent-1 serves: even so, agent-1 does not speak for the engine's simulated canary hosts.
        var env = await Environment("agents-canary", (10, new { region = "eu" }, null));
        var release = await Release("2.0.0");
        var created = await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release,
            environment = env,
            strategy = new
            {
                type = "canary",
                steps = new object[] { new { setWeight = 10 }, new { pause = new { } } },
                rollbackTriggers = new object[] { new { metric = "p99LatencyMs", threshold = 250 } },
            },
        }).Expect(HttpStatusCode.Created);
        var id = (string)created["id"]!;
        var waiting = await _operator.WaitFor($"/v1/rollouts/{id}", r => (int)r["currentStep"]! == 3);
        Assert.Equal("Pause", (string?)waiting["steps"]![2]!["kind"]);
        Assert.Equal("running", (string?)waiting["steps"]![2]!["state"]);

        var hosts = await _operator.GetAsync($"/v1/hosts?environment={env}&version=2.0.0").Expect(HttpStatusCode.OK);
        var canary = (string)hosts["items"]![0]!["id"]!;
        await _operator.PostJson($"/v1/hosts/{canary}/metrics", new { p99LatencyMs = -1 })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        // The canary hosts are simulated (the engine's): an agent key's forged readings are refused and change nothing;
        // the operator (who drives simulations) pushes them.
        for (var i = 0; i < 3; i++)
        {
            await _agent.PostJson($"/v1/hosts/{canary}/metrics", new { errorRatePercent = 0.1, p99LatencyMs = 900, requests = 500 })
                .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        }

        // A trigger is judged on at least two readings by default: one report is not yet evidence.
        await _operator.PostJson($"/v1/hosts/{canary}/metrics", new { errorRatePercent = 0.1, p99LatencyMs = 900, requests = 500 }).Expect(HttpStatusCode.OK);
        await Task.Delay(200);
        Assert.Equal("Paused", (string?)(await _operator.GetAsync($"/v1/rollouts/{id}").Expect(HttpStatusCode.OK))["status"]);
        await _operator.PostJson($"/v1/hosts/{canary}/metrics", new { errorRatePercent = 0.1, p99LatencyMs = 900, requests = 500 }).Expect(HttpStatusCode.OK);

        var done = await _operator.WaitFor($"/v1/rollouts/{id}", r => (string?)r["status"] == "RolledBack");
        Assert.Contains("p99LatencyMs", (string?)done["statusReason"]);
        await _operator.PostJson($"/v1/rollouts/{id}/promote", new { reason = "late" })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:invalid-transition");
    }
}
