using System.Net;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Its own engine: adopting a checklist item changes the readiness checklist of every release, which the other
/// collections' governance tests read.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostmortemCollection : ICollectionFixture<EngineFactory>
{
    public const string Name = "postmortems";
}

/// <summary>
/// Blameless post-mortems over HTTP: two rollouts roll back and open reviews; filing them links an incident and a
/// rollout, names contributing factors and owned action items; the timeline comes from the audit trail; a factor
/// named by both reviews is proposed as a checklist item, an approver adopts it (audited) and readiness then asks for it.
/// </summary>
[Collection(PostmortemCollection.Name)]
public class PostmortemApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    private async Task<(string Release, string Rollout)> FailingRollout(string service, string environment, string version)
    {
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service, version, artifact = TestHttp.Digest(version) })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment, strategy = new { maxFailures = "0" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "RolledBack", TimeSpan.FromSeconds(60));
        return (release, rollout);
    }

    [Fact]
    public async Task Reviews_link_incidents_and_rollouts_draw_a_timeline_and_recurring_factors_become_an_adopted_checklist_item()
    {
        var service = TestHttp.Unique("pm");
        var environment = TestHttp.Unique("env");
        await _operator.PutJson($"/v1/environments/{environment}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{environment}/simulated-hosts", new
        {
            count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
            failureProbability = new Dictionary<string, double> { ["6.6.6"] = 1.0, ["6.6.7"] = 1.0 },
        }).Expect(HttpStatusCode.Created);
        var first = await FailingRollout(service, environment, "6.6.6");
        var second = await FailingRollout(service, environment, "6.6.7");
        var reviews = await _viewer.WaitFor($"/v1/reviews?service={service}", r => r.AsArray().Count == 2);
        var review1 = "pir-" + first.Rollout;
        var review2 = "pir-" + second.Rollout;
        Assert.Equal(new[] { review1, review2 }.Order(StringComparer.Ordinal), reviews.AsArray().Select(r => (string)r!["id"]!).Order(StringComparer.Ordinal));

        var incident = TestHttp.Unique("inc");
        await _operator.PostJson("/v1/incidents", new { id = incident, scope = new { service, environment }, title = "checkout 500s" }).Expect(HttpStatusCode.Created);
        await _operator.PostJson($"/v1/incidents/{incident}/resolve", new { reason = "rolled back" }).Expect(HttpStatusCode.OK);

        var drift = "drift " + Guid.NewGuid().ToString("n")[..6];
        var driftItem = drift.Replace(' ', '-');
        var lonely = "lonely_" + Guid.NewGuid().ToString("n")[..6];

        // Refused, and nothing changes: a factor that is no label, an incident that does not exist.
        var refused = await _operator.PostJson($"/v1/reviews/{review1}", new
        {
            findings = "x", rootCause = "y", contributingFactors = new[] { "drift!" }, incidents = new[] { "inc-nope" }, actionItems = new[] { new { title = "t" } },
        }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal(["actionItems[0].owner", "contributingFactors"], refused["errors"]!.AsObject().Select(e => e.Key).Order());
        await _operator.PostJson($"/v1/reviews/{review1}", new { findings = "x", rootCause = "y", actions = new[] { "a" }, incidents = new[] { "inc-nope" } })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);

        var filed = await _operator.PostJson($"/v1/reviews/{review1}", new
        {
            findings = "the new build read a stale configuration",
            rootCause = "configuration drifted between staging and this environment",
            contributingFactors = new[] { drift.ToUpperInvariant(), lonely },
            actionItems = new[] { new { title = "check configuration parity before rollout", owner = "team-platform" } },
            incidents = new[] { incident },
            rollouts = new[] { second.Rollout },
        }).Expect(HttpStatusCode.OK);
        Assert.Equal([driftItem, lonely.Replace('_', '-')], filed["contributingFactors"]!.AsArray().Select(f => (string)f!));
        var item = filed["actionItems"]![0]!;
        Assert.Equal((1, "team-platform", "open"), ((int)item["number"]!, (string)item["owner"]!, (string)item["status"]!));
        await _approver.PostJson($"/v1/reviews/{review2}", new
        {
            findings = "same drift, other version", rootCause = "configuration drift", actions = new[] { "automate the parity check" },
            contributingFactors = new[] { drift.Replace(' ', '_') },
        }).Expect(HttpStatusCode.OK);

        // Action items: owners close them; the change is audited.
        var done = await _operator.PostJson($"/v1/reviews/{review1}/actions/1", new { status = "done" }).Expect(HttpStatusCode.OK);
        Assert.Equal(("done", "alice"), ((string)done["actionItems"]![0]!["status"]!, (string)done["actionItems"]![0]!["updatedBy"]!));
        await _operator.PostJson($"/v1/reviews/{review1}/actions/1", new { status = "maybe" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _operator.PostJson($"/v1/reviews/{review1}/actions/9", new { status = "done" }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);

        // The timeline: the audit entries of both releases and of the incident, oldest first.
        // The trail is written from the event streams, each in its own order: wait for the last of each kind to land.
        var view = await _viewer.WaitFor($"/v1/reviews/{review1}", v => v["timeline"]!.AsArray() is var entries
            && entries.Any(e => ((string)e!["action"]!).EndsWith("incident.resolved", StringComparison.Ordinal))
            && entries.Any(e => ((string)e!["action"]!).EndsWith("service.rolledback.0.2.0", StringComparison.Ordinal))
            && entries.Count(e => ((string)e!["action"]!).EndsWith("release.submitted", StringComparison.Ordinal)) >= 2);
        var timeline = view["timeline"]!.AsArray().Select(e => e!).ToList();
        Assert.Equal(timeline.Select(e => (DateTimeOffset)e["at"]!).Order(), timeline.Select(e => (DateTimeOffset)e["at"]!));
        Assert.Contains(timeline, e => ((string)e["action"]!).EndsWith("release.submitted", StringComparison.Ordinal) && (string?)e["subject"] == $"release/{first.Release}");
        Assert.Contains(timeline, e => ((string)e["action"]!).EndsWith("release.submitted", StringComparison.Ordinal) && (string?)e["subject"] == $"release/{second.Release}");
        Assert.Contains(timeline, e => ((string)e["action"]!).EndsWith("service.rolledback.0.2.0", StringComparison.Ordinal));
        Assert.Contains(timeline, e => ((string)e["action"]!).EndsWith("incident.resolved", StringComparison.Ordinal));
        Assert.Equal(incident, (string?)view["review"]!["incidents"]![0]);

        // Recurring factors: the drift is named by both reviews, so it is proposed; the lonely one is not.
        var learnings = await _viewer.GetAsync("/v1/reviews/factors").Expect(HttpStatusCode.OK);
        var factor = learnings["factors"]!.AsArray().Single(f => (string?)f!["factor"] == driftItem)!;
        Assert.Equal(2, (int)factor["count"]!);
        Assert.Equal(new[] { review1, review2 }.Order(StringComparer.Ordinal), factor["reviews"]!.AsArray().Select(r => (string)r!).Order(StringComparer.Ordinal));
        var proposal = learnings["proposals"]!.AsArray().Single(p => (string?)p!["item"] == driftItem)!;
        Assert.Equal("proposed", (string?)proposal["status"]);
        Assert.DoesNotContain(learnings["proposals"]!.AsArray(), p => ((string?)p!["item"])!.StartsWith("lonely", StringComparison.Ordinal));

        // Only an approver decides; a factor not proposed cannot be adopted; a decision stands.
        await _operator.PostJson($"/v1/reviews/proposals/{driftItem}", new { decision = "adopt" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await _approver.PostJson($"/v1/reviews/proposals/{lonely.Replace('_', '-')}", new { decision = "adopt" }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _approver.PostJson($"/v1/reviews/proposals/{driftItem}", new { decision = "keep" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        var adopted = await _approver.PostJson($"/v1/reviews/proposals/{driftItem}", new { decision = "adopt", reason = "two outages from the same drift" }).Expect(HttpStatusCode.OK);
        Assert.Equal(("adopted", "carol"), ((string)adopted["decision"]!, (string)adopted["decidedBy"]!));
        await _approver.PostJson($"/v1/reviews/proposals/{driftItem}", new { decision = "dismiss" }).ExpectProblem(HttpStatusCode.Conflict, Problems.InvalidTransitionType);

        // The readiness checklist now asks for it, and a release can be signed off against it.
        var after = await _viewer.GetAsync("/v1/reviews/factors").Expect(HttpStatusCode.OK);
        Assert.Equal("adopted", (string?)after["proposals"]!.AsArray().Single(p => (string?)p!["item"] == driftItem)!["status"]);
        Assert.Equal(["operations", "security", "business", driftItem], after["readinessChecklist"]!.AsArray().Select(i => (string)i!));
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service, version = "7.0.0", artifact = TestHttp.Digest("7.0.0") }).Expect(HttpStatusCode.Created))["id"]!;
        await _approver.PostJson($"/v1/releases/{release}/readiness", new { item = driftItem, note = "parity checked" }).Expect(HttpStatusCode.OK);

        // Audited: who adopted it, and why.
        var trail = await _viewer.WaitFor("/v1/audit?principal=carol&limit=1000",
            p => p["items"]!.AsArray().Any(e => ((string?)e!["action"])!.EndsWith("checklist.item-adopted", StringComparison.Ordinal)));
        var entry = trail["items"]!.AsArray().Single(e => ((string?)e!["action"])!.EndsWith("checklist.item-adopted", StringComparison.Ordinal))!;
        Assert.Equal($"checklist/{driftItem}", (string?)entry["subject"]);
        Assert.Contains("two outages from the same drift", (string?)entry["reason"]);
    }
}
