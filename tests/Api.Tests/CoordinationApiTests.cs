using System.Net;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

[Collection(EngineCollection.Name)]
public class CoordinationApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);
    private readonly HttpClient _executive = engine.As(AdminKey);

    private async Task<string> Environment(string prefix, int hosts = 2)
    {
        var env = TestHttp.Unique(prefix);
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count = hosts, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return env;
    }

    private async Task<string> Release(string service, string version) =>
        (string)(await _pipeline.PostJson("/v1/releases", new { service, version, artifact = TestHttp.Digest(version) }).Expect(HttpStatusCode.Created))["id"]!;

    [Fact]
    public async Task A_calendar_is_validated_field_by_field_and_the_view_shows_windows_freezes_and_what_rollouts_wait_on()
    {
        var env = await Environment("cal");
        var bad = await _operator.PutJson($"/v1/environments/{env}/calendar", new
        {
            windows = new object[] { new { name = "w", cron = "0 9 * *", duration = "08:00:00", timeZone = "Europe/London" } },
            freezes = new object[] { new { name = "f", start = "2026-11-26T00:00:00", end = "2026-11-30T00:00:00Z" }, new { name = "w", start = "2026-11-26T00:00:00Z", end = "2026-11-25T00:00:00Z" } },
            outsideWindow = "maybe",
        }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        var fields = bad["errors"]!.AsObject().Select(kv => kv.Key).Order().ToList();
        Assert.Equal(["freezes[0].start", "outsideWindow"], fields);
        var domain = await _operator.PutJson($"/v1/environments/{env}/calendar", new
        {
            windows = new object[] { new { name = "w", cron = "0 9 * *", duration = "08:00:00", timeZone = "Mars/Base" } },
            freezes = new object[] { new { name = "w", start = "2026-11-26T00:00:00Z", end = "2026-11-25T00:00:00Z" } },
        }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal(["freezes[0].end", "freezes[0].name", "windows[0].cron", "windows[0].timeZone"], domain["errors"]!.AsObject().Select(kv => kv.Key).Order().ToList());

        await _operator.PutJson("/v1/environments/no-such-env/calendar", new { windows = Array.Empty<object>() }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _viewer.PutJson($"/v1/environments/{env}/calendar", new { windows = Array.Empty<object>() }).Expect(HttpStatusCode.Forbidden);

        // A window on 1 January only: a rollout now waits, and the view says on what.
        var now = DateTimeOffset.UtcNow;
        await _operator.PutJson($"/v1/environments/{env}/calendar", new
        {
            windows = new object[] { new { name = "new-year", cron = "0 0 1 1 *", duration = "01:00:00", timeZone = "Europe/London" } },
            freezes = new object[] { new { name = "peak", start = now.AddDays(2).ToString("O"), end = now.AddDays(3).ToString("O") } },
        }).Expect(HttpStatusCode.OK);
        var release = await Release("shop", "2.0.0");
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;

        var view = await _viewer.WaitFor($"/v1/environments/{env}/calendar?days=14", v => v["rollouts"]!.AsArray().Any(r => (string?)r!["id"] == rollout));
        Assert.False((bool)view["current"]!["open"]!);
        Assert.Equal("OutsideWindow", (string?)view["current"]!["state"]);
        Assert.Contains(view["upcoming"]!.AsArray(), o => (string?)o!["name"] == "peak" && (string?)o["kind"] == "freeze");
        var scheduled = Assert.Single(view["rollouts"]!.AsArray(), r => (string?)r!["id"] == rollout)!;
        Assert.Equal("Queued", (string?)scheduled["status"]);
        Assert.Contains("outside deployment window 'new-year' (Europe/London); next opening", (string?)scheduled["waitsOn"]);

        await _viewer.GetAsync($"/v1/environments/{env}/calendar?days=0").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _viewer.GetAsync("/v1/environments/no-such-env/calendar").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }

    [Fact]
    public async Task Only_executives_grant_freeze_exceptions_and_the_exception_lets_the_release_through()
    {
        var env = await Environment("exc");
        var now = DateTimeOffset.UtcNow;
        await _operator.PutJson($"/v1/environments/{env}/calendar", new
        {
            freezes = new object[] { new { name = "peak", start = now.AddHours(-1).ToString("O"), end = now.AddDays(1).ToString("O") } },
        }).Expect(HttpStatusCode.OK);
        var release = await Release("shop", "2.0.0");
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;
        await _viewer.WaitFor($"/v1/rollouts/{rollout}", r => ((string?)r["heldBy"])?.Contains("freeze 'peak' until", StringComparison.Ordinal) == true);

        var body = new { release, freeze = "peak", until = now.AddHours(2).ToString("O"), reason = "fix for the pricing bug" };
        var refused = await _operator.PostJson($"/v1/environments/{env}/calendar/exceptions", body).ExpectProblem((HttpStatusCode)422, Problems.PolicyType);
        Assert.Contains("only executives", (string?)refused["detail"]);
        await _executive.PostJson($"/v1/environments/{env}/calendar/exceptions", body with { }).Expect(HttpStatusCode.Created);
        await _executive.PostJson($"/v1/environments/{env}/calendar/exceptions", new { release, freeze = "nope", until = now.AddHours(2).ToString("O"), reason = "x" })
            .ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _executive.PostJson($"/v1/environments/{env}/calendar/exceptions", new { release, freeze = "peak", until = now.AddDays(30).ToString("O"), reason = "x" })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);

        await _viewer.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        var view = await _viewer.GetAsync($"/v1/environments/{env}/calendar").Expect(HttpStatusCode.OK);
        var exception = Assert.Single(view["exceptions"]!.AsArray())!;
        Assert.Equal("admin", (string?)exception["grantedBy"]);
    }

    [Fact]
    public async Task Incidents_are_declared_resolved_and_fed_by_the_webhook_with_the_right_status_codes()
    {
        var env = await Environment("incapi");
        await _operator.PostJson("/v1/incidents", new { title = "x" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _operator.PostJson("/v1/incidents", new { scope = new { all = true, environment = env }, title = "x" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _viewer.PostJson("/v1/incidents", new { scope = new { environment = env }, title = "x" }).Expect(HttpStatusCode.Forbidden);

        var id = TestHttp.Unique("inc");
        var created = await _operator.PostJson("/v1/incidents", new { id, scope = new { environment = env }, title = "db failover", severity = "sev2" }).Expect(HttpStatusCode.Created);
        Assert.Equal("alice", (string?)created["declaredBy"]);
        await _operator.PostJson("/v1/incidents", new { id, scope = new { environment = env }, title = "db failover", severity = "sev2" }).Expect(HttpStatusCode.Created);
        var list = await _viewer.GetAsync("/v1/incidents").Expect(HttpStatusCode.OK);
        Assert.Contains(list["items"]!.AsArray(), i => (string?)i!["id"] == id);
        var view = await _viewer.GetAsync($"/v1/environments/{env}/calendar").Expect(HttpStatusCode.OK);
        Assert.Contains(view["incidents"]!.AsArray(), i => (string?)i!["id"] == id);

        await _operator.PostJson("/v1/incidents/no-such-incident/resolve", new { reason = "x" }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        var resolved = await _operator.PostJson($"/v1/incidents/{id}/resolve", new { reason = "failover done" }).Expect(HttpStatusCode.OK);
        Assert.NotNull((string?)resolved["resolvedAt"]);
        await _operator.PostJson("/v1/incidents", new { id, scope = new { environment = env }, title = "again" }).ExpectProblem(HttpStatusCode.Conflict, Problems.ConflictType);

        var hook = TestHttp.Unique("pd");
        await _operator.PostJson("/v1/incidents/webhook", new { @event = "exploded", incidentId = hook }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        var triggered = await _operator.PostJson("/v1/incidents/webhook", new { @event = "triggered", incidentId = hook, title = "5xx spike", severity = "critical", service = "shop" }).Expect(HttpStatusCode.OK);
        Assert.Equal("declared", (string?)triggered["outcome"]);
        Assert.Equal("webhook", (string?)triggered["incident"]!["source"]);
        var done = await _operator.PostJson("/v1/incidents/webhook", new { @event = "resolved", incidentId = hook }).Expect(HttpStatusCode.OK);
        Assert.Equal("resolved", (string?)done["outcome"]);
        var unknown = await _operator.PostJson("/v1/incidents/webhook", new { @event = "resolved", incidentId = TestHttp.Unique("pd") }).Expect(HttpStatusCode.OK);
        Assert.Equal("ignored", (string?)unknown["outcome"]);
    }

    [Fact]
    public async Task Dependencies_and_trains_are_validated()
    {
        var bad = await _pipeline.PutJson("/v1/services/shop/dependencies", new { dependsOn = new object[] { new { service = "payments", range = ">=banana" }, new { service = "shop", range = "*" } } })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal(["dependsOn[0].range", "dependsOn[1].service"], bad["errors"]!.AsObject().Select(kv => kv.Key).Order().ToList());
        var service = TestHttp.Unique("svc");
        var set = await _pipeline.PutJson($"/v1/services/{service}/dependencies", new { environment = "prod", dependsOn = new object[] { new { service = "payments", range = ">=2.1.0 <3.0.0" } } })
            .Expect(HttpStatusCode.OK);
        Assert.Equal(">=2.1.0 <3.0.0", (string?)set["byEnvironment"]!["prod"]![0]!["range"]);
        await _viewer.GetAsync($"/v1/services/{service}/dependencies").Expect(HttpStatusCode.OK);

        var env = await Environment("trainapi");
        await _pipeline.PostJson("/v1/trains", new { name = "t1", releases = Array.Empty<string>(), environment = env }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _pipeline.PostJson("/v1/trains", new { name = TestHttp.Unique("t"), releases = new[] { "no-such-release" }, environment = env }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        var a = await Release("alpha", "1.0.1");
        var b = await Release("alpha", "1.0.2");
        await _pipeline.PostJson("/v1/trains", new { name = TestHttp.Unique("t"), releases = new[] { a, b }, environment = env }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        var name = TestHttp.Unique("t");
        var train = await _pipeline.PostJson("/v1/trains", new { name, releases = new[] { a }, environment = env }).Expect(HttpStatusCode.Created);
        Assert.Equal("running", (string?)train["status"]);
        await _viewer.WaitFor($"/v1/trains/{name}", t => (string?)t["status"] == "succeeded");
        await _viewer.GetAsync("/v1/trains/no-such-train").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }
}
