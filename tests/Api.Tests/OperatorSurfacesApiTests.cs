using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// What the dashboard's governance page reads: the approvals waiting for the signed-in key (its approver groups, its
/// scope, never its own release: four eyes) and the list of change records with their filters and paging, and the fleet page's versions per service.
/// </summary>
[Collection(EngineCollection.Name)]
public class OperatorSurfacesApiTests(EngineFactory engine)
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);
    private readonly HttpClient _carol = engine.As(ApproverKey);
    private readonly HttpClient _dana = engine.As(PipelineApproverKey);
    private readonly HttpClient _admin = engine.As(AdminKey);

    private async Task<string> Production()
    {
        var name = TestHttp.Unique("prod");
        await _operator.PutAsync($"/v1/environments/{name}/declaration",
            new StringContent("""{"tier":"production"}""", System.Text.Encoding.UTF8, "application/json")).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = 2, stepLatencyMs = 5, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return name;
    }

    private static JsonNode? Find(JsonNode inbox, string list, string rollout) =>
        inbox[list]!.AsArray().FirstOrDefault(i => (string?)i!["rollout"] == rollout);

    [Fact]
    public async Task An_approvers_inbox_holds_what_its_vote_would_move_and_never_its_own_release()
    {
        var service = TestHttp.Unique("inbox");
        var production = await Production();
        var change = TestHttp.Unique("chg");
        await _carol.PostJson("/v1/change-records", new { id = change, title = "inbox", state = "approved", service, end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);
        // dana submits the release (she also holds the approver role and group cab); ci deploys it.
        var release = (string)(await _dana.PostJson("/v1/releases", new { service, version = "2.0.0", artifact = TestHttp.Digest("2.0.0"), changeRecord = change })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = production }).Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "AwaitingApproval");

        // carol holds the groups the approval needs: it waits for her, with the governance view.
        var carols = await _carol.WaitFor("/v1/me/approvals", i => Find(i, "items", rollout) is not null);
        var item = Find(carols, "items", rollout)!;
        Assert.Equal(release, (string?)item["releaseId"]);
        Assert.Equal(production, (string?)item["environment"]);
        Assert.Equal("pending", (string?)item["governance"]!["approvalState"]);
        Assert.Contains("an approval from 'carol' counts", (string?)item["reason"], StringComparison.Ordinal);

        // dana submitted it: four eyes keeps it out of her inbox, and says so.
        var danas = await _dana.GetAsync("/v1/me/approvals").Expect(HttpStatusCode.OK);
        Assert.Null(Find(danas, "items", rollout));
        Assert.Equal($"'dana' submitted release {release} and cannot approve it: no self-approval (four eyes)", (string?)Find(danas, "others", rollout)!["reason"]);

        // admin holds the approver role but no approver group: its vote would not count.
        var admins = await _admin.GetAsync("/v1/me/approvals").Expect(HttpStatusCode.OK);
        Assert.Null(Find(admins, "items", rollout));
        Assert.StartsWith("'admin' holds no approver group; it needs 1 more approval", (string?)Find(admins, "others", rollout)!["reason"], StringComparison.Ordinal);

        // A key without the approver role has no inbox.
        await _viewer.GetAsync("/v1/me/approvals").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);

        // Once carol approves, it leaves her inbox.
        await _carol.PostJson($"/v1/releases/{release}/approvals", new { environment = production, decision = "approve", reason = "looks fine" }).Expect(HttpStatusCode.OK);
        await _carol.WaitFor("/v1/me/approvals", i => Find(i, "items", rollout) is null);
    }

    [Fact]
    public async Task Change_records_list_newest_first_with_filters_and_paging()
    {
        var service = TestHttp.Unique("records");
        var now = DateTimeOffset.UtcNow;
        async Task<string> Create(string state, DateTimeOffset? start)
        {
            var id = TestHttp.Unique("chg");
            await _carol.PostJson("/v1/change-records", new { id, title = $"{state} change", state, service, start, end = now.AddDays(2) }).Expect(HttpStatusCode.Created);
            return id;
        }

        var open = await Create("approved", null);
        var upcoming = await Create("pending", now.AddDays(1));
        var rejected = await Create("rejected", null);
        static List<string?> Ids(JsonNode page) => page["items"]!.AsArray().Select(r => (string?)r!["id"]).ToList();

        // A viewer reads the list: newest first.
        Assert.Equal([rejected, upcoming, open], Ids(await _viewer.GetAsync($"/v1/change-records?service={service}").Expect(HttpStatusCode.OK)));
        Assert.Equal([upcoming], Ids(await _viewer.GetAsync($"/v1/change-records?service={service}&state=pending").Expect(HttpStatusCode.OK)));
        Assert.Equal([rejected, open], Ids(await _viewer.GetAsync($"/v1/change-records?service={service}&state=approved,rejected").Expect(HttpStatusCode.OK)));
        Assert.Equal([upcoming], Ids(await _viewer.GetAsync($"/v1/change-records?service={service}&window=upcoming").Expect(HttpStatusCode.OK)));
        Assert.Equal([rejected, open], Ids(await _viewer.GetAsync($"/v1/change-records?service={service}&window=open").Expect(HttpStatusCode.OK)));

        // Pages of two: the cursor carries on where the first page ended.
        var first = await _viewer.GetAsync($"/v1/change-records?service={service}&limit=2").Expect(HttpStatusCode.OK);
        Assert.Equal([rejected, upcoming], Ids(first));
        var second = await _viewer.GetAsync($"/v1/change-records?service={service}&limit=2&cursor={(string)first["next"]!}").Expect(HttpStatusCode.OK);
        Assert.Equal([open], Ids(second));
        Assert.Null(second["next"]);

        // A state change shows in the list at once (the record writes its catalog entry before answering).
        await _carol.PutJson($"/v1/change-records/{upcoming}/state", new { state = "approved", reason = "CAB met" }).Expect(HttpStatusCode.OK);
        var approved = await _viewer.GetAsync($"/v1/change-records?service={service}&state=approved").Expect(HttpStatusCode.OK);
        Assert.Equal([upcoming, open], Ids(approved));
        Assert.Equal("carol", (string?)approved["items"]![0]!["approvedBy"]);
    }

    [Theory]
    [InlineData("state=bogus", "state")]
    [InlineData("window=7", "window")]
    [InlineData("window=later", "window")]
    [InlineData("limit=0", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("service=Not_A_Label", "service")]
    public async Task A_bad_change_record_filter_is_a_400_naming_it(string query, string field)
    {
        var problem = await _viewer.GetAsync($"/v1/change-records?{query}").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task Versions_per_service_count_the_hosts_on_each_version()
    {
        var env = TestHttp.Unique("fleet");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count = 4, stepLatencyMs = 5, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        static int? Hosts(JsonNode v, string version) =>
            v["services"]!.AsObject().Select(s => (int?)s.Value![version]).FirstOrDefault(n => n is not null);

        var before = await _viewer.GetAsync($"/v1/environments/{env}/versions").Expect(HttpStatusCode.OK);
        Assert.Equal(4, (int)before["hostCount"]!);
        Assert.Equal(4, Hosts(before, "1.0.0"));

        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "fleetsvc", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { maxSurge = "0", maxUnavailable = "50%" } })
            .Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        // The count is at most a few seconds old: it catches up with the fleet on its own.
        var after = await _viewer.WaitFor($"/v1/environments/{env}/versions", v => Hosts(v, "2.0.0") == 4, TimeSpan.FromSeconds(20));

        await _viewer.GetAsync($"/v1/environments/{TestHttp.Unique("nowhere")}/versions").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        // A key scoped to another environment is refused, as for an environment that does not exist: it learns nothing.
        await engine.As(ScopedViewerKey).GetAsync($"/v1/environments/{env}/versions").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
    }

    [Fact]
    public async Task Releases_rollouts_and_change_records_stored_before_the_catalogs_are_listed_after_the_backfill()
    {
        var service = TestHttp.Unique("old");
        var env = TestHttp.Unique("old");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 1, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service, version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        var change = TestHttp.Unique("chg");
        await _carol.PostJson("/v1/change-records", new { id = change, title = "old change", state = "pending", service, end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);

        // The stored state of an engine from before the catalogs: the release is stored, its catalog entry is not.
        var grains = engine.Services.GetRequiredService<IGrainFactory>();
        await grains.GetGrain<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Remove(release);
        Assert.Empty((await _viewer.GetAsync($"/v1/releases?service={service}").Expect(HttpStatusCode.OK))["items"]!.AsArray());

        var report = await grains.GetGrain<ICatalogBackfillGrain>(GrainKeys.CatalogBackfill).Run();
        Assert.True(report.Releases >= 1 && report.Rollouts >= 1 && report.ChangeRecords >= 1, $"backfill found too little: {report}");
        Assert.Equal(release, (string?)Assert.Single((await _viewer.GetAsync($"/v1/releases?service={service}").Expect(HttpStatusCode.OK))["items"]!.AsArray())!["id"]);
        var listed = Assert.Single((await _viewer.GetAsync($"/v1/rollouts?service={service}").Expect(HttpStatusCode.OK))["items"]!.AsArray())!;
        Assert.Equal((rollout, "Succeeded"), ((string?)listed["id"], (string?)listed["status"]));
        Assert.Equal(change, (string?)Assert.Single((await _viewer.GetAsync($"/v1/change-records?service={service}").Expect(HttpStatusCode.OK))["items"]!.AsArray())!["id"]);
    }
}
