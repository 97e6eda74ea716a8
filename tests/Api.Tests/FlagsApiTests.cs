using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Feature flags through the API and their evaluation over OFREP, with a plain HttpClient as an OFREP provider would use.</summary>
[Collection(EngineCollection.Name)]
public class FlagsApiTests(EngineFactory engine)
{
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    [Fact]
    public async Task A_flag_is_evaluated_by_percentage_and_labels_and_the_kill_switch_turns_it_off()
    {
        var env = TestHttp.Unique("flags");
        await _operator.PutJson($"/v1/environments/{env}/flags/checkout", new
        {
            service = "shop", percentage = 10, rules = new[] { new { match = new Dictionary<string, string> { ["tier"] = "beta" }, variant = "on" } },
        }).Expect(HttpStatusCode.OK);

        // Buckets from the domain's worked examples: user-1 → 39 (in at 10 %), user-2 → 1798 (out).
        await Expect(env, "user-1", true, "SPLIT");
        await Expect(env, "user-2", false, "SPLIT");
        var beta = await Ofrep("checkout", new { targetingKey = "user-2", environment = env, tier = "beta" }).Expect(HttpStatusCode.OK);
        Assert.Equal((true, "TARGETING_MATCH", "on"), ((bool)beta["value"]!, (string?)beta["reason"], (string?)beta["variant"]));

        var missing = await Ofrep("checkout", new { environment = env }).Expect(HttpStatusCode.BadRequest);
        Assert.Equal("TARGETING_KEY_MISSING", (string?)missing["errorCode"]);
        var unknown = await Ofrep("nope", new { targetingKey = "u", environment = env }).Expect(HttpStatusCode.NotFound);
        Assert.Equal("FLAG_NOT_FOUND", (string?)unknown["errorCode"]);
        var noEnvironment = await Ofrep("checkout", new { targetingKey = "u" }).Expect(HttpStatusCode.BadRequest);
        Assert.Equal("INVALID_CONTEXT", (string?)noEnvironment["errorCode"]);
        var badKey = await Ofrep("checkout", new { targetingKey = 42, environment = env }).Expect(HttpStatusCode.BadRequest);
        Assert.Equal("INVALID_CONTEXT", (string?)badKey["errorCode"]);
        await _viewer.PostAsync("/ofrep/v1/evaluate/flags/checkout", new StringContent("{\"context\":", Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);

        await _operator.PutJson($"/v1/environments/{env}/flags/checkout", new { service = "shop", percentage = 10, enabled = false, reason = "kill switch: checkout errors" })
            .Expect(HttpStatusCode.OK);
        await Expect(env, "user-1", false, "DISABLED");

        var audit = await _viewer.WaitFor($"/v1/audit?environment={env}&limit=100",
            a => a["items"]!.AsArray().Count(e => ((string?)e!["action"])?.EndsWith("flag.changed", StringComparison.Ordinal) == true) == 2);
        Assert.Contains("kill switch: checkout errors", audit.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bulk_evaluation_carries_an_etag_that_changes_with_the_flags()
    {
        var env = TestHttp.Unique("flagsbulk");
        await _operator.PutJson($"/v1/environments/{env}/flags/theme", new
        {
            service = "shop", variants = new Dictionary<string, object> { ["blue"] = "#00f", ["green"] = "#0f0" }, defaultVariant = "blue",
            rules = new[] { new { split = new Dictionary<string, int> { ["blue"] = 50, ["green"] = 50 } } },
        }).Expect(HttpStatusCode.OK);
        await _operator.PutJson($"/v1/environments/{env}/flags/search", new { service = "search", enabled = true }).Expect(HttpStatusCode.OK);

        var context = new { context = new { targetingKey = "user-3", environment = env, service = "shop" } };
        var first = await _viewer.PostJson("/ofrep/v1/evaluate/flags", context);
        var body = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var flags = JsonNode.Parse(body)!["flags"]!.AsArray();
        var theme = Assert.Single(flags); // context.service narrows to shop's flags
        Assert.Equal("theme", (string?)theme!["key"]);
        Assert.Contains((string?)theme["value"], new[] { "#00f", "#0f0" });
        var etag = first.Headers.ETag!;

        using var again = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent(context) };
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await _viewer.SendAsync(again)).StatusCode);

        await _operator.PutJson($"/v1/environments/{env}/flags/theme", new { service = "shop", variants = new Dictionary<string, object> { ["blue"] = "#00f", ["green"] = "#0f0" }, defaultVariant = "green" })
            .Expect(HttpStatusCode.OK);
        using var changed = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent(context) };
        changed.Headers.IfNoneMatch.Add(etag);
        var after = await _viewer.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.NotEqual(etag, after.Headers.ETag);
        Assert.Equal("#0f0", (string?)JsonNode.Parse(await after.Content.ReadAsStringAsync())!["flags"]![0]!["value"]);
    }

    [Fact]
    public async Task In_a_protected_environment_a_flag_change_waits_for_another_keys_approval_from_the_right_group()
    {
        var env = TestHttp.Unique("flagsprd");
        await _operator.PutAsync($"/v1/environments/{env}/declaration", new StringContent("tier: production\n", Encoding.UTF8, "application/yaml")).Expect(HttpStatusCode.OK);
        var approver = engine.As(ApproverKey);
        var dana = engine.As(PipelineApproverKey);

        // alice (operator) proposes: nothing changes yet, the answer says what is needed.
        var proposed = await _operator.PutJson($"/v1/environments/{env}/flags/checkout", new { service = "shop", reason = "dark launch" }).Expect(HttpStatusCode.Accepted);
        var id = (string)proposed["id"]!;
        Assert.Equal(("pending", "alice", "1 approval from group team"), ((string?)proposed["state"], (string?)proposed["proposedBy"], (string?)proposed["requirement"]));
        Assert.Empty((await _viewer.GetAsync($"/v1/environments/{env}/flags").Expect(HttpStatusCode.OK))["flags"]!.AsArray());
        await Ofrep("checkout", new { targetingKey = "u", environment = env }).Expect(HttpStatusCode.NotFound);

        // Neither the proposer's role nor a viewer may vote; dana holds cab, not team: her vote does not count.
        await _operator.PostJson($"/v1/environments/{env}/flags/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        var stillPending = await dana.PostJson($"/v1/environments/{env}/flags/changes/{id}/approve", new { reason = "looks fine" }).Expect(HttpStatusCode.OK);
        Assert.Equal("pending", (string?)stillPending["state"]);
        Assert.Contains("needs 1 more approval from group team", (string?)stillPending["summary"], StringComparison.Ordinal);

        // carol (team) approves: the flag applies, naming both people.
        var applied = await approver.PostJson($"/v1/environments/{env}/flags/changes/{id}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal("applied", (string?)applied["state"]);
        var set = await _viewer.GetAsync($"/v1/environments/{env}/flags").Expect(HttpStatusCode.OK);
        Assert.Equal("alice, approved by carol", (string?)set["flags"]![0]!["updatedBy"]);
        await approver.PostJson($"/v1/environments/{env}/flags/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, Problems.ConflictType);

        // carol's own proposal: she cannot approve it (four eyes).
        var own = (string)(await approver.PutJson($"/v1/environments/{env}/flags/checkout", new { service = "shop", percentage = 50 }).Expect(HttpStatusCode.Accepted))["id"]!;
        await approver.PostJson($"/v1/environments/{env}/flags/changes/{own}/approve", new { }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);

        // A rejection needs a reason and leaves the flag as it was.
        await dana.PostJson($"/v1/environments/{env}/flags/changes/{own}/reject", new { }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Equal("rejected", (string?)(await dana.PostJson($"/v1/environments/{env}/flags/changes/{own}/reject", new { reason = "not this week" }).Expect(HttpStatusCode.OK))["state"]);
        Assert.Null((await _viewer.GetAsync($"/v1/environments/{env}/flags").Expect(HttpStatusCode.OK))["flags"]![0]!["percentage"]);

        // The kill switch never waits, for any key that may change flags; a deletion waits like any change.
        var off = await engine.As(PipelineKey).PostJson($"/v1/environments/{env}/flags/checkout/off", new { reason = "checkout errors" }).Expect(HttpStatusCode.OK);
        Assert.False((bool)off["enabled"]!);
        await _operator.DeleteAsync($"/v1/environments/{env}/flags/checkout").Expect(HttpStatusCode.Accepted);
        await _viewer.PutJson($"/v1/environments/{env}/flags/checkout", new { service = "shop" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);

        // Every step is in the audit trail.
        var changes = await _viewer.GetAsync($"/v1/environments/{env}/flags/changes").Expect(HttpStatusCode.OK);
        Assert.Equal(["pending", "rejected", "applied"], changes["changes"]!.AsArray().Select(c => (string)c!["state"]!).ToArray());
        var audit = await _viewer.WaitFor($"/v1/environments/{env}/events?limit=200",
            e => e["items"]!.AsArray().Count(x => ((string?)x!["type"])?.Contains("flag.change-", StringComparison.Ordinal) == true) >= 6);
        Assert.Contains(audit["items"]!.AsArray(), x => (string?)x!["type"] == Deploy.Engine.Grains.Interfaces.EventTypes.FlagChangeDecided
            && ((string?)x["reason"])!.StartsWith("rejected by dana", StringComparison.Ordinal) && (string?)x["data"]!["actor"] == "dana");
    }

    [Fact]
    public async Task An_approved_flag_change_whose_flag_changed_meanwhile_is_superseded_not_applied()
    {
        var env = TestHttp.Unique("flagsprd");
        await _operator.PutAsync($"/v1/environments/{env}/declaration", new StringContent("tier: staging\ndataClassification: synthetic\nprotected: true\n", Encoding.UTF8, "application/yaml")).Expect(HttpStatusCode.OK);
        var approver = engine.As(ApproverKey);
        var first = (string)(await _operator.PutJson($"/v1/environments/{env}/flags/banner", new { service = "shop", percentage = 10 }).Expect(HttpStatusCode.Accepted))["id"]!;
        var second = (string)(await _operator.PutJson($"/v1/environments/{env}/flags/banner", new { service = "shop", percentage = 90 }).Expect(HttpStatusCode.Accepted))["id"]!;
        await approver.PostJson($"/v1/environments/{env}/flags/changes/{first}/approve", new { }).Expect(HttpStatusCode.OK);
        var late = await approver.PostJson($"/v1/environments/{env}/flags/changes/{second}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, Problems.ConflictType);
        Assert.Contains("changed after this proposal", (string?)late["detail"], StringComparison.Ordinal);
        Assert.Equal(10, (double?)(await _viewer.GetAsync($"/v1/environments/{env}/flags").Expect(HttpStatusCode.OK))["flags"]![0]!["percentage"]);
        Assert.Equal("superseded", (string?)(await _viewer.GetAsync($"/v1/environments/{env}/flags/changes/{second}").Expect(HttpStatusCode.OK))["state"]);
    }

    [Fact]
    public async Task Incoherent_flags_are_refused_by_field()
    {
        var env = TestHttp.Unique("flagsbad");
        var problem = await _operator.PutJson($"/v1/environments/{env}/flags/x", new { service = "shop", defaultVariant = "maybe", percentage = 150 })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(problem["errors"]!["defaultVariant"]);
        Assert.NotNull(problem["errors"]!["percentage"]);
        await _operator.PutJson($"/v1/environments/{env}/flags/x", new { percentage = 5 }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Empty((await _viewer.GetAsync($"/v1/environments/{env}/flags").Expect(HttpStatusCode.OK))["flags"]!.AsArray());
    }

    [Fact]
    public async Task A_releases_flag_follows_its_canarys_weight_and_its_rollback_turns_it_off()
    {
        var env = TestHttp.Unique("flagscanary");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 4, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" }).Expect(HttpStatusCode.Created);
        var release = (string)(await engine.As(PipelineKey).PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") }).Expect(HttpStatusCode.Created))["id"]!;
        await _operator.PutJson($"/v1/environments/{env}/flags/new-cart", new { service = "shop", percentage = 0, release }).Expect(HttpStatusCode.OK);
        var rollout = (string)(await engine.As(PipelineKey).PostJson("/v1/rollouts", new
        {
            releaseId = release, environment = env, strategy = new { type = "canary", steps = new object[] { new { setWeight = 25 }, new { pause = new { } } } },
        }).Expect(HttpStatusCode.Created))["id"]!;

        var set = await _viewer.WaitFor($"/v1/environments/{env}/flags", s => (double?)s["flags"]![0]!["percentage"] == 25);
        Assert.True((bool)set["flags"]![0]!["enabled"]!);
        await _operator.PostJson($"/v1/rollouts/{rollout}/rollback", new { reason = "checkout errors" }).Expect(HttpStatusCode.OK);
        set = await _viewer.WaitFor($"/v1/environments/{env}/flags", s => (bool?)s["flags"]![0]!["enabled"] == false);
        Assert.Contains("rolling back", (string?)set["flags"]![0]!["reason"], StringComparison.Ordinal);
        var off = await Ofrep("new-cart", new { targetingKey = "user-1", environment = env }).Expect(HttpStatusCode.OK);
        Assert.Equal("DISABLED", (string?)off["reason"]);
    }

    private async Task Expect(string env, string user, bool value, string reason)
    {
        var answer = await Ofrep("checkout", new { targetingKey = user, environment = env }).Expect(HttpStatusCode.OK);
        Assert.Equal((value, reason), ((bool)answer["value"]!, (string?)answer["reason"]));
        Assert.Equal("checkout", (string?)answer["key"]);
    }

    private Task<HttpResponseMessage> Ofrep(string key, object context) => _viewer.PostJson($"/ofrep/v1/evaluate/flags/{key}", new { context });

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}
