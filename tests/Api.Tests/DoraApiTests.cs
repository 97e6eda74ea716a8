using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// DORA from real rollouts: three releases of one service go to a production-tier environment of simulated hosts
/// (one rolls back on its own), an incident names the last one, and the four keys, the team view and the Prometheus
/// series say what happened.
/// </summary>
[Collection(EngineCollection.Name)]
public class DoraApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    private async Task<string> Production()
    {
        var name = TestHttp.Unique("prod");
        await _operator.PutAsync($"/v1/environments/{name}/declaration",
            new StringContent("""{"tier":"production"}""", System.Text.Encoding.UTF8, "application/json")).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = 3,
            stepLatencyMs = 5,
            currentArtifact = TestHttp.Digest("1.0.0"),
            currentVersion = "1.0.0",
            failureProbability = new Dictionary<string, double> { ["1.2.0"] = 1.0 },
        }).Expect(HttpStatusCode.Created);
        return name;
    }

    /// <summary>Submits, approves and rolls out a release into production; returns the rollout's final view.</summary>
    private async Task<JsonNode> Deploy(string service, string environment, string version, DateTimeOffset? commitTime, string status)
    {
        var change = TestHttp.Unique("chg");
        await _approver.PostJson("/v1/change-records", new { id = change, title = $"{service} {version}", state = "approved", service, end = DateTimeOffset.UtcNow.AddDays(1) }).Expect(HttpStatusCode.Created);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new
        {
            service, version, artifact = TestHttp.Digest(version), commit = "c0ffee", changeRecord = change, commitTime,
        }).Expect(HttpStatusCode.Created))["id"]!;
        await _approver.PostJson($"/v1/releases/{release}/approvals", new { environment, decision = "approve" }).Expect(HttpStatusCode.OK);
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release, environment, strategy = new { maxSurge = "0", maxUnavailable = "1", maxFailures = "0" },
        }).Expect(HttpStatusCode.Created))["id"]!;
        return await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == status, TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task The_four_keys_count_what_the_rollouts_and_incidents_did()
    {
        var service = TestHttp.Unique("dora");
        var team = TestHttp.Unique("team");
        var production = await Production();
        var owner = await _operator.PutJson($"/v1/services/{service}/owner", new { team }).Expect(HttpStatusCode.OK);
        Assert.Equal(team, (string?)owner["team"]);

        var now = DateTimeOffset.UtcNow;
        await Deploy(service, production, "1.1.0", now.AddHours(-2), "Succeeded");
        await Deploy(service, production, "1.2.0", now.AddHours(-1), "RolledBack");       // every host fails 1.2.0
        var third = await Deploy(service, production, "1.3.0", now.AddMinutes(-30), "Succeeded");

        var incident = TestHttp.Unique("inc");
        await _operator.PostJson("/v1/incidents", new { id = incident, scope = new { service, environment = production }, title = "checkout errors", release = (string)third["releaseId"]! })
            .Expect(HttpStatusCode.Created);
        await _operator.PostJson($"/v1/incidents/{incident}/resolve", new { reason = "feature flag off" }).Expect(HttpStatusCode.OK);

        // The ledger is fed by the event stream: wait until the incident's resolution has reached it.
        var dora = await _viewer.WaitFor($"/v1/metrics/dora?service={service}",
            d => (int)d["timeToRestore"]!["samples"]! == 2 && (int)d["changeFailureRate"]!["deployments"]! == 3, TimeSpan.FromSeconds(30));

        Assert.Equal("DORA 2023 Accelerate State of DevOps", (string?)dora["report"]);
        Assert.Equal([production], dora["environments"]!.AsArray().Select(e => (string)e!));
        var frequency = dora["deploymentFrequency"]!;
        Assert.Equal(2, (int)frequency["deployments"]!);
        Assert.Equal(1, (int)frequency["daysWithDeployment"]!);
        Assert.Equal(31, frequency["daily"]!.AsArray().Count);                     // 30 days span 31 UTC dates
        Assert.Equal(2, frequency["daily"]!.AsArray().Sum(d => (int)d!["deployments"]!));
        Assert.Equal("medium", (string?)frequency["tier"]);                        // 2 in 30 days = 0.067 a day: under once a week

        // Lead times ≈ 2 h and 30 min (plus the seconds each rollout took): the median is their mean, ≈ 75 min.
        var lead = dora["leadTime"]!;
        Assert.Equal((2, 0), ((int)lead["samples"]!, (int)lead["withoutCommitTime"]!));
        Assert.InRange((double)lead["medianSeconds"]!, 75 * 60, 80 * 60);
        Assert.Equal("elite", (string?)lead["tier"]);

        // 1.2.0 rolled back and 1.3.0 caused an incident: 2 of 3 production changes failed.
        var failure = dora["changeFailureRate"]!;
        Assert.Equal((3, 2, 1, 0, 1), ((int)failure["deployments"]!, (int)failure["failures"]!, (int)failure["rolledBack"]!, (int)failure["failed"]!, (int)failure["incidentLinked"]!));
        Assert.Equal(0.6667, (double)failure["rate"]!);
        Assert.Equal("low", (string?)failure["tier"]);

        // Restored: the incident (declared → resolved) and 1.2.0 (its start → 1.3.0 succeeded), both within a minute or two.
        var restore = dora["timeToRestore"]!;
        Assert.Equal((1, 1, 0), ((int)restore["incidents"]!, (int)restore["failedDeployments"]!, (int)restore["unrestored"]!));
        Assert.InRange((double)restore["medianSeconds"]!, 0, 120);
        Assert.Equal("elite", (string?)restore["tier"]);
        Assert.Equal("low", (string?)dora["tier"]);

        // The same figures for the team; none for another environment or a team that owns nothing.
        var byTeam = await _viewer.GetAsync($"/v1/metrics/dora?team={team}&window=7d").Expect(HttpStatusCode.OK);
        Assert.Equal([service], byTeam["services"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(2, (int)byTeam["deploymentFrequency"]!["deployments"]!);
        Assert.Equal(0.6667, (double)byTeam["changeFailureRate"]!["rate"]!);
        var elsewhere = await _viewer.GetAsync($"/v1/metrics/dora?service={service}&environment=nowhere-env").Expect(HttpStatusCode.OK);
        Assert.Equal(0, (int)elsewhere["changeFailureRate"]!["deployments"]!);
        Assert.Null(elsewhere["tier"]);
        var nobody = await _viewer.GetAsync($"/v1/metrics/dora?team={TestHttp.Unique("team")}").Expect(HttpStatusCode.OK);
        Assert.Empty(nobody["services"]!.AsArray());

        // And on /metrics, per service and environment, once the gauges have refreshed with the last records.
        var rate = await WaitForScrape(line => line.StartsWith("deploy_engine_dora_change_failure_rate", StringComparison.Ordinal)
            && line.Contains($"service=\"{service}\"", StringComparison.Ordinal) && line.EndsWith(" 0.6667", StringComparison.Ordinal));
        Assert.Contains($"environment=\"{production}\"", rate);
        Assert.Contains($"team=\"{team}\"", rate);
        var scrape = await engine.CreateClient().GetStringAsync("/metrics");
        var series = scrape.Split('\n').Where(l => l.Contains($"service=\"{service}\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(series, l => l.StartsWith("deploy_engine_dora_deployments{", StringComparison.Ordinal) && l.EndsWith(" 2", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("deploy_engine_dora_tier{", StringComparison.Ordinal) && l.Contains("tier=\"low\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("deploy_engine_dora_lead_time_median_seconds{", StringComparison.Ordinal));
    }

    private async Task<string> WaitForScrape(Func<string, bool> match)
    {
        var client = engine.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var text = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            text = await client.GetStringAsync("/metrics");
            if (text.Split('\n').FirstOrDefault(match) is { } line) return line.Trim();
            await Task.Delay(250);
        }

        Assert.Fail("no such series on /metrics; deploy_engine_dora lines: " + string.Join(" | ", text.Split('\n').Where(l => l.Contains("dora", StringComparison.Ordinal)).Take(10)));
        return string.Empty;
    }

    [Fact]
    public async Task Bad_queries_are_400_and_an_environment_bound_key_reads_only_its_environments()
    {
        var problem = await _viewer.GetAsync("/v1/metrics/dora?window=0d&service=Not_A_Label&team=a%20b").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal(["service", "team", "window"], problem["errors"]!.AsObject().Select(e => e.Key).Order());
        await _viewer.GetAsync("/v1/metrics/dora?window=401d").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _viewer.GetAsync("/v1/metrics/dora?window=30m").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await engine.As(AgentKey).GetAsync("/v1/metrics/dora").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await engine.CreateClient().GetAsync("/v1/metrics/dora").ExpectProblem(HttpStatusCode.Unauthorized, Problems.UnauthorizedType);

        await _operator.PutJson("/v1/services/shop/owner", new { team = "no spaces" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _viewer.PutJson("/v1/services/shop/owner", new { team = "x" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await _operator.PostJson("/v1/incidents", new { scope = new { all = true }, title = "x", release = "rel-does-not-exist" })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _pipeline.PostJson("/v1/releases", new { service = "shop", version = "9.9.9", artifact = TestHttp.Digest("9.9.9"), commitTime = DateTimeOffset.UtcNow.AddDays(1) })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);

        var ok = await _viewer.GetAsync("/v1/metrics/dora?window=12h").Expect(HttpStatusCode.OK);
        Assert.Equal("12h", (string?)ok["window"]);

        var scoped = engine.As(ScopedViewerKey);
        var problem403 = await scoped.GetAsync("/v1/metrics/dora?environment=production").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains(ScopedEnvironment, (string?)problem403["detail"]);
        var own = await scoped.GetAsync($"/v1/metrics/dora?environment={ScopedEnvironment}").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopedEnvironment], own["environments"]!.AsArray().Select(e => (string)e!));
        // Unfiltered, it sees production environments only where it is bound: none of them.
        Assert.Empty((await scoped.GetAsync("/v1/metrics/dora").Expect(HttpStatusCode.OK))["environments"]!.AsArray());
    }

    [Fact]
    public async Task A_rollouts_timing_and_the_bottlenecks_say_where_lead_time_went_and_which_gate_flips()
    {
        var service = TestHttp.Unique("slow");
        var production = await Production();
        var change = TestHttp.Unique("chg");
        await _approver.PostJson("/v1/change-records", new { id = change, title = "slow 2.0.0", state = "approved", service, end = DateTimeOffset.UtcNow.AddDays(1) }).Expect(HttpStatusCode.Created);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new
        {
            service, version = "2.0.0", artifact = TestHttp.Digest("2.0.0"), changeRecord = change, commitTime = DateTimeOffset.UtcNow.AddHours(-1),
        }).Expect(HttpStatusCode.Created))["id"]!;

        // A performance gate that fails, then passes twice on retries of the same release: one flip in two retries.
        foreach (var status in new[] { "failed", "passed", "passed" })
        {
            await _pipeline.PostJson($"/v1/releases/{release}/gates", new { environment = production, gate = "perf", status }).Expect(HttpStatusCode.OK);
        }

        // Submitted before anyone approved: it waits for the approval, then for an operator to promote the canary.
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new
        {
            releaseId = release, environment = production,
            strategy = new { type = "canary", steps = new object[] { new { setWeight = 50 }, new { pause = new { } } } },
        }).Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "AwaitingApproval");
        await Task.Delay(1500);
        await _approver.PostJson($"/v1/releases/{release}/approvals", new { environment = production, decision = "approve" }).Expect(HttpStatusCode.OK);
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Paused", TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        await _operator.PostJson($"/v1/rollouts/{rollout}/promote", new { reason = "canary looks fine" }).Expect(HttpStatusCode.OK);
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded", TimeSpan.FromSeconds(60));

        var timing = await _viewer.GetAsync($"/v1/rollouts/{rollout}/timing").Expect(HttpStatusCode.OK);
        var waits = timing["waits"]!;
        Assert.InRange((double)waits["approvals"]!, 1.4, 30);
        Assert.InRange((double)waits["promotions"]!, 1.4, 30);
        Assert.True((double)waits["hosts"]! > 0);
        Assert.Equal(0, (double)waits["freezes"]!);
        Assert.Equal((double)timing["totalSeconds"]!, waits.AsObject().Sum(w => (double)w.Value!), 2);
        Assert.InRange((double)timing["commitToReleaseSeconds"]!, 3590, 3700);
        var kinds = timing["segments"]!.AsArray().Select(x => (string)x!["kind"]!).ToList();
        Assert.Equal("queued", kinds[0]);
        Assert.True(kinds.IndexOf("approvals") < kinds.IndexOf("promotions"), string.Join(",", kinds));

        var bottlenecks = await _viewer.WaitFor($"/v1/metrics/bottlenecks?service={service}",
            b => (int)b["deployments"]! == 1 && b["gates"]!.AsArray().Count == 1 && (int)b["gates"]![0]!["runs"]! == 3, TimeSpan.FromSeconds(30));
        Assert.Equal([production], bottlenecks["environments"]!.AsArray().Select(e => (string)e!));
        Assert.Equal("commitToRelease", (string?)bottlenecks["largest"]);            // an hour before the release, seconds after
        var stages = bottlenecks["stages"]!.AsArray().ToDictionary(x => (string)x!["stage"]!, x => x!);
        Assert.InRange((double)stages["approvals"]["totalSeconds"]!, 1.4, 30);
        Assert.InRange((double)stages["promotions"]["totalSeconds"]!, 1.4, 30);
        Assert.InRange((double)stages["commitToRelease"]["share"]!, 0.9, 1.0);
        Assert.Equal(1.0, stages.Values.Sum(x => (double)x["share"]!), 2);
        var perf = bottlenecks["gates"]![0]!;
        Assert.Equal(("perf", 3, 2, 1, 2, 1, 0.5), ((string)perf["gate"]!, (int)perf["runs"]!, (int)perf["passed"]!, (int)perf["failed"]!,
            (int)perf["retries"]!, (int)perf["flips"]!, (double)perf["flakiness"]!));
        Assert.Equal(["passed", "passed", "failed"], perf["history"]!.AsArray().Select(h => (string)h!["status"]!));

        // An environment-bound key reads neither this rollout's timing nor this environment's bottlenecks.
        var scoped = engine.As(ScopedViewerKey);
        await scoped.GetAsync($"/v1/rollouts/{rollout}/timing").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await scoped.GetAsync($"/v1/metrics/bottlenecks?environment={production}").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await _viewer.GetAsync("/v1/rollouts/rel-nope.nowhere/timing").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _viewer.GetAsync("/v1/metrics/bottlenecks?window=forever").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
    }
}
