using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// What a key scoped to a service sees of views that span services, as an attacker holding one would look: the
/// environment's history, declaration, drift, parity, flags and hosts show its service's part and nothing of another's;
/// a host that runs none of its services is outside its scope; the service list shows its services.
/// </summary>
[Collection(EngineCollection.Name)]
public class KeyScopeViewsTests(EngineFactory engine)
{
    private readonly HttpClient _admin = engine.As(AdminKey);
    private readonly HttpClient _service = engine.As(ServiceOnlyScopedKey);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A declared environment whose two hosts run another service (rolled out, succeeded), with a flag of that service.</summary>
    private async Task<(string Environment, string Service, string Rollout, List<string> Hosts)> Theirs()
    {
        var environment = TestHttp.Unique("views");
        var service = TestHttp.Unique("views-other");
        await _admin.PutAsync($"/v1/environments/{environment}/declaration", Json($$"""
            {"tier":"staging","dataClassification":"synthetic","baseline":{"services":{"{{service}}":{"version":"2.0.0"},"{{ScopeService}}":{"version":"1.0.0"} },"runtime":{"os-image":"ubuntu-24.04"} } }
            """)).Expect(HttpStatusCode.OK);
        var fleet = await _admin.PostJson($"/v1/environments/{environment}/simulated-hosts", new { count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        var release = await CatalogApiTests.Release(_admin, service, "2.0.0");
        var rollout = await CatalogApiTests.Rollout(_admin, release, environment);
        await _admin.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        await _admin.PutJson($"/v1/environments/{environment}/flags/theirs", new { service, enabled = true, reason = "their flag" }).Expect(HttpStatusCode.OK);
        return (environment, service, rollout, fleet["hostIds"]!.AsArray().Select(h => (string)h!).ToList());
    }

    [Fact]
    public async Task A_service_scoped_key_sees_nothing_of_another_services_part_of_an_environment()
    {
        var (environment, service, rollout, hosts) = await Theirs();
        var other = TestHttp.Unique("views-b");
        await _admin.PutAsync($"/v1/environments/{other}/declaration", Json($$"""
            {"tier":"staging","dataClassification":"synthetic","baseline":{"services":{"{{service}}":{"version":"1.0.0"},"{{ScopeService}}":{"version":"1.0.0"} },"runtime":{"os-image":"ubuntu-24.04"} } }
            """)).Expect(HttpStatusCode.OK);

        // Hosts that run only the other service are outside the key's scope, listed or named.
        Assert.Equal(2, (await _admin.GetAsync($"/v1/hosts?environment={environment}").Expect(HttpStatusCode.OK))["items"]!.AsArray().Count);
        Assert.Empty((await _service.GetAsync($"/v1/hosts?environment={environment}").Expect(HttpStatusCode.OK))["items"]!.AsArray());
        await _service.GetAsync($"/v1/hosts/{hosts[0]}").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await _service.GetAsync($"/v1/hosts/{hosts[0]}/desired").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);

        // The environment's history: the other rollout's slot events are there for an unscoped key, not for this one.
        static bool OfTheirs(JsonNode? e, string rollout, string service) =>
            (string?)e!["data"]?["rollout"] == rollout || (string?)e["data"]?["service"] == service;
        // The history is written by a stream subscriber after the rollout's turn: wait until it holds the other rollout's events.
        var all = (await _admin.WaitFor($"/v1/environments/{environment}/events", p => p["items"]!.AsArray().Any(e => OfTheirs(e, rollout, service))))["items"]!.AsArray();
        Assert.Contains(all, e => OfTheirs(e, rollout, service));
        var mine = (await _service.GetAsync($"/v1/environments/{environment}/events").Expect(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.DoesNotContain(mine, e => OfTheirs(e, rollout, service));

        // The declaration (alone and in the environment view), parity and drift show the key's service only.
        var declared = await _service.GetAsync($"/v1/environments/{environment}/declaration").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], declared["declaration"]!["baseline"]!["services"]!.AsObject().Select(s => s.Key));
        Assert.Equal("ubuntu-24.04", (string?)declared["declaration"]!["baseline"]!["runtime"]!["os-image"]);
        var view = await _service.GetAsync($"/v1/environments/{environment}").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], view["declaration"]!["declaration"]!["baseline"]!["services"]!.AsObject().Select(s => s.Key));
        Assert.Contains(service, (await _admin.GetAsync($"/v1/environments/{environment}/parity/{other}").Expect(HttpStatusCode.OK)).ToJsonString(), StringComparison.Ordinal);
        var parity = await _service.GetAsync($"/v1/environments/{environment}/parity/{other}").Expect(HttpStatusCode.OK);
        Assert.DoesNotContain(service, parity.ToJsonString(), StringComparison.Ordinal);
        Assert.True((bool)parity["identical"]!);
        Assert.NotEmpty((await _admin.GetAsync($"/v1/environments/{environment}/drift").Expect(HttpStatusCode.OK))["unreported"]!.AsArray());
        Assert.Empty((await _service.GetAsync($"/v1/environments/{environment}/drift").Expect(HttpStatusCode.OK))["unreported"]!.AsArray());

        // Flags of the other service are not listed.
        Assert.Contains(service, (await _admin.GetAsync($"/v1/environments/{environment}/flags").Expect(HttpStatusCode.OK)).ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(service, (await _service.GetAsync($"/v1/environments/{environment}/flags").Expect(HttpStatusCode.OK)).ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_scoped_key_sees_a_shared_host_with_its_own_slots_only()
    {
        var (environment, service, _, hosts) = await Theirs();
        var release = await CatalogApiTests.Release(_admin, ScopeService, "1.3.0");
        var rollout = await CatalogApiTests.Rollout(_admin, release, environment);
        await _admin.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        var both = await _admin.GetAsync($"/v1/hosts/{hosts[0]}").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService, service], both["services"]!.AsObject().Select(s => s.Key).Order(StringComparer.Ordinal));

        var host = await _service.GetAsync($"/v1/hosts/{hosts[0]}").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], host["services"]!.AsObject().Select(s => s.Key));
        Assert.Equal("1.3.0", (string?)host["currentVersion"]);
        Assert.DoesNotContain(service, host.ToJsonString(), StringComparison.Ordinal);
        var listed = (await _service.GetAsync($"/v1/hosts?environment={environment}").Expect(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(2, listed.Count);
        Assert.All(listed, h => Assert.Equal([ScopeService], h!["services"]!.AsObject().Select(s => s.Key)));
        var desired = await _service.GetAsync($"/v1/hosts/{hosts[0]}/desired").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], desired["services"]!.AsArray().Select(s => (string)s!["service"]!));
    }

    [Fact]
    public async Task The_service_list_shows_a_scoped_key_its_services_and_an_unscoped_key_every_one()
    {
        var (_, service, _, _) = await Theirs();
        await _admin.WaitFor("/v1/services", list => list.AsArray().Any(s => (string?)s!["service"] == service));
        var release = await CatalogApiTests.Release(_admin, ScopeService, "1.4.0");
        await _admin.PutJson($"/v1/services/{ScopeService}/owner", new { team = "shop-team" }).Expect(HttpStatusCode.OK);
        Assert.NotNull(release);

        var mine = await _service.GetAsync("/v1/services").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], mine.AsArray().Select(s => (string)s!["service"]!));
        var both = await engine.As(ScopedKey).GetAsync("/v1/services").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeService], both.AsArray().Select(s => (string)s!["service"]!));
        var environmentOnly = await engine.As(ScopedViewerKey).GetAsync("/v1/services").Expect(HttpStatusCode.OK);
        Assert.Contains(environmentOnly.AsArray(), s => (string?)s!["service"] == service);
    }
}
