using System.Net;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Grains.Interfaces;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Four eyes, tried with the keys it constrains: whoever submitted a release or created one of its rollouts never
/// approves, waives, excepts or signs off readiness for it; a readiness review needs a different person per item;
/// votes are one per key; a key without the pipeline role never deploys into a protected environment.
/// </summary>
[Collection(EngineCollection.Name)]
public class SeparationOfDutiesTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);
    private readonly HttpClient _dana = engine.As(PipelineApproverKey);
    private readonly HttpClient _admin = engine.As(AdminKey);

    private async Task<string> Environment(string prefix)
    {
        var env = TestHttp.Unique(prefix);
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        return env;
    }

    private static async Task<string> Release(HttpClient client, string version = "2.0.0") =>
        (string)(await client.PostJson("/v1/releases", new { service = "sod", version, artifact = TestHttp.Digest(version) }).Expect(HttpStatusCode.Created))["id"]!;

    [Fact]
    public async Task The_key_that_created_a_rollout_cannot_approve_it_before_or_after()
    {
        var env = await Environment("sod-vote");
        var release = await Release(_pipeline);
        await _dana.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created);

        var refused = await _dana.PostJson($"/v1/releases/{release}/approvals", new { environment = env, decision = "approve" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Equal($"'dana' deployed release {release} and cannot approve it: no self-approval (four eyes)", (string?)refused["detail"]);
        var stored = await _approver.GetAsync($"/v1/releases/{release}").Expect(HttpStatusCode.OK);
        Assert.Empty(stored["approvals"]!.AsArray());
        Assert.Equal("dana", (string?)Assert.Single(stored["deployedBy"]!.AsArray()));

        // Approving first and deploying after: the vote stays on record but never counts.
        var other = await Release(_pipeline, "2.0.1");
        await _dana.PostJson($"/v1/releases/{other}/approvals", new { environment = env, decision = "approve" }).Expect(HttpStatusCode.OK);
        await _dana.PostJson("/v1/rollouts", new { releaseId = other, environment = env }).Expect(HttpStatusCode.Created);
        var view = await _approver.GetAsync($"/v1/releases/{other}/governance?environment={env}").Expect(HttpStatusCode.OK);
        Assert.Empty(view["approvedBy"]!.AsArray());
        Assert.Contains("dana: deployed the release (created its rollout) and cannot approve it", view["ignoredVotes"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public async Task Votes_are_one_per_key_and_environment()
    {
        var release = await Release(_pipeline);
        for (var i = 0; i < 5; i++)
        {
            await _approver.PostJson($"/v1/releases/{release}/approvals", new { environment = "prod", decision = "approve", reason = $"round {i}" }).Expect(HttpStatusCode.OK);
        }

        await _approver.PostJson($"/v1/releases/{release}/approvals", new { environment = "staging", decision = "approve" }).Expect(HttpStatusCode.OK);
        var stored = await _approver.GetAsync($"/v1/releases/{release}").Expect(HttpStatusCode.OK);
        var approvals = stored["approvals"]!.AsArray();
        Assert.Equal(2, approvals.Count);
        Assert.Equal("round 4", (string?)approvals.Single(a => (string?)a!["environment"] == "prod")!["reason"]);
    }

    [Fact]
    public async Task The_submitter_cannot_waive_a_finding_of_their_own_release()
    {
        var release = await Release(_admin);
        var refused = await _admin.PostJson($"/v1/releases/{release}/waivers",
                new { finding = "vuln:CVE-2021-23337", environment = "payments", reason = "mine", expiresAt = DateTimeOffset.UtcNow.AddDays(1) })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Equal($"'admin' submitted release {release} and cannot waive a finding of it: no self-approval (four eyes)", (string?)refused["detail"]);
    }

    [Fact]
    public async Task An_executive_cannot_grant_the_freeze_exception_for_their_own_release()
    {
        var env = await Environment("sod-freeze");
        var now = DateTimeOffset.UtcNow;
        await _operator.PutJson($"/v1/environments/{env}/calendar", new
        {
            freezes = new object[] { new { name = "peak", start = now.AddHours(-1).ToString("O"), end = now.AddDays(1).ToString("O") } },
        }).Expect(HttpStatusCode.OK);
        var release = await Release(_admin);

        var refused = await _admin.PostJson($"/v1/environments/{env}/calendar/exceptions",
                new { release, freeze = "peak", until = now.AddHours(2).ToString("O"), reason = "my own fix" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Equal($"'admin' submitted release {release} and cannot grant a freeze exception for it: no self-approval (four eyes)", (string?)refused["detail"]);
        var calendar = await _operator.GetAsync($"/v1/environments/{env}/calendar").Expect(HttpStatusCode.OK);
        Assert.Empty(calendar["exceptions"]!.AsArray());
    }

    [Fact]
    public async Task A_readiness_review_needs_a_different_signer_per_item_and_never_the_submitter()
    {
        var release = await Release(_pipeline);
        await _approver.PostJson($"/v1/releases/{release}/readiness", new { item = "operations", signedOffBy = "ops-lead" }).Expect(HttpStatusCode.OK);
        await _approver.PostJson($"/v1/releases/{release}/readiness", new { item = "operations", note = "again" }).Expect(HttpStatusCode.OK);

        // Naming someone else in signedOffBy does not make carol a second person.
        var refused = await _approver.PostJson($"/v1/releases/{release}/readiness", new { item = "security", signedOffBy = "security-lead" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Equal($"'carol' already signed off readiness item 'operations' of release {release}; each item needs a different person", (string?)refused["detail"]);

        var own = await Release(_dana, "2.0.2");
        var self = await _dana.PostJson($"/v1/releases/{own}/readiness", new { item = "security" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Contains("'dana' submitted release", (string?)self["detail"]);

        await _dana.PostJson($"/v1/releases/{release}/readiness", new { item = "security" }).Expect(HttpStatusCode.OK);
        await _admin.PostJson($"/v1/releases/{release}/readiness", new { item = "business" }).Expect(HttpStatusCode.OK);
        var stored = await _approver.GetAsync($"/v1/releases/{release}").Expect(HttpStatusCode.OK);
        Assert.Equal(3, stored["readiness"]!.AsArray().Count);
    }

    [Fact]
    public async Task An_operator_key_cannot_deploy_into_an_environment_protected_by_configuration()
    {
        // "production" is protected by the default Governance:ProtectedEnvironments; nothing declares it.
        const string env = "production";
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 1, idPrefix = TestHttp.Unique("prot"), currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        var release = await Release(_pipeline);

        var refused = await _operator.PostJson("/v1/rollouts", new { releaseId = release, environment = env })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains("rollouts into it are submitted only by the pipeline role", (string?)refused["detail"]);
        await _operator.GetAsync($"/v1/rollouts/{GrainKeys.Rollout(release, env)}").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }
}
