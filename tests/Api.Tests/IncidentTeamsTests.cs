using System.Net;
using System.Net.Http.Headers;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Issue 14: "a pipeline key can ... resolve another team's incident". An incident belongs to the team owning its service
/// (or the declaring key's team); another team's operator is refused, an incident commander (approver) is not.
/// </summary>
public sealed class IncidentTeamsTests : IDisposable
{
    private const string Forbidden = "urn:deploy-engine:problem:forbidden";

    private readonly WebApplicationFactory<Program> _engine = new EngineFactory().WithWebHostBuilder(b =>
    {
        b.UseSetting("Auth:Keys:20:Name", "pat");
        b.UseSetting("Auth:Keys:20:Key", "test-payments-operator-key");
        b.UseSetting("Auth:Keys:20:Roles", "operator");
        b.UseSetting("Auth:Keys:20:Teams", "payments");
        b.UseSetting("Auth:Keys:21:Name", "wes");
        b.UseSetting("Auth:Keys:21:Key", "test-web-operator-key");
        b.UseSetting("Auth:Keys:21:Roles", "operator");
        b.UseSetting("Auth:Keys:21:Teams", "web");
    });

    public void Dispose() => _engine.Dispose();

    [Fact]
    public async Task Another_teams_operator_cannot_resolve_an_incident_its_team_and_an_incident_commander_can()
    {
        var pat = As("test-payments-operator-key");
        var wes = As("test-web-operator-key");
        var alice = As(EngineFactory.OperatorKey);
        var service = TestHttp.Unique("ledger");
        await alice.PutJson($"/v1/services/{service}/owner", new { team = "payments" }).Expect(HttpStatusCode.OK);

        // Declared by anyone, an incident of the ledger service belongs to its owner, payments.
        var declared = await alice.PostJson("/v1/incidents", new { scope = new { service }, title = "ledger double-books", severity = "sev1" })
            .Expect(HttpStatusCode.Created);
        var id = (string)declared["id"]!;
        Assert.Equal("payments", (string?)declared["team"]);

        var refused = await wes.PostJson($"/v1/incidents/{id}/resolve", new { reason = "not mine but in my way" }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        Assert.Contains("belongs to team payments", (string?)refused["detail"], StringComparison.Ordinal);
        await As(EngineFactory.PipelineKey).PostJson($"/v1/incidents/{id}/resolve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        await wes.PostJson("/v1/incidents/webhook", new { @event = "resolved", incidentId = id }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        Assert.Null((string?)(await alice.GetAsync($"/v1/incidents/{id}").Expect(HttpStatusCode.OK))["resolvedAt"]);

        // Its team resolves it (the declarer could too).
        var resolved = await pat.PostJson($"/v1/incidents/{id}/resolve", new { reason = "fixed" }).Expect(HttpStatusCode.OK);
        Assert.Equal("pat", (string?)resolved["resolvedBy"]);

        // Without a service, an incident is the declaring key's team's; an incident commander (approver) resolves any.
        var web = (string)(await wes.PostJson("/v1/incidents", new { scope = new { environment = "web-prod" }, title = "cdn down" }).Expect(HttpStatusCode.Created))["id"]!;
        await pat.PostJson($"/v1/incidents/{web}/resolve", new { }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        var commanded = await As(EngineFactory.ApproverKey).PostJson($"/v1/incidents/{web}/resolve", new { reason = "incident commander" }).Expect(HttpStatusCode.OK);
        Assert.Equal("carol", (string?)commanded["resolvedBy"]);
    }

    private HttpClient As(string key)
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
