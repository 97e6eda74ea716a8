using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Issue 14 remainders, tried as the keys each control constrains: service and parameter PUTs honour If-Match; the
/// plain environment PUT cannot rewrite a production-tier or protected environment; production parameters and secrets
/// change only through a change authority's approval; and no agent key takes over a host it did not register.
/// </summary>
[Collection(EngineCollection.Name)]
public class GovernedWritesTests(EngineFactory engine)
{
    private const string PreconditionFailed = "urn:deploy-engine:problem:precondition-failed";
    private const string Forbidden = "urn:deploy-engine:problem:forbidden";
    private const string Conflict = "urn:deploy-engine:problem:conflict";
    private const string Policy = "urn:deploy-engine:problem:refused-by-policy";

    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _approver = engine.As(ApproverKey);
    private readonly HttpClient _dana = engine.As(PipelineApproverKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    [Fact]
    public async Task Service_dependency_and_owner_PUTs_answer_412_to_a_stale_If_Match_and_keep_the_newer_write()
    {
        var service = TestHttp.Unique("svc");
        var url = $"/v1/services/{service}/dependencies";
        var first = await Send(_pipeline, HttpMethod.Put, url, new { dependsOn = new[] { new { service = "db", range = "^1.0" } } }, ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("\"1\"", first.Headers.ETag?.ToString());
        Assert.Equal("\"1\"", (await _viewer.GetAsync(url)).Headers.ETag?.ToString());
        await Expect412(await Send(_pipeline, HttpMethod.Put, url, new { dependsOn = Array.Empty<object>() }, ("If-None-Match", "*")));

        var second = await Send(_pipeline, HttpMethod.Put, url, new { dependsOn = new[] { new { service = "db", range = "^2.0" } } }, ("If-Match", "\"1\""));
        Assert.Equal("\"2\"", second.Headers.ETag?.ToString());

        // A writer still holding version 1 would remove the dependency: 412, and the newer list stays.
        await Expect412(await Send(_pipeline, HttpMethod.Put, url, new { dependsOn = Array.Empty<object>() }, ("If-Match", "\"1\"")));
        var kept = await _viewer.GetAsync(url).Expect(HttpStatusCode.OK);
        Assert.Equal("^2.0", (string?)kept["byEnvironment"]!["*"]![0]!["range"]);

        var owner = $"/v1/services/{service}/owner";
        var team = await Send(_operator, HttpMethod.Put, owner, new { team = "payments" });
        Assert.Equal(HttpStatusCode.OK, team.StatusCode);
        var tag = team.Headers.ETag?.ToString();
        Assert.NotNull(tag);
        Assert.Equal(tag, (await _viewer.GetAsync(owner)).Headers.ETag?.ToString());
        var moved = await Send(_operator, HttpMethod.Put, owner, new { team = "checkout" }, ("If-Match", tag!));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.NotEqual(tag, moved.Headers.ETag?.ToString());
        await Expect412(await Send(_operator, HttpMethod.Put, owner, new { team = "payments" }, ("If-Match", tag!)));
        Assert.Equal("checkout", (string?)(await _viewer.GetAsync(owner).Expect(HttpStatusCode.OK))["team"]);
        await Send(_operator, HttpMethod.Put, owner, new { team = "x" }, ("If-Match", "not an etag")).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
    }

    [Fact]
    public async Task A_parameters_PUT_with_a_stale_If_Match_is_412_and_the_newer_set_stays()
    {
        var env = TestHttp.Unique("pmatch");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var url = $"/v1/environments/{env}/parameters";
        var created = await Send(_operator, HttpMethod.Put, url, new { values = new { pool = "5" } }, ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("\"1\"", created.Headers.ETag?.ToString());
        Assert.Equal("\"1\"", (await _viewer.GetAsync(url)).Headers.ETag?.ToString());
        var updated = await Send(_operator, HttpMethod.Put, url, new { values = new { pool = "9" } }, ("If-Match", "\"1\""));
        Assert.Equal("\"2\"", updated.Headers.ETag?.ToString());
        await Expect412(await Send(_pipeline, HttpMethod.Put, url, new { values = new { pool = "1" } }, ("If-Match", "\"1\"")));
        await Expect412(await Send(_pipeline, HttpMethod.Put, url, new { values = new { pool = "1" } }, ("If-None-Match", "*")));
        var read = await _viewer.GetAsync(url).Expect(HttpStatusCode.OK);
        Assert.Equal("9", (string?)read["values"]!["pool"]);
        Assert.Equal(2, (long)read["version"]!);
    }

    [Fact]
    public async Task A_plain_environment_PUT_cannot_rewrite_a_production_tier_or_protected_environment()
    {
        foreach (var declaration in new[] { """{"tier":"production","concurrencyLimit":3,"description":"prod"}""", """{"tier":"development","dataClassification":"synthetic","protected":true,"concurrencyLimit":3,"description":"prod"}""" })
        {
            var name = TestHttp.Unique("gov");
            await Declare(_operator, name, declaration).Expect(HttpStatusCode.OK);
            var before = await _viewer.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK);

            // Neither the pipeline nor the operator widens the limit here: 409, pointing at the declaration change.
            foreach (var client in new[] { _pipeline, _operator })
            {
                var refused = await client.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 50, description = "mine now" }).ExpectProblem(HttpStatusCode.Conflict, Conflict);
                Assert.Contains($"/v1/environments/{name}/declaration", (string?)refused["detail"], StringComparison.Ordinal);
            }

            // Nor with a PUT that names no limit (it would reset the description), nor by sending a tier (not a field here).
            await _pipeline.PutJson($"/v1/environments/{name}", new { }).ExpectProblem(HttpStatusCode.Conflict, Conflict);
            await _pipeline.PutJson($"/v1/environments/{name}", new { tier = "development" }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");

            var after = await _viewer.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK);
            Assert.Equal(3, (int)after["spec"]!["concurrencyLimit"]!);
            Assert.Equal("prod", (string?)after["spec"]!["description"]);
            Assert.Equal((long)before["version"]!, (long)after["version"]!);
            Assert.Equal((string?)before["declaration"]!["declaration"]!["tier"], (string?)after["declaration"]!["declaration"]!["tier"]);

            // The same values again change nothing and are not refused (a setup script may run twice).
            await _operator.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 3, description = "prod" }).Expect(HttpStatusCode.OK);
            Assert.Equal((long)before["version"]!, (long)(await _viewer.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK))["version"]!);
        }

        // A development environment keeps its limit when a PUT does not name one.
        var dev = TestHttp.Unique("devput");
        await Declare(_operator, dev, """{"tier":"development","dataClassification":"synthetic","concurrencyLimit":3}""").Expect(HttpStatusCode.OK);
        var kept = await _pipeline.PutJson($"/v1/environments/{dev}", new { description = "notes" }).Expect(HttpStatusCode.OK);
        Assert.Equal(3, (int)kept["spec"]!["concurrencyLimit"]!);
    }

    [Fact]
    public async Task Production_parameters_and_secrets_change_only_when_a_change_authority_other_than_the_proposer_approves()
    {
        var env = TestHttp.Unique("prodcfg");
        await Declare(_operator, env, """{"tier":"production"}""").Expect(HttpStatusCode.OK);
        var url = $"/v1/environments/{env}/parameters";

        // The pipeline's write is only proposed: 202, where it lives, what it changes; the secret never in the answer.
        var proposed = await _pipeline.PutAsJsonAsync(url, new { values = new { db_url = "postgres://evil" }, secrets = new { db_password = "s3cret-pw" } });
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var text = await proposed.Content.ReadAsStringAsync();
        Assert.DoesNotContain("s3cret-pw", text, StringComparison.Ordinal);
        var change = JsonNode.Parse(text)!;
        var id = (string)change["id"]!;
        Assert.Equal($"/v1/environments/{env}/parameters/changes/{id}", proposed.Headers.Location?.ToString());
        Assert.Equal("Pending", (string?)change["state"]);
        Assert.Equal("ci", (string?)change["proposedBy"]);
        Assert.Equal("set", (string?)change["secrets"]!["db_password"]);
        Assert.Contains(change["differences"]!.AsArray(), d => (string?)d!["field"] == "values.db_url" && (string?)d["after"] == "postgres://evil");
        await _viewer.GetAsync(url).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");

        // Neither the pipeline nor the operator approves it; a key holding approver cannot approve its own proposal.
        await _pipeline.PostJson($"{url}/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await _operator.PostJson($"{url}/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        var own = await _dana.PutAsJsonAsync(url, new { values = new { db_url = "postgres://dana" } });
        Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
        var danas = (string)(await own.Read())["id"]!;
        await _dana.PostJson($"{url}/changes/{danas}/approve", new { }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);

        // A change authority approves: it applies at once, with the proposer as its author.
        var approved = await _approver.PostJson($"{url}/changes/{id}/approve", new { reason = "CAB 7" }).Expect(HttpStatusCode.OK);
        Assert.Equal("Approved", (string?)approved["state"]);
        Assert.Equal("carol", (string?)approved["decidedBy"]);
        var applied = await _viewer.GetAsync(url);
        Assert.Equal("\"1\"", applied.Headers.ETag?.ToString());
        var set = await applied.Read();
        Assert.Equal("postgres://evil", (string?)set["values"]!["db_url"]);
        Assert.Equal("set", (string?)set["secrets"]!["db_password"]);

        // Dana's change was proposed against the empty set: approving it now would overwrite version 1 unseen (409).
        await _approver.PostJson($"{url}/changes/{danas}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, Conflict);
        await _approver.PostJson($"{url}/changes/{danas}/reject", new { }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Equal("Rejected", (string?)(await _approver.PostJson($"{url}/changes/{danas}/reject", new { reason = "stale" }).Expect(HttpStatusCode.OK))["state"]);
        Assert.Equal(2, (await _viewer.GetAsync($"{url}/changes").Expect(HttpStatusCode.OK)).AsArray().Count);
        Assert.Equal("postgres://evil", (string?)(await _viewer.GetAsync(url).Expect(HttpStatusCode.OK))["values"]!["db_url"]);

        // Audited: who proposed and who approved.
        var audit = await _operator.WaitFor($"/v1/audit?environment={env}&limit=1000",
            e => e["items"]!.AsArray().Any(x => ((string?)x!["action"])!.EndsWith("parameter-change-approved", StringComparison.Ordinal)));
        var items = audit["items"]!.AsArray();
        Assert.Contains(items, x => ((string?)x!["action"])!.EndsWith("parameter-change-proposed", StringComparison.Ordinal) && (string?)x["principal"] == "ci");
        Assert.Contains(items, x => ((string?)x!["action"])!.EndsWith("parameter-change-approved", StringComparison.Ordinal) && (string?)x["principal"] == "carol");
    }

    [Fact]
    public async Task An_environment_set_to_two_approvals_changes_its_parameters_and_secrets_only_at_the_second_distinct_change_authority()
    {
        // Governance:EnvironmentChangeApprovals:cab-of-two-params = 2, as for its declaration: one authority with a
        // proposer (dana holds pipeline and approver) must not be enough to change what production runs with.
        var env = TwoApprovalsParametersEnvironment;
        await Declare(_operator, env, """{"tier":"production"}""").Expect(HttpStatusCode.OK);
        var url = $"/v1/environments/{env}/parameters";
        var admin = engine.As(AdminKey);

        var proposed = await _dana.PutAsJsonAsync(url, new { values = new { pool = "9" } });
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var change = await proposed.Read();
        var id = (string)change["id"]!;
        Assert.Equal(2, (int)change["approvalsRequired"]!);
        Assert.Empty(change["approvedBy"]!.AsArray());
        Assert.Contains("2 change authorities other than the proposer approve it", (string?)change["approvalNeeded"], StringComparison.Ordinal);

        // The proposer cannot add her own; carol's approval is kept and applies nothing; carol twice counts once.
        await _dana.PostJson($"{url}/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        foreach (var _ in new[] { 1, 2 })
        {
            var voted = await _approver.PostJson($"{url}/changes/{id}/approve", new { reason = "looks right" }).Expect(HttpStatusCode.OK);
            Assert.Equal("Pending", (string?)voted["state"]);
            Assert.Equal(["carol"], voted["approvedBy"]!.AsArray().Select(a => (string)a!));
            Assert.Equal(2, (int)voted["approvalsRequired"]!);
            await _viewer.GetAsync(url).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        }

        var listed = Assert.Single((await _viewer.GetAsync($"{url}/changes").Expect(HttpStatusCode.OK)).AsArray())!;
        Assert.Equal(["carol"], listed["approvedBy"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(2, (int)listed["approvalsRequired"]!);

        // A second, distinct change authority applies it.
        var applied = await admin.PostJson($"{url}/changes/{id}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal("Approved", (string?)applied["state"]);
        Assert.Equal(["carol", "admin"], applied["approvedBy"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("9", (string?)(await _viewer.GetAsync(url).Expect(HttpStatusCode.OK))["values"]!["pool"]);
        await _approver.PostJson($"{url}/changes/{id}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:invalid-transition");

        // A secret takes the same two: ci proposes, carol approves (pending, not set), dana (not its proposer) applies it.
        var secret = await _pipeline.PutAsJsonAsync(url, new { values = new { pool = "9" }, secrets = new { db_password = "s3cret-pw" } });
        Assert.Equal(HttpStatusCode.Accepted, secret.StatusCode);
        var secretId = (string)(await secret.Read())["id"]!;
        Assert.Equal("Pending", (string?)(await _approver.PostJson($"{url}/changes/{secretId}/approve", new { }).Expect(HttpStatusCode.OK))["state"]);
        Assert.Null((await _viewer.GetAsync(url).Expect(HttpStatusCode.OK))["secrets"]!["db_password"]);
        var set = await _dana.PostJson($"{url}/changes/{secretId}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal("Approved", (string?)set["state"]);
        Assert.Equal(["carol", "dana"], set["approvedBy"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("set", (string?)(await _viewer.GetAsync(url).Expect(HttpStatusCode.OK))["secrets"]!["db_password"]);

        // Any rejection by an authority rejects, whatever approvals were kept.
        var third = await _pipeline.PutAsJsonAsync(url, new { values = new { pool = "1" } });
        var thirdId = (string)(await third.Read())["id"]!;
        await _approver.PostJson($"{url}/changes/{thirdId}/approve", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal("Rejected", (string?)(await admin.PostJson($"{url}/changes/{thirdId}/reject", new { reason = "pool of 1 is too small" }).Expect(HttpStatusCode.OK))["state"]);
        await _dana.PostJson($"{url}/changes/{thirdId}/approve", new { }).ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:invalid-transition");
        Assert.Equal("9", (string?)(await _viewer.GetAsync(url).Expect(HttpStatusCode.OK))["values"]!["pool"]);

        var audit = await _operator.WaitFor($"/v1/audit?environment={env}&limit=1000",
            e => e["items"]!.AsArray().Any(x => ((string?)x!["action"])!.EndsWith("parameter-change-rejected", StringComparison.Ordinal)));
        Assert.Contains(audit["items"]!.AsArray(), x => ((string?)x!["action"])!.EndsWith("parameter-change-voted", StringComparison.Ordinal) && (string?)x["principal"] == "carol");
    }

    [Fact]
    public async Task No_agent_key_takes_over_a_host_it_did_not_register_and_only_an_operator_hands_an_ownerless_host_to_one()
    {
        var bound = engine.As(BoundAgentKey);
        await _operator.PutJson($"/v1/environments/{BoundEnvironment}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var grains = engine.Services.GetRequiredService<IGrainFactory>();
        var environment = grains.GetGrain<IEnvironmentGrain>(BoundEnvironment);

        // A host stored before hosts had owners: registered, no owning key, not simulated.
        var legacy = TestHttp.Unique("legacy");
        Assert.True((await environment.RegisterHosts([new HostEnrollment { HostId = legacy, Registration = new HostRegistration { Environment = BoundEnvironment } }]))[0].Ok);
        await bound.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await bound.PostJson($"/v1/hosts/{legacy}/heartbeat", new { healthy = false }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);

        // Registering it in a race past the API's check takes nothing either: the host decides in its own turn.
        var raced = await environment.RegisterHosts([new HostEnrollment
        {
            HostId = legacy,
            Registration = new HostRegistration { Environment = BoundEnvironment, Owner = "agent-east" },
        }]);
        Assert.False(raced[0].Ok);
        Assert.Null((await grains.GetGrain<IHostGrain>(legacy).Get())!.Owner);

        // An operator re-registering it does not make it the operator's; only naming an agent key hands it over, and
        // only an operator may, to an agent key that serves the environment.
        await _operator.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment }).Expect(HttpStatusCode.OK);
        Assert.Null((string?)(await _viewer.GetAsync($"/v1/hosts/{legacy}").Expect(HttpStatusCode.OK))["owner"]);
        await bound.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment, owner = "agent-east" }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await _operator.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment, owner = "agent-1" })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        await _operator.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment, owner = "alice" })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        var adopted = await _operator.PostJson("/v1/hosts", new { id = legacy, environment = BoundEnvironment, owner = "agent-east" }).Expect(HttpStatusCode.OK);
        Assert.Equal("agent-east", (string?)adopted["owner"]);
        await bound.PostJson($"/v1/hosts/{legacy}/heartbeat", new { healthy = true }).Expect(HttpStatusCode.OK);

        // A simulated host is no agent key's either, even racing past the API.
        var prefix = TestHttp.Unique("simown");
        await _operator.PostJson($"/v1/environments/{BoundEnvironment}/simulated-hosts", new { count = 1, idPrefix = prefix }).Expect(HttpStatusCode.Created);
        var simulated = $"{prefix}-0001";
        Assert.False((await environment.RegisterHosts([new HostEnrollment
        {
            HostId = simulated,
            Registration = new HostRegistration { Environment = BoundEnvironment, Owner = "agent-east" },
        }]))[0].Ok);
        Assert.Null((string?)(await _viewer.GetAsync($"/v1/hosts/{simulated}").Expect(HttpStatusCode.OK))["owner"]);

        // And a simulated fleet does not take over an agent's host (the pipeline may create simulated hosts).
        var realPrefix = TestHttp.Unique("realsim");
        var real = $"{realPrefix}-0001";
        await bound.PostJson("/v1/hosts", new { id = real, environment = BoundEnvironment, labels = new { region = "east" } }).Expect(HttpStatusCode.OK);
        await _pipeline.PostJson($"/v1/environments/{BoundEnvironment}/simulated-hosts", new { count = 1, idPrefix = realPrefix, labels = new { region = "west" } })
            .ExpectProblem(HttpStatusCode.Conflict, Conflict);
        var host = await _viewer.GetAsync($"/v1/hosts/{real}").Expect(HttpStatusCode.OK);
        Assert.Equal("agent-east", (string?)host["owner"]);
        Assert.False((bool)host["simulated"]!);
        Assert.Equal("east", (string?)host["labels"]!["region"]);
    }

    private static Task<HttpResponseMessage> Declare(HttpClient client, string name, string json) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/v1/environments/{name}/declaration")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        });

    private static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string url, object body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body) };
        foreach (var (header, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        return client.SendAsync(request);
    }

    private static async Task<JsonNode> Expect412(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        var problem = await response.Read();
        Assert.Equal(PreconditionFailed, (string?)problem["type"]);
        return problem;
    }
}
