using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Issue 14: "an operator refused in a production-tier environment redeclares it as development and deploys; a pipeline
/// refused by a promotion gate removes the gate from the declaration and deploys", and "a declaration PUT ignores
/// If-Match". Declarations carry ETags; those of production-tier and protected environments change only through a
/// declaration change that a change authority other than the proposer approves.
/// </summary>
[Collection(EngineCollection.Name)]
public class DeclarationChangeTests(EngineFactory engine)
{
    private const string PreconditionFailed = "urn:deploy-engine:problem:precondition-failed";
    private const string Forbidden = "urn:deploy-engine:problem:forbidden";
    private const string Policy = "urn:deploy-engine:problem:refused-by-policy";
    private const string Conflict = "urn:deploy-engine:problem:conflict";
    private const string InvalidTransition = "urn:deploy-engine:problem:invalid-transition";

    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);

    [Fact]
    public async Task A_declaration_has_an_ETag_a_stale_If_Match_is_412_with_nothing_written_and_If_None_Match_star_only_creates()
    {
        var name = TestHttp.Unique("etag");
        var created = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic","description":"first"}""", ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("\"1\"", created.Headers.ETag?.ToString());

        // Create-only: the second create is refused and the first stays.
        var again = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic","description":"second create"}""", ("If-None-Match", "*"));
        await Expect412(again);
        var get = await _operator.GetAsync($"/v1/environments/{name}/declaration");
        Assert.Equal("\"1\"", get.Headers.ETag?.ToString());
        Assert.Equal("first", (string?)(await get.Read())["declaration"]!["description"]);

        var updated = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic","description":"updated"}""", ("If-Match", "\"1\""));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("\"2\"", updated.Headers.ETag?.ToString());

        // A writer still holding version 1 loses: 412, and the declaration is still the one it did not see.
        var stale = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic","description":"lost update"}""", ("If-Match", "\"1\""));
        var problem = await Expect412(stale);
        Assert.Contains("version 2", (string?)problem["detail"], StringComparison.Ordinal);
        var after = await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK);
        Assert.Equal("updated", (string?)after["declaration"]!["description"]);
        Assert.Equal(2, (long)after["version"]!);

        // A weak tag never matches (strong comparison); * needs the declaration to exist; a malformed header is 400.
        await Expect412(await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic"}""", ("If-Match", "W/\"2\"")));
        await Expect412(await Put(_operator, TestHttp.Unique("etag-none"), """{"tier":"development","dataClassification":"synthetic"}""", ("If-Match", "*")));
        await (Put(_operator, name, """{"tier":"development","dataClassification":"synthetic"}""", ("If-Match", "not an etag"))).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Equal(2, (long)(await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK))["version"]!);
    }

    [Fact]
    public async Task A_calendar_has_an_ETag_and_a_stale_If_Match_lifting_a_freeze_is_412_with_the_freeze_kept()
    {
        var name = TestHttp.Unique("cal");
        await _operator.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var now = DateTimeOffset.UtcNow;
        var freeze = new { freezes = new object[] { new { name = "peak", start = now.AddHours(-1).ToString("O"), end = now.AddDays(1).ToString("O") } } };
        var created = await Send(_operator, HttpMethod.Put, $"/v1/environments/{name}/calendar", freeze, ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("\"1\"", created.Headers.ETag?.ToString());
        await Expect412(await Send(_operator, HttpMethod.Put, $"/v1/environments/{name}/calendar", new { }, ("If-None-Match", "*")));

        // Someone else tightens the calendar meanwhile (version 2); a writer still holding version 1 lifts nothing.
        var get = await _operator.GetAsync($"/v1/environments/{name}/calendar");
        Assert.Equal("\"1\"", get.Headers.ETag?.ToString());
        await Send(_operator, HttpMethod.Put, $"/v1/environments/{name}/calendar", freeze, ("If-Match", "\"1\"")).Expect(HttpStatusCode.OK);
        await Expect412(await Send(_operator, HttpMethod.Put, $"/v1/environments/{name}/calendar", new { }, ("If-Match", "\"1\"")));
        var view = await _operator.GetAsync($"/v1/environments/{name}/calendar").Expect(HttpStatusCode.OK);
        Assert.Equal("Frozen", (string?)view["current"]!["state"]);
    }

    [Fact]
    public async Task An_operator_refused_in_production_cannot_redeclare_it_as_development_and_deploy()
    {
        var name = TestHttp.Unique("prod");
        await Put(_operator, name, """{"tier":"production"}""").Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new { count = 1 }).Expect(HttpStatusCode.Created);
        var release = await Release(name);
        await _operator.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);

        // The downgrade is only proposed: 202 with where the change lives and what it would change.
        var proposed = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic"}""");
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var change = await proposed.Read();
        var id = (string)change["id"]!;
        Assert.Equal($"/v1/environments/{name}/declaration/changes/{id}", proposed.Headers.Location?.ToString());
        Assert.Equal("Pending", (string?)change["state"]);
        Assert.Equal("alice", (string?)change["proposedBy"]);
        Assert.Contains(change["differences"]!.AsArray(), d => (string?)d!["field"] == "tier" && (string?)d["before"] == "production" && (string?)d["after"] == "development");
        Assert.Contains("production tier", (string?)change["approvalNeeded"], StringComparison.Ordinal);

        // Nor can the baseline be rewritten by accepting drift: that is a declaration change too.
        await _operator.PostJson($"/v1/environments/{name}/drift/reconcile", new { mode = "accept" }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);

        // Still production: the operator is still refused.
        Assert.Equal("Production", (string?)(await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK))["declaration"]!["tier"]);
        await _operator.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);

        // Neither the operator nor the pipeline can approve it; a change authority rejects it (with a reason).
        await _operator.PostJson($"/v1/environments/{name}/declaration/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await _pipeline.PostJson($"/v1/environments/{name}/declaration/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{id}/reject", new { })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        var rejected = await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{id}/reject", new { reason = "production stays production" })
            .Expect(HttpStatusCode.OK);
        Assert.Equal("Rejected", (string?)rejected["state"]);
        Assert.Equal("carol", (string?)rejected["decidedBy"]);
        await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, InvalidTransition);
        var declared = await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK);
        Assert.Equal("Production", (string?)declared["declaration"]!["tier"]);
        Assert.Equal(1, (long)declared["version"]!);

        // Audited: the proposal and the rejection, each with who did it.
        var audit = await _operator.WaitFor($"/v1/audit?environment={name}&limit=1000",
            e => e["items"]!.AsArray().Any(x => ((string?)x!["action"])!.EndsWith("declaration-change-rejected", StringComparison.Ordinal)));
        var items = audit["items"]!.AsArray();
        Assert.Contains(items, x => ((string?)x!["action"])!.EndsWith("declaration-change-proposed", StringComparison.Ordinal) && (string?)x["principal"] == "alice");
        Assert.Contains(items, x => ((string?)x!["action"])!.EndsWith("declaration-change-rejected", StringComparison.Ordinal)
            && (string?)x["principal"] == "carol" && (string?)x["reason"] == "production stays production");
    }

    [Fact]
    public async Task An_environment_set_to_two_approvals_applies_a_change_only_at_the_second_distinct_change_authority()
    {
        // Governance:EnvironmentChangeApprovals:cab-of-two = 2 in the test engine; every other environment keeps 1.
        var name = TwoApprovalsEnvironment;
        await Put(_operator, name, """{"tier":"production"}""").Expect(HttpStatusCode.OK);
        var proposed = await Put(_operator, name, """{"tier":"development","dataClassification":"synthetic"}""");
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var change = await proposed.Read();
        var id = (string)change["id"]!;
        Assert.Equal(2, (int)change["approvalsRequired"]!);
        Assert.Contains("2 change authorities other than the proposer approve it", (string?)change["approvalNeeded"], StringComparison.Ordinal);

        // carol's approval is kept but applies nothing; her second counts once; production stays production.
        foreach (var _ in new[] { 1, 2 })
        {
            var voted = await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{id}/approve", new { reason = "looks right" }).Expect(HttpStatusCode.OK);
            Assert.Equal("Pending", (string?)voted["state"]);
            Assert.Equal(["carol"], voted["approvedBy"]!.AsArray().Select(a => (string)a!));
            Assert.Equal("Production", (string?)(await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK))["declaration"]!["tier"]);
        }

        // The proposer still cannot add their own; a second change authority applies it.
        var applied = await engine.As(AdminKey).PostJson($"/v1/environments/{name}/declaration/changes/{id}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal("Approved", (string?)applied["state"]);
        Assert.Equal(["carol", "admin"], applied["approvedBy"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("Development", (string?)(await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK))["declaration"]!["tier"]);
        var audit = await _operator.WaitFor($"/v1/audit?environment={name}&limit=1000",
            e => e["items"]!.AsArray().Any(x => ((string?)x!["action"])!.EndsWith("declaration-change-approved", StringComparison.Ordinal)));
        Assert.Contains(audit["items"]!.AsArray(), x => ((string?)x!["action"])!.EndsWith("declaration-change-voted", StringComparison.Ordinal) && (string?)x["principal"] == "carol");
    }

    [Fact]
    public async Task A_pipeline_held_by_a_gate_cannot_remove_it_and_an_approval_applies_only_onto_the_version_it_was_proposed_against()
    {
        var name = TestHttp.Unique("gated");
        await Put(_operator, name, """{"tier":"production","gates":["security-scan"]}""").Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new { count = 1 }).Expect(HttpStatusCode.Created);
        var release = await Release(name);
        var held = await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        Assert.Contains("security-scan", (string?)held["detail"], StringComparison.Ordinal);

        // The pipeline removes the gate: only proposed, so the rollout is still held.
        var removal = await Put(_pipeline, name, """{"tier":"production"}""");
        Assert.Equal(HttpStatusCode.Accepted, removal.StatusCode);
        var removalId = (string)(await removal.Read())["id"]!;
        await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);

        // A key holding the approver role never approves its own proposal (four eyes); a batch cannot slip the change in
        // either; a stale If-Match is 412 and proposes nothing.
        var own = await engine.As(PipelineApproverKey).PutAsync($"/v1/environments/{name}/declaration",
            new StringContent("""{"tier":"production","gates":["security-scan"],"description":"dana's"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
        var ownId = (string)(await own.Read())["id"]!;
        var selfApproval = await engine.As(PipelineApproverKey).PostJson($"/v1/environments/{name}/declaration/changes/{ownId}/approve", new { })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        Assert.Contains("four eyes", (string?)selfApproval["detail"], StringComparison.Ordinal);
        await _pipeline.PostAsync("/v1/environments/declarations",
            new StringContent($$"""[{"name":"{{name}}","tier":"development","dataClassification":"synthetic"}]""", Encoding.UTF8, "application/json")).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await Expect412(await Put(_pipeline, name, """{"tier":"development","dataClassification":"synthetic"}""", ("If-Match", "\"7\"")));
        var pending = await _operator.GetAsync($"/v1/environments/{name}/declaration/changes").Expect(HttpStatusCode.OK);
        Assert.Equal(2, pending.AsArray().Count);

        // A change authority approves dana's change: applied, version 2. The gate removal was proposed against version 1,
        // so approving it now is 409 and applies nothing.
        var approved = await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{ownId}/approve", new { reason = "description only" })
            .Expect(HttpStatusCode.OK);
        Assert.Equal("Approved", (string?)approved["state"]);
        Assert.Equal(2, (long)approved["appliedVersion"]!);
        var stale = await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{removalId}/approve", new { })
            .ExpectProblem(HttpStatusCode.Conflict, Conflict);
        Assert.Contains("version 2, not version 1", (string?)stale["detail"], StringComparison.Ordinal);
        var declared = await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK);
        Assert.Equal(["security-scan"], declared["declaration"]!["gates"]!.AsArray().Select(g => (string)g!));
        Assert.Equal("dana's", (string?)declared["declaration"]!["description"]);
        Assert.Equal("dana", (string?)declared["declaredBy"]);
        Assert.Equal("Pending", (string?)(await _operator.GetAsync($"/v1/environments/{name}/declaration/changes/{removalId}").Expect(HttpStatusCode.OK))["state"]);
        await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);

        // Proposed again against version 2 and approved by a change authority, the removal applies.
        var again = await Put(_pipeline, name, """{"tier":"production","description":"dana's"}""", ("If-Match", "\"2\""));
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var againId = (string)(await again.Read())["id"]!;
        await _approver.PostJson($"/v1/environments/{name}/declaration/changes/{againId}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Empty((await _operator.GetAsync($"/v1/environments/{name}/declaration").Expect(HttpStatusCode.OK))["declaration"]!["gates"]!.AsArray());
    }

    [Fact]
    public async Task A_new_environment_and_a_development_one_are_declared_directly()
    {
        var name = TestHttp.Unique("dev");
        await Put(_pipeline, name, """{"tier":"development","dataClassification":"synthetic"}""").Expect(HttpStatusCode.OK);
        await Put(_pipeline, name, """{"tier":"staging","dataClassification":"synthetic"}""").Expect(HttpStatusCode.OK);
        // Tightening to production is direct too; from then on changes are proposed.
        await Put(_pipeline, name, """{"tier":"production"}""").Expect(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Accepted, (await Put(_pipeline, name, """{"tier":"staging","dataClassification":"synthetic"}""")).StatusCode);
    }

    private static Task<HttpResponseMessage> Put(HttpClient client, string name, string json, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/environments/{name}/declaration")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        foreach (var (header, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        return client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string url, object body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url) { Content = System.Net.Http.Json.JsonContent.Create(body) };
        foreach (var (header, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        return client.SendAsync(request);
    }

    private static async Task<JsonNode> Expect412(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Read();
        Assert.Equal(PreconditionFailed, (string?)problem["type"]);
        return problem;
    }

    /// <summary>A release of shop whose approved change record covers it (production tier is protected).</summary>
    private async Task<string> Release(string environment)
    {
        var change = TestHttp.Unique("chg");
        await _approver.PostJson("/v1/change-records", new { id = change, title = "shop 3.0.0 to " + environment, state = "approved", service = "shop", end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);
        return (string)(await _pipeline.PostJson("/v1/releases", new { service = "shop", version = "3.0.0", artifact = TestHttp.Digest("3.0.0"), changeRecord = change })
            .Expect(HttpStatusCode.Created))["id"]!;
    }
}
