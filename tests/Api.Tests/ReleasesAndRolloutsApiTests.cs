using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

[Collection(EngineCollection.Name)]
public class ReleasesAndRolloutsApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);

    private async Task<string> Environment(int hosts, int latencyMs = 0, object? failureProbability = null)
    {
        var name = TestHttp.Unique("env");
        await _operator.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = hosts,
            labels = new { region = "eu-west" },
            stepLatencyMs = latencyMs,
            failureProbability,
            currentArtifact = TestHttp.Digest("1.0.0"),
            currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return name;
    }

    private async Task<string> Release(string version, string service = "web") =>
        (string)(await _pipeline.PostJson("/v1/releases", new { service, version, artifact = TestHttp.Digest(version), commit = "abc123" })
            .Expect(HttpStatusCode.Created))["id"]!;

    [Fact]
    public async Task A_pipeline_rolls_a_release_out_over_http_and_operators_watch_it()
    {
        var env = await Environment(50, latencyMs: 5);
        var release = await Release("2.0.0");

        var created = await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release,
            environment = env,
            strategy = new { type = "rolling", maxSurge = "0", maxUnavailable = "10%" },
        }).Expect(HttpStatusCode.Created);
        var id = (string)created["id"]!;
        Assert.Equal(Enumerable.Repeat(5, 10), created["batches"]!.AsArray().Select(b => (int)b!));

        var done = await _operator.WaitFor($"/v1/rollouts/{id}", r => (string?)r["status"] == "Succeeded");
        Assert.Equal(50, (int)done["hosts"]!["updated"]!);
        Assert.Contains(done["decisions"]!.AsArray(), d => (string?)d!["kind"] == "succeeded");

        var onNew = await _operator.GetAsync($"/v1/hosts?environment={env}&version=2.0.0&limit=20").Expect(HttpStatusCode.OK);
        Assert.Equal(50, (int)onNew["total"]!);
        Assert.Equal(20, onNew["items"]!.AsArray().Count);
        var secondPage = await _operator.GetAsync($"/v1/hosts?environment={env}&state=Ready&label=region=eu-west&offset=40&limit=20").Expect(HttpStatusCode.OK);
        Assert.Equal(10, secondPage["items"]!.AsArray().Count);
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&label=region=us-east").Expect(HttpStatusCode.OK))["total"]!);
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&version=1.0.0").Expect(HttpStatusCode.OK))["total"]!);

        var events = await _operator.WaitFor($"/v1/rollouts/{id}/events?limit=1000",
            e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == "dev.cdevents.service.deployed.0.2.0"));
        Assert.Equal(50, TestHttp.HostsIn(events, TestHttp.HostsUpdatedType).Distinct().Count());

        var environment = await _operator.GetAsync($"/v1/environments/{env}").Expect(HttpStatusCode.OK);
        Assert.Equal("2.0.0", (string?)environment["services"]!["web"]!["version"]);
        var listed = await _operator.GetAsync("/v1/environments").Expect(HttpStatusCode.OK);
        Assert.Contains(listed["items"]!.AsArray(), e => (string?)e!["name"] == env && (int)e["hostCount"]! == 50);

        var resumed = await _operator.PostJson($"/v1/rollouts/{id}/resume", new { }).ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:invalid-transition");
        Assert.Equal("cannot resume a rollout that has succeeded", (string?)resumed["detail"]);
    }

    [Fact]
    public async Task Rolling_back_a_release_a_newer_one_replaced_is_a_409_with_the_reason_and_changes_nothing()
    {
        var env = await Environment(3);
        var older = await Release("2.0.0");
        var olderId = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = older, environment = env, strategy = new { preset = "AllAtOnce" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{olderId}", r => (string?)r["status"] == "Succeeded");
        var newer = await Release("3.0.0");
        var newerId = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = newer, environment = env, strategy = new { preset = "AllAtOnce" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{newerId}", r => (string?)r["status"] == "Succeeded");

        var refused = await _operator.PostJson($"/v1/rollouts/{olderId}/rollback", new { reason = "regression" })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:invalid-transition");

        Assert.Contains("has replaced 2.0.0", (string?)refused["detail"], StringComparison.Ordinal);
        Assert.Equal("Succeeded", (string?)(await _operator.GetAsync($"/v1/rollouts/{olderId}").Expect(HttpStatusCode.OK))["status"]);
        Assert.Equal(3, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&version=3.0.0").Expect(HttpStatusCode.OK))["total"]!);
    }

    [Fact]
    public async Task Clearing_a_host_that_is_not_quarantined_is_a_404()
    {
        var env = await Environment(1);
        var host = (string)(await _operator.GetAsync($"/v1/hosts?environment={env}").Expect(HttpStatusCode.OK))["items"]![0]!["id"]!;

        var problem = await _operator.PostJson($"/v1/hosts/{host}/quarantine/clear", new { reason = "checked" })
            .ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Contains("is not quarantined", (string?)problem["detail"], StringComparison.Ordinal);
        await _operator.PostJson("/v1/hosts/no-such-host/quarantine/clear", new { }).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task A_bad_version_rolls_back_on_its_own_with_the_reason_in_the_api()
    {
        var env = await Environment(50, failureProbability: new Dictionary<string, double> { ["2.1.0"] = 0.6 });
        var release = await Release("2.1.0");

        var id = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { preset = "OneAtATime" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        var done = await _operator.WaitFor($"/v1/rollouts/{id}", r => (string?)r["status"] is "RolledBack" or "Succeeded" or "Failed");

        Assert.Equal("RolledBack", (string?)done["status"]);
        Assert.Contains(done["decisions"]!.AsArray(), d => (string?)d!["kind"] == "rollback" && ((string?)d["reason"])!.Contains("below the minimum of 49", StringComparison.Ordinal));
        var onOld = await _operator.GetAsync($"/v1/hosts?environment={env}&version=1.0.0").Expect(HttpStatusCode.OK);
        Assert.Equal(50, (int)onOld["total"]!);
    }

    [Fact]
    public async Task A_real_agent_registers_fetches_its_desired_artifact_and_reports()
    {
        var env = "agents-release";
        var agent = engine.As(AgentKey);
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var hostId = TestHttp.Unique("vm");
        await agent.PostJson("/v1/hosts", new { id = hostId, environment = env, labels = new { region = "eu-west" }, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.OK);
        await agent.PostJson($"/v1/hosts/{hostId}/heartbeat", new { healthy = true }).Expect(HttpStatusCode.OK);

        var release = await Release("2.0.0");
        var id = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;

        var desired = await agent.GetAsync($"/v1/hosts/{hostId}/desired").Expect(HttpStatusCode.OK);
        Assert.Equal(TestHttp.Digest("2.0.0"), (string?)desired["artifact"]);
        Assert.Equal(id, (string?)desired["rollout"]);
        Assert.Equal("Updating", (string?)desired["state"]);
        var command = desired["services"]!.AsArray().Single()!;
        Assert.Equal("Apply", (string?)command["kind"]);
        Assert.Equal(release, (string?)command["release"]);
        var nonce = (string)command["nonce"]!;

        // A report for another artifact is refused and changes nothing.
        await agent.PostJson($"/v1/hosts/{hostId}/reports", new { rollout = id, artifact = TestHttp.Digest("9.9.9"), computedDigest = TestHttp.Digest("9.9.9"), nonce, succeeded = true })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");
        // A report without the digest the agent computed is no evidence: refused.
        var undigested = await agent.PostJson($"/v1/hosts/{hostId}/reports", new { rollout = id, artifact = TestHttp.Digest("2.0.0"), nonce, succeeded = true })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(undigested["errors"]!["computedDigest"]);
        // A report that does not echo the command's nonce answers a command the host never received: refused.
        var forged = await agent.PostJson($"/v1/hosts/{hostId}/reports", new { rollout = id, artifact = TestHttp.Digest("2.0.0"), computedDigest = TestHttp.Digest("2.0.0"), nonce = "0123456789abcdef", succeeded = true })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");
        Assert.Contains("nonce", (string?)forged["detail"], StringComparison.Ordinal);

        var host = await agent.PostJson($"/v1/hosts/{hostId}/reports", new
        {
            rollout = id, artifact = TestHttp.Digest("2.0.0"), computedDigest = TestHttp.Digest("2.0.0"), nonce, succeeded = true, healthy = true, durationMs = 1500,
            steps = new object[] { new { name = "download", succeeded = true, durationMs = 300 }, new { name = "ValidateService", succeeded = true, durationMs = 200, exitCode = 0, output = "ok" } },
        }).Expect(HttpStatusCode.OK);
        Assert.Equal(TestHttp.Digest("2.0.0"), (string?)host["currentArtifact"]);
        Assert.Equal(TestHttp.Digest("1.0.0"), (string?)host["previousArtifact"]);
        var slot = host["services"]!.AsObject().Single().Value!;
        Assert.Equal("ValidateService", (string?)slot["lastSteps"]![1]!["name"]);
        Assert.Equal(1500, (long)slot["lastDurationMs"]!);

        await _operator.WaitFor($"/v1/rollouts/{id}", r => (string?)r["status"] == "Succeeded");
    }

    [Fact]
    public async Task Idempotency_key_replays_the_original_result_and_creates_nothing_new()
    {
        var body = new { service = "billing", version = "1.2.3", artifact = TestHttp.Digest("1.2.3") };
        var key = Guid.NewGuid().ToString();

        var first = await Send(body, key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var second = await Send(body, key);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        var firstId = (string?)(await first.Read())["id"];
        Assert.Equal(firstId, (string?)(await second.Read())["id"]);

        // Without the key, the same body is a new release.
        var third = await _pipeline.PostJson("/v1/releases", body).Expect(HttpStatusCode.Created);
        Assert.NotEqual(firstId, (string?)third["id"]);

        // The same key with another request is refused.
        await Send(body with { version = "1.2.4" }, key).ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:idempotency-key-reused");

        Task<HttpResponseMessage> Send(object payload, string idempotencyKey)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/releases") { Content = JsonContent(payload) };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return _pipeline.SendAsync(request);
        }
    }

    [Fact]
    public async Task Idempotency_key_replays_a_rollout_creation()
    {
        var env = await Environment(3);
        var release = await Release("2.0.0");
        var key = Guid.NewGuid().ToString();
        var body = new { releaseId = release, environment = env };

        var first = await Post(key).Expect(HttpStatusCode.Created);
        var second = await Post(key).Expect(HttpStatusCode.Created);
        Assert.Equal((string?)first["id"], (string?)second["id"]);

        // A second create without the key is a conflict: a release rolls out once per environment.
        await _pipeline.PostJson("/v1/rollouts", body).ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");

        Task<HttpResponseMessage> Post(string k)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/rollouts") { Content = JsonContent(body) };
            request.Headers.Add("Idempotency-Key", k);
            return _pipeline.SendAsync(request);
        }
    }

    [Fact]
    public async Task Plan_preview_shows_batches_without_changing_anything()
    {
        var preview = await _operator.PostJson("/v1/rollouts/preview", new { hostCount = 9, strategy = new { minimumHealthyHosts = new { type = "FLEET_PERCENT", value = 40 } } })
            .Expect(HttpStatusCode.OK);
        Assert.Equal(new[] { 5, 4 }, preview["batches"]!.AsArray().Select(b => (int)b!));
        Assert.Equal(4, (int)preview["minimumHealthyHosts"]!);

        var infeasible = await _operator.PostJson("/v1/rollouts/preview", new { hostCount = 5, strategy = new { minimumHealthyHosts = new { type = "HOST_COUNT", value = 5 } } })
            .Expect(HttpStatusCode.OK);
        Assert.False((bool)infeasible["feasible"]!);
        Assert.Contains("requires 5 of 5 hosts", (string?)infeasible["infeasible"]);

        var env = await Environment(10);
        var forEnv = await _operator.PostJson("/v1/rollouts/preview", new { environment = env }).Expect(HttpStatusCode.OK);
        // In place, the default maxUnavailable 25% of 10 → 2 hosts out of service at a time.
        Assert.Equal(new[] { 2, 2, 2, 2, 2 }, forEnv["batches"]!.AsArray().Select(b => (int)b!));
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/hosts?environment={env}&version=2.0.0").Expect(HttpStatusCode.OK))["total"]!);
    }

    [Fact]
    public async Task The_immutable_preview_shows_the_surge_window_with_counts_at_every_step()
    {
        // Kubernetes' Deployment controller, 10 replicas at 25%/25%: surge 3, unavailable 2; +3/−2, +2/−3, +3/−2, +2/−3.
        var preview = await _operator.PostJson("/v1/rollouts/preview", new { hostCount = 10, strategy = new { type = "immutable" } })
            .Expect(HttpStatusCode.OK);

        Assert.True((bool)preview["feasible"]!);
        Assert.Equal((3, 2), ((int)preview["maxSurge"]!, (int)preview["maxUnavailable"]!));
        var steps = preview["steps"]!.AsArray();
        Assert.Equal(12, steps.Count);
        Assert.Equal(["Provision", "Retire", "Deploy"], steps.Take(3).Select(s => (string?)s!["kind"]));
        Assert.All(steps, s => Assert.True((int)s!["available"]! >= 8 && (int)s["total"]! <= 13));
        Assert.Equal(new[] { 8, 5, 3, 0 }, steps.Where(s => (string?)s!["kind"] == "Deploy").Select(s => (int)s!["old"]!));
        Assert.Equal(new[] { 3, 5, 8, 10 }, steps.Where(s => (string?)s!["kind"] == "Deploy").Select(s => (int)s!["new"]!));
        Assert.Equal(new[] { 3, 2, 3, 2 }, preview["batches"]!.AsArray().Select(b => (int)b!));
    }

    [Fact]
    public async Task In_place_a_max_unavailable_of_zero_is_a_400_with_the_reason_and_nothing_is_created()
    {
        var env = await Environment(3);
        var release = await Release("2.0.0");
        var problem = await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release, environment = env, strategy = new { type = "rolling", maxSurge = "1", maxUnavailable = "0" },
        }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Contains("cannot be 0 for an in-place update", (string?)problem["errors"]!["strategy.maxUnavailable"]![0], StringComparison.Ordinal);
        Assert.Equal(0, (int)(await _operator.GetAsync($"/v1/rollouts?environment={env}").Expect(HttpStatusCode.OK))["items"]!.AsArray().Count);

        // A share that rounds down to 0 while maxSurge does not: the preview says why it cannot run in place.
        var preview = await _operator.PostJson("/v1/rollouts/preview", new { hostCount = 3, strategy = new { maxSurge = "1", maxUnavailable = "25%" } })
            .Expect(HttpStatusCode.OK);
        Assert.False((bool)preview["feasible"]!);
        Assert.Contains("maxUnavailable 25% rounds down to 0 of 3 hosts", (string?)preview["infeasible"], StringComparison.Ordinal);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)), Encoding.UTF8, "application/json");
}
