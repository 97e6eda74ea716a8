using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// The agent protocol over HTTP: per-service registration and desired state, the long-poll, and which agent key may
/// speak for which host.
/// </summary>
[Collection(EngineCollection.Name)]
public class AgentProtocolApiTests(EngineFactory engine)
{
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _pipeline = engine.As(PipelineKey);

    [Fact]
    public async Task A_host_registers_its_services_and_a_rollout_of_one_leaves_the_other_and_reaches_the_long_poll()
    {
        var env = "agents-multi";
        var agent = engine.As(AgentKey);
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        var id = TestHttp.Unique("vm");
        var registered = await agent.PostJson("/v1/hosts", new
        {
            id, environment = env,
            services = new Dictionary<string, object>
            {
                ["shop"] = new { artifact = TestHttp.Digest("shop-1"), version = "1.0.0" },
                ["inventory"] = new { artifact = TestHttp.Digest("inv-5"), version = "5.0.0" },
            },
        }).Expect(HttpStatusCode.OK);
        Assert.Equal("agent-1", (string?)registered["owner"]);
        Assert.Equal(2, registered["services"]!.AsObject().Count);

        var idle = await agent.GetAsync($"/v1/hosts/{id}/desired").Expect(HttpStatusCode.OK);
        var generation = (long)idle["generation"]!;
        var poll = agent.GetAsync($"/v1/hosts/{id}/desired?wait=20&after={generation}");
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);

        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "inventory", version = "6.0.0", artifact = TestHttp.Digest("inv-6") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { preset = "AllAtOnce" } })
            .Expect(HttpStatusCode.Created))["id"]!;

        var desired = await poll.WaitAsync(TimeSpan.FromSeconds(15)).Expect(HttpStatusCode.OK);
        Assert.True((long)desired["generation"]! > generation);
        var services = desired["services"]!.AsArray().ToDictionary(s => (string)s!["service"]!, s => s!);
        Assert.Equal("Updating", (string?)services["inventory"]["state"]);
        Assert.Equal(TestHttp.Digest("inv-6"), (string?)services["inventory"]["artifact"]);
        Assert.Equal("Ready", (string?)services["shop"]["state"]);
        Assert.Equal(TestHttp.Digest("shop-1"), (string?)services["shop"]["artifact"]);

        await agent.PostJson($"/v1/hosts/{id}/reports", new
        {
            service = "inventory", rollout, artifact = TestHttp.Digest("inv-6"), computedDigest = TestHttp.Digest("inv-6"),
            nonce = (string)services["inventory"]["nonce"]!, succeeded = true, healthy = true,
        }).Expect(HttpStatusCode.OK);
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        var host = await _operator.GetAsync($"/v1/hosts/{id}").Expect(HttpStatusCode.OK);
        Assert.Equal(TestHttp.Digest("shop-1"), (string?)host["services"]!["shop"]!["currentArtifact"]);
        Assert.Equal(TestHttp.Digest("inv-6"), (string?)host["services"]!["inventory"]!["currentArtifact"]);
        Assert.Equal(1, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&service=shop&version=1.0.0").Expect(HttpStatusCode.OK))["total"]!);
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&service=shop&version=6.0.0").Expect(HttpStatusCode.OK))["total"]!);
        Assert.Equal(1, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&service=inventory&version=6.0.0").Expect(HttpStatusCode.OK))["total"]!);

        await agent.GetAsync($"/v1/hosts/{id}/desired?wait=99").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
    }

    [Fact]
    public async Task An_agent_key_speaks_only_for_its_environment_and_the_hosts_it_registered()
    {
        var env = TestHttp.Unique("owned");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PutJson($"/v1/environments/{BoundEnvironment}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var bound = engine.As(BoundAgentKey);
        var other = engine.As(AgentKey);

        // Bound to agents-east: it cannot enrol a host anywhere else.
        var refused = await bound.PostJson("/v1/hosts", new { id = TestHttp.Unique("vm"), environment = env })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Contains(env, (string?)refused["detail"], StringComparison.Ordinal);
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}").Expect(HttpStatusCode.OK))["total"]!);

        var id = TestHttp.Unique("vm");
        await bound.PostJson("/v1/hosts", new { id, environment = BoundEnvironment, labels = new { region = "east" } }).Expect(HttpStatusCode.OK);

        // Another agent key cannot heartbeat, read the commands of, report, push metrics or facts for it, or re-label it.
        await other.PostJson($"/v1/hosts/{id}/heartbeat", new { healthy = false }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await other.GetAsync($"/v1/hosts/{id}/desired").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await other.PostJson($"/v1/hosts/{id}/metrics", new { errorRatePercent = 90 }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await other.PostJson($"/v1/hosts/{id}/facts", new { services = new { } }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await other.PostJson($"/v1/hosts/{id}/reports", new
        {
            rollout = "r.agents-east", artifact = TestHttp.Digest("x"), computedDigest = TestHttp.Digest("x"), nonce = "n", succeeded = true,
        }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await other.PostJson("/v1/hosts", new { id, environment = BoundEnvironment, labels = new { region = "west" } })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");

        var host = await _operator.GetAsync($"/v1/hosts/{id}").Expect(HttpStatusCode.OK);
        Assert.True((bool)host["healthy"]!);
        Assert.Equal("east", (string?)host["labels"]!["region"]);
        await bound.PostJson($"/v1/hosts/{id}/heartbeat", new { healthy = true }).Expect(HttpStatusCode.OK);

        // Its own agent may register again as it is, but not move itself into another wave or budget: labels are an
        // operator's change.
        await bound.PostJson("/v1/hosts", new { id, environment = BoundEnvironment, labels = new { region = "east" } }).Expect(HttpStatusCode.OK);
        var relabel = await bound.PostJson("/v1/hosts", new { id, environment = BoundEnvironment, labels = new { region = "west" } })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Contains("operator", (string?)relabel["detail"], StringComparison.Ordinal);
        await _operator.PostJson("/v1/hosts", new { id, environment = BoundEnvironment, labels = new { region = "west" } }).Expect(HttpStatusCode.OK);
        Assert.Equal("west", (string?)(await _operator.GetAsync($"/v1/hosts/{id}").Expect(HttpStatusCode.OK))["labels"]!["region"]);

        // A host the engine created is no agent's to take over by registering it.
        var prefix = TestHttp.Unique("sim");
        await _operator.PostJson($"/v1/environments/{BoundEnvironment}/simulated-hosts", new { count = 1, idPrefix = prefix }).Expect(HttpStatusCode.Created);
        var simulated = $"{prefix}-0001";
        await bound.PostJson("/v1/hosts", new { id = simulated, environment = BoundEnvironment })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Null((string?)(await _operator.GetAsync($"/v1/hosts/{simulated}").Expect(HttpStatusCode.OK))["owner"]);

        // Nor to speak for, even in an environment the key serves: a forged success or metric for a simulated host is 403
        // and changes nothing (only operators, who drive simulations, push for it).
        var speaking = await bound.PostJson($"/v1/hosts/{simulated}/metrics", new { errorRatePercent = 90 })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Contains("created by the engine", (string?)speaking["detail"], StringComparison.Ordinal);
        await bound.PostJson($"/v1/hosts/{simulated}/heartbeat", new { healthy = false }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await bound.GetAsync($"/v1/hosts/{simulated}/desired").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await bound.PostJson($"/v1/hosts/{simulated}/facts", new { services = new { } }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await bound.PostJson($"/v1/hosts/{simulated}/reports", new
        {
            rollout = "r.agents-east", artifact = TestHttp.Digest("x"), computedDigest = TestHttp.Digest("x"), nonce = "n", succeeded = true,
        }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.True((bool)(await _operator.GetAsync($"/v1/hosts/{simulated}").Expect(HttpStatusCode.OK))["healthy"]!);
        await _operator.PostJson($"/v1/hosts/{simulated}/heartbeat", new { healthy = true }).Expect(HttpStatusCode.OK);

        // A version or service without the artifact it belongs to is refused, not dropped.
        var vague = await bound.PostJson("/v1/hosts", new { id = TestHttp.Unique("vm"), environment = BoundEnvironment, currentVersion = "1.0.0", service = "shop" })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(vague["errors"]!["currentVersion"]);
        Assert.NotNull(vague["errors"]!["service"]);
    }
}
