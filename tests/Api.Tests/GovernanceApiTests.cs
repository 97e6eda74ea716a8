using System.Net;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Approvals, readiness, the governance view, change records and reviews over HTTP: status codes and problems.</summary>
[Collection(EngineCollection.Name)]
public class GovernanceApiTests(EngineFactory engine)
{
    private readonly HttpClient _dana = engine.As(PipelineApproverKey);
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);

    private async Task<string> Release(HttpClient client, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["service"] = "web", ["version"] = "2.0.0", ["artifact"] = TestHttp.Digest("2.0.0"),
            ["class"] = "major", ["changeRecord"] = "CHG-77",
            ["risk"] = new { customerFacing = true, visibility = "high", schemaChange = "breaking", dataMigration = true },
            ["knownIssues"] = new[] { new { issue = "search is slow for a minute after start", workaround = "retry" } },
        };
        return (string)(await client.PostJson("/v1/releases", body).Expect(HttpStatusCode.Created))["id"]!;
    }

    [Fact]
    public async Task A_release_carries_class_risk_change_record_and_known_issues_and_the_governance_view_explains_them()
    {
        var id = await Release(_pipeline);
        var release = await _pipeline.GetAsync($"/v1/releases/{id}").Expect(HttpStatusCode.OK);
        Assert.Equal("major", (string)release["class"]!);
        Assert.Equal("breaking", (string)release["risk"]!["schemaChange"]!);
        Assert.Equal("CHG-77", (string)release["changeRecord"]!);
        Assert.Equal("retry", (string)release["knownIssues"]![0]!["workaround"]!);

        var view = await _approver.GetAsync($"/v1/releases/{id}/governance?environment=prod").Expect(HttpStatusCode.OK);
        Assert.Equal("critical", (string)view["risk"]!);
        Assert.Equal("approval,change-record,readiness-review,pir-clear", string.Join(",", view["requiredGates"]!.AsArray().Select(g => (string)g!)));
        Assert.Equal("2 approvals from groups cab or executive, including one from group executive", (string)view["approvers"]!);
        Assert.Equal("unknown", (string)view["changeRecordState"]!);
        var blocking = view["blocking"]!.AsArray().Select(b => (string)b!).ToList();
        Assert.Contains(blocking, b => b.StartsWith("approval: needs 2 more approvals", StringComparison.Ordinal));
        Assert.Contains(blocking, b => b.StartsWith("readiness-review: readiness review incomplete: no sign-off yet for operations, security, business", StringComparison.Ordinal));
        Assert.Contains(blocking, b => b.StartsWith("change-record: change record CHG-77 is unknown", StringComparison.Ordinal));

        await _approver.GetAsync($"/v1/releases/{id}/governance").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _approver.GetAsync("/v1/releases/rel-nope/governance?environment=prod").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }

    [Fact]
    public async Task The_submitter_cannot_approve_their_own_release()
    {
        var id = await Release(_dana);

        var problem = await _dana.PostJson($"/v1/releases/{id}/approvals", new { environment = "prod", decision = "approve" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Contains("'dana' submitted release", (string)problem["detail"]!);
        Assert.Contains("no self-approval", (string)problem["detail"]!);

        var view = await _approver.PostJson($"/v1/releases/{id}/approvals", new { environment = "prod", decision = "approve", reason = "plan reviewed" })
            .Expect(HttpStatusCode.OK);
        Assert.Equal("carol", (string)view["approvedBy"]![0]!);
    }

    [Fact]
    public async Task Only_approvers_approve_or_sign_off()
    {
        var id = await Release(_pipeline);
        foreach (var client in new[] { _pipeline, _operator, engine.As(ViewerKey) })
        {
            await client.PostJson($"/v1/releases/{id}/approvals", new { environment = "prod", decision = "approve" })
                .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
            await client.PostJson($"/v1/releases/{id}/readiness", new { item = "security" })
                .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        }
    }

    [Fact]
    public async Task Bad_approvals_sign_offs_and_releases_are_validation_problems_naming_the_field()
    {
        var id = await Release(_pipeline);
        var bad = await _approver.PostJson($"/v1/releases/{id}/approvals", new { environment = "Prod!", decision = "maybe" })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(bad["errors"]!["environment"]);
        Assert.NotNull(bad["errors"]!["decision"]);
        var noReason = await _approver.PostJson($"/v1/releases/{id}/approvals", new { environment = "prod", decision = "reject" })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(noReason["errors"]!["reason"]);
        var item = await _approver.PostJson($"/v1/releases/{id}/readiness", new { item = "astrology" })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Contains("operations, security, business", (string)item["errors"]!["item"]![0]!);
        await _approver.PostJson("/v1/releases/rel-nope/approvals", new { environment = "prod", decision = "approve" })
            .ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);

        var signed = await _approver.PostJson($"/v1/releases/{id}/readiness", new { item = "security", signedOffBy = "sec-team", note = "pen test done" })
            .Expect(HttpStatusCode.OK);
        Assert.Equal("sec-team", (string)signed["readiness"]![0]!["signedOffBy"]!);

        var release = await _pipeline.PostJson("/v1/releases", new
        {
            service = "web", version = "1.0.0", artifact = TestHttp.Digest("1"), @class = "huge",
            risk = new { visibility = "loud", schemaChange = "sideways" }, changeRecord = "CHG/1",
        }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        foreach (var field in new[] { "class", "risk.visibility", "risk.schemaChange", "changeRecord" })
        {
            Assert.NotNull(release["errors"]![field]);
        }
    }

    [Fact]
    public async Task Change_records_of_the_built_in_store_are_kept_by_the_change_authority_alone_and_bound_to_a_service_and_window()
    {
        var id = TestHttp.Unique("CHG");
        var end = DateTimeOffset.UtcNow.AddDays(1);
        var created = await _approver.PostJson("/v1/change-records", new { id, title = "Upgrade web", state = "pending", service = "web", end }).Expect(HttpStatusCode.Created);
        Assert.Equal("pending", (string)created["state"]!);
        Assert.Equal("web", (string)created["service"]!);
        await _approver.PostJson("/v1/change-records", new { id, title = "again", state = "pending", service = "web", end }).ExpectProblem(HttpStatusCode.Conflict, Problems.ConflictType);

        // Neither the pipeline nor an operator creates or approves a record for its own change.
        foreach (var client in new[] { _pipeline, _operator })
        {
            await client.PostJson("/v1/change-records", new { id = id + "x", state = "approved", service = "web", end }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
            await client.PutJson($"/v1/change-records/{id}/state", new { state = "approved" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        }

        var approved = await _approver.PutJson($"/v1/change-records/{id}/state", new { state = "approved", reason = "CAB 12 May" }).Expect(HttpStatusCode.OK);
        Assert.Equal("carol", (string)approved["updatedBy"]!);
        Assert.Equal("carol", (string)approved["approvedBy"]!);
        Assert.Equal("approved", (string)(await _pipeline.GetAsync($"/v1/change-records/{id}").Expect(HttpStatusCode.OK))["state"]!);

        var unbound = await _approver.PostJson("/v1/change-records", new { id = id + "u", state = "approved", start = end, end = end.AddDays(-1) })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal(["end", "service"], unbound["errors"]!.AsObject().Select(e => e.Key).Order());
        await _approver.PostJson("/v1/change-records", new { id = id + "l", state = "approved", service = "web", end = DateTimeOffset.UtcNow.AddDays(31) })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _approver.PutJson($"/v1/change-records/{id}/state", new { state = "done" }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await _approver.PutJson("/v1/change-records/CHG-none/state", new { state = "approved" }).ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _operator.GetAsync("/v1/change-records/CHG-none").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }

    [Fact]
    public async Task A_key_that_submitted_the_release_a_record_names_cannot_approve_the_record()
    {
        var release = await Release(_dana);
        var id = TestHttp.Unique("CHG");
        var refused = await _dana.PostJson("/v1/change-records", new { id, state = "approved", service = "web", release, end = DateTimeOffset.UtcNow.AddDays(1) })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Contains($"'dana' submitted release {release} and cannot approve it", (string?)refused["detail"]);
        await _dana.GetAsync($"/v1/change-records/{id}").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);

        await _dana.PostJson("/v1/change-records", new { id, state = "pending", service = "web", release, end = DateTimeOffset.UtcNow.AddDays(1) }).Expect(HttpStatusCode.Created);
        await _dana.PutJson($"/v1/change-records/{id}/state", new { state = "approved" }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        await _approver.PutJson($"/v1/change-records/{id}/state", new { state = "approved" }).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Reviews_are_listed_per_service_and_filing_is_validated()
    {
        Assert.Empty((await _pipeline.GetAsync($"/v1/reviews?service={TestHttp.Unique("svc")}").Expect(HttpStatusCode.OK)).AsArray());
        await _pipeline.GetAsync("/v1/reviews").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        var bad = await _operator.PostJson("/v1/reviews/pir-rel-x.prod", new { findings = "", actions = Array.Empty<string>() })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(bad["errors"]!["rootCause"]);
        Assert.NotNull(bad["errors"]!["actions"]);
        await _operator.PostJson("/v1/reviews/pir-rel-x.prod", new { findings = "f", rootCause = "r", actions = new[] { "a" } })
            .ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _pipeline.PostJson("/v1/reviews/pir-rel-x.prod", new { findings = "f", rootCause = "r", actions = new[] { "a" } })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
    }
}
