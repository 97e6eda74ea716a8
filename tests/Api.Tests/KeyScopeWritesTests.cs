using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// What a key scoped to a service may change, as an attacker holding one would try: nothing that holds for a whole
/// environment (its settings, declaration and declaration changes, drift scan and reconcile, calendar, its hosts) and
/// nothing of another service's slot on a host it shares (reports, metrics) or of the host as a whole (heartbeat, facts,
/// quarantine): each is 403 naming the scope, and an unscoped key reads the environment and the host unchanged. Inside,
/// the same key keeps doing its own service's writes.
/// </summary>
[Collection(EngineCollection.Name)]
public class KeyScopeWritesTests(EngineFactory engine)
{
    private readonly HttpClient _admin = engine.As(AdminKey);
    private readonly HttpClient _service = engine.As(ServiceOnlyScopedKey);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Declaration(string tier, string theirs) => $$"""
        {"tier":"{{tier}}","dataClassification":"synthetic","baseline":{"services":{"{{theirs}}":{"version":"2.0.0"},"{{ScopeService}}":{"version":"1.0.0"} },"runtime":{"os-image":"ubuntu-24.04"} } }
        """;

    /// <summary>A declared staging environment whose two simulated hosts run another service (rolled out) and then the key's.</summary>
    private async Task<(string Environment, string Service, string Rollout, List<string> Hosts)> Shared()
    {
        var environment = TestHttp.Unique("whole");
        var service = TestHttp.Unique("whole-other");
        await _admin.PutAsync($"/v1/environments/{environment}/declaration", Json(Declaration("staging", service))).Expect(HttpStatusCode.OK);
        var fleet = await _admin.PostJson($"/v1/environments/{environment}/simulated-hosts", new { count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        var theirs = await CatalogApiTests.Rollout(_admin, await CatalogApiTests.Release(_admin, service, "2.0.0"), environment);
        await _admin.WaitFor($"/v1/rollouts/{theirs}", r => (string?)r["status"] == "Succeeded");
        var mine = await CatalogApiTests.Rollout(_admin, await CatalogApiTests.Release(_admin, ScopeService, "1.5.0"), environment);
        await _admin.WaitFor($"/v1/rollouts/{mine}", r => (string?)r["status"] == "Succeeded");
        return (environment, service, theirs, fleet["hostIds"]!.AsArray().Select(h => (string)h!).ToList());
    }

    /// <summary>
    /// <see cref="Environment"/> once it has stopped changing: the history is written from the event stream after the
    /// set-up's rollouts end, so a read taken too early would differ from a later one with no write refused in between.
    /// </summary>
    private async Task<string> Settled(string environment)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var last = await Environment(environment);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            var now = await Environment(environment);
            if (now == last) return now;
            last = now;
        }

        return last;
    }

    /// <summary>What an unscoped key reads of an environment: any whole-environment write let through would change it.</summary>
    private async Task<string> Environment(string environment)
    {
        var parts = new List<string>();
        foreach (var url in new[]
        {
            $"/v1/environments/{environment}", $"/v1/environments/{environment}/declaration", $"/v1/environments/{environment}/declaration/changes",
            $"/v1/environments/{environment}/calendar", $"/v1/environments/{environment}/drift", $"/v1/hosts?environment={environment}",
            $"/v1/environments/{environment}/events?limit=500", $"/v1/environments/{environment}/parameters",
        })
        {
            using var response = await _admin.GetAsync(url);
            // Instants and states computed at read time are not state.
            var body = Regex.Replace(await response.Content.ReadAsStringAsync(), "\"(now|evaluatedAt|traceId)\":\"[^\"]*\"", "\"$1\":\"\"");
            parts.Add($"{url} {(int)response.StatusCode} {body}");
        }

        return string.Join('\n', parts);
    }

    private static async Task<string> Refused(Task<HttpResponseMessage> call, string because)
    {
        var problem = await call.ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Equal(Problems.OutsideKeyScopeTitle, (string?)problem["title"]);
        var detail = (string?)problem["detail"] ?? string.Empty;
        Assert.Contains($"this key is scoped to services {ScopeService}", detail, StringComparison.Ordinal);
        Assert.Contains(because, detail, StringComparison.Ordinal);
        return detail;
    }

    [Fact]
    public async Task A_service_scoped_key_is_refused_every_write_to_a_whole_environment_and_nothing_changes()
    {
        var (environment, service, _, _) = await Shared();
        // A production environment with a declaration change waiting for a change authority.
        var production = TestHttp.Unique("whole-prod");
        await _admin.PutAsync($"/v1/environments/{production}/declaration", Json(Declaration("production", service))).Expect(HttpStatusCode.OK);
        var proposed = await _admin.PutAsync($"/v1/environments/{production}/declaration", Json(Declaration("production", service).Replace("2.0.0", "2.1.0", StringComparison.Ordinal)))
            .Expect(HttpStatusCode.Accepted);
        var change = (string)proposed["id"]!;
        var before = await Settled(environment);
        var productionBefore = await Settled(production);

        const string Whole = "this route changes the whole environment";
        var now = DateTimeOffset.UtcNow;
        var calls = new (string What, Func<Task<HttpResponseMessage>> Call)[]
        {
            ("PUT environment", () => _service.PutJson($"/v1/environments/{environment}", new { concurrencyLimit = 7, description = "mine now" })),
            // Declaring the key's own service only would drop the other service's baseline.
            ("PUT declaration", () => _service.PutAsync($"/v1/environments/{environment}/declaration", Json($$"""
                {"tier":"development","dataClassification":"synthetic","baseline":{"services":{"{{ScopeService}}":{"version":"1.5.0"} } } }
                """))),
            ("drift scan", () => _service.PostJson($"/v1/environments/{environment}/drift/scan", new { })),
            ("drift reconcile", () => _service.PostJson($"/v1/environments/{environment}/drift/reconcile", new { mode = "accept", reason = "mine" })),
            ("PUT calendar", () => _service.PutJson($"/v1/environments/{environment}/calendar", new
            {
                freezes = new object[] { new { name = "mine", start = now.AddHours(-1).ToString("O"), end = now.AddDays(1).ToString("O") } },
            })),
            ("simulated hosts", () => _service.PostJson($"/v1/environments/{environment}/simulated-hosts", new { count = 1 })),
            // Parameters and secrets go into every service's configuration.
            ("PUT parameters", () => _service.PutJson($"/v1/environments/{environment}/parameters", new { values = new { pool = "mine" } })),
            ("register host", () => _service.PostJson("/v1/hosts", new { id = TestHttp.Unique("mine"), environment, service = ScopeService, currentArtifact = TestHttp.Digest("1.5.0") })),
        };
        foreach (var (what, call) in calls)
        {
            var detail = await Refused(call(), Whole);
            Assert.True(detail.Contains($"environment '{environment}' reaches every service", StringComparison.Ordinal), $"{what}: {detail}");
        }

        var approver = engine.As(ServiceScopedApproverKey);
        await Refused(approver.PostJson($"/v1/environments/{production}/declaration/changes/{change}/approve", new { }), Whole);
        await Refused(approver.PostJson($"/v1/environments/{production}/declaration/changes/{change}/reject", new { reason = "mine" }), Whole);

        // The key scoped to the environment as well as the service is refused the same way inside its environment.
        await Refused(engine.As(ScopedKey).PutJson($"/v1/environments/{ScopeEnvironment}", new { concurrencyLimit = 9 }), Whole);

        Assert.Equal(before, await Environment(environment));
        Assert.Equal(productionBefore, await Environment(production));
        Assert.Equal("Pending", (string?)(await _admin.GetAsync($"/v1/environments/{production}/declaration/changes/{change}").Expect(HttpStatusCode.OK))["state"]);
    }

    [Fact]
    public async Task A_service_scoped_key_still_does_its_own_services_writes_in_that_environment()
    {
        var (environment, service, _, hosts) = await Shared();

        await _service.PutJson($"/v1/environments/{environment}/flags/mine", new { service = ScopeService, enabled = true, reason = "my flag" }).Expect(HttpStatusCode.OK);
        await _service.PutJson($"/v1/environments/{environment}/flags/theirs", new { service, enabled = true, reason = "not mine" })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        var release = await CatalogApiTests.Release(_service, ScopeService, "1.6.0");
        var rollout = await CatalogApiTests.Rollout(_service, release, environment);
        await _service.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        var sample = await _service.PostJson($"/v1/hosts/{hosts[0]}/metrics", new { service = ScopeService, errorRatePercent = 0.5, p99LatencyMs = 80, failedHealthChecks = 0, requests = 100 })
            .Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], sample["services"]!.AsObject().Select(s => s.Key));
        Assert.Equal("1.6.0", (string?)(await _admin.GetAsync($"/v1/hosts/{hosts[0]}").Expect(HttpStatusCode.OK))["services"]![ScopeService]!["currentVersion"]);
    }

    [Fact]
    public async Task On_a_shared_host_a_services_good_sample_does_not_clear_another_services_failing_health_checks()
    {
        var (_, service, _, hosts) = await Shared();
        var host = hosts[1];
        async Task<bool> Healthy() => (bool)(await _admin.GetAsync($"/v1/hosts/{host}").Expect(HttpStatusCode.OK))["healthy"]!;

        await _admin.PostJson($"/v1/hosts/{host}/metrics", new { service, errorRatePercent = 1, p99LatencyMs = 80, failedHealthChecks = 2, requests = 100 }).Expect(HttpStatusCode.OK);
        Assert.False(await Healthy());

        // The scoped key speaks for its own service only: its checks pass, the other service's still fail.
        await _service.PostJson($"/v1/hosts/{host}/metrics", new { service = ScopeService, errorRatePercent = 0, p99LatencyMs = 50, failedHealthChecks = 0, requests = 100 })
            .Expect(HttpStatusCode.OK);
        Assert.False(await Healthy());

        await _admin.PostJson($"/v1/hosts/{host}/metrics", new { service, errorRatePercent = 0, p99LatencyMs = 50, failedHealthChecks = 0, requests = 100 }).Expect(HttpStatusCode.OK);
        Assert.True(await Healthy());
    }

    [Fact]
    public async Task On_a_shared_host_a_service_scoped_key_posts_nothing_for_another_services_slot_or_the_whole_host()
    {
        var (environment, service, theirs, hosts) = await Shared();
        var host = hosts[0];
        async Task<string> Host() => Regex.Replace((await _admin.GetAsync($"/v1/hosts/{host}").Expect(HttpStatusCode.OK)).ToJsonString(), "\"lastHeartbeat\":\"[^\"]*\"", string.Empty);
        var before = await Host();
        var environmentBefore = await Settled(environment);

        // Another service's slot: named in the body, or found through the rollout the report answers.
        await Refused(_service.PostJson($"/v1/hosts/{host}/metrics", new { service, errorRatePercent = 90, p99LatencyMs = 9000, failedHealthChecks = 3, requests = 10 }),
            $"'{service}' is outside it");
        var report = new { rollout = theirs, artifact = TestHttp.Digest("2.0.0"), succeeded = false, healthy = false, message = "forged", nonce = "forged" };
        await Refused(_service.PostJson($"/v1/hosts/{host}/reports", report with { }), $"'{service}' is outside it");
        await Refused(_service.PostJson($"/v1/hosts/{host}/reports", new { report.rollout, report.artifact, report.succeeded, report.healthy, report.message, report.nonce, service }),
            $"'{service}' is outside it");

        // The host as a whole holds for the other service too.
        const string WholeHost = "this route changes host";
        await Refused(_service.PostJson($"/v1/hosts/{host}/heartbeat", new { healthy = false }), WholeHost);
        await Refused(_service.PostJson($"/v1/hosts/{host}/facts", new { services = new Dictionary<string, object> { [ScopeService] = new { version = "1.5.0" } } }), WholeHost);
        await Refused(_service.PostJson($"/v1/hosts/{host}/quarantine/clear", new { reason = "mine" }), WholeHost);

        Assert.Equal(before, await Host());
        Assert.Equal(environmentBefore, await Environment(environment));
        Assert.Equal("Succeeded", (string?)(await _admin.GetAsync($"/v1/rollouts/{theirs}").Expect(HttpStatusCode.OK))["status"]);
        await _admin.GetAsync($"/v1/hosts/{host}/facts").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }

    [Fact]
    public async Task A_service_scoped_approver_cannot_vote_to_delete_another_services_flag()
    {
        var environment = TestHttp.Unique("whole-flags");
        var service = TestHttp.Unique("whole-other");
        await _admin.PutAsync($"/v1/environments/{environment}/declaration", new StringContent("tier: production\n", Encoding.UTF8, "application/yaml")).Expect(HttpStatusCode.OK);
        var set = (string)(await _admin.PutJson($"/v1/environments/{environment}/flags/theirs", new { service, reason = "their flag" }).Expect(HttpStatusCode.Accepted))["id"]!;
        await engine.As(ApproverKey).PostJson($"/v1/environments/{environment}/flags/changes/{set}/approve", new { }).Expect(HttpStatusCode.OK);

        // A deletion carries no flag: the flag it deletes is the other service's all the same.
        var deletion = (string)(await _admin.DeleteAsync($"/v1/environments/{environment}/flags/theirs").Expect(HttpStatusCode.Accepted))["id"]!;
        var approver = engine.As(ServiceScopedApproverKey);
        await Refused(approver.PostJson($"/v1/environments/{environment}/flags/changes/{deletion}/approve", new { reason = "mine now" }), $"'{service}' is outside it");
        await Refused(approver.PostJson($"/v1/environments/{environment}/flags/changes/{deletion}/reject", new { reason = "mine now" }), $"'{service}' is outside it");
        await Refused(approver.GetAsync($"/v1/environments/{environment}/flags/changes/{deletion}"), $"'{service}' is outside it");
        Assert.DoesNotContain(deletion, (await approver.GetAsync($"/v1/environments/{environment}/flags/changes").Expect(HttpStatusCode.OK)).ToJsonString(), StringComparison.Ordinal);

        var change = await _admin.GetAsync($"/v1/environments/{environment}/flags/changes/{deletion}").Expect(HttpStatusCode.OK);
        Assert.Equal("pending", (string?)change["state"]);
        Assert.Empty(change["votes"]!.AsArray());
        Assert.Contains((await _admin.GetAsync($"/v1/environments/{environment}/flags").Expect(HttpStatusCode.OK))["flags"]!.AsArray(), f => (string?)f!["key"] == "theirs");
    }
}
