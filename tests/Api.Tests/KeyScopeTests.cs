using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// A key scoped to environments and services is held to them on every route, as an attacker holding one would test
/// it: each route declares how (ScopeRules), a key scoped to one service and environment is refused (403, naming its
/// scope, nothing written) everywhere it names another's release, rollout, host, environment or service, and keeps
/// doing its own work inside.
/// </summary>
[Collection(EngineCollection.Name)]
public class KeyScopeTests(EngineFactory engine)
{
    private readonly HttpClient _admin = engine.As(AdminKey);
    private readonly HttpClient _scoped = engine.As(ScopedKey);

    private IReadOnlyList<EndpointDataSource> Sources => engine.Services.GetServices<EndpointDataSource>().ToList();

    [Fact]
    public void Every_route_declares_how_a_keys_scope_holds_on_it_and_sits_behind_the_scope_filter()
    {
        Assert.Empty(PermissionTable.Unscoped(Sources));
        var rows = PermissionTable.Rows(Sources);
        Assert.DoesNotContain(rows, r => r.KeyScope == "none declared");
        // The global routes named in the design are for unscoped keys only.
        foreach (var route in new[] { "/v1/audit/", "/v1/audit/verify", "/v1/webhooks/", "/v1/artifacts/retention/run", "/v1/incidents/webhook", "/v1/reviews/factors", "/v1/reviews/proposals/{item}" })
        {
            Assert.All(rows.Where(r => r.Route == route), r => Assert.Equal("unscoped keys only", r.KeyScope));
        }

        // Writes that change a whole environment or host are no service-scoped key's; an agent's report or sample is its slot's.
        var whole = ScopedByRule.Describe(Scope.WholeEnvironment);
        foreach (var (method, route) in new[]
        {
            ("PUT", "/v1/environments/{name}"), ("PUT", "/v1/environments/{name}/declaration"), ("PUT", "/v1/environments/{name}/calendar"),
            ("POST", "/v1/environments/{name}/declaration/changes/{id}/approve"), ("POST", "/v1/environments/{name}/declaration/changes/{id}/reject"),
            ("POST", "/v1/environments/{name}/drift/scan"), ("POST", "/v1/environments/{name}/drift/reconcile"),
            ("POST", "/v1/environments/{name}/simulated-hosts"), ("PUT", "/v1/environments/{name}/parameters"),
            ("POST", "/v1/environments/{name}/parameters/changes/{id}/approve"), ("POST", "/v1/environments/{name}/parameters/changes/{id}/reject"),
        })
        {
            Assert.Equal(whole, Assert.Single(rows, r => r.Method == method && r.Route == route).KeyScope);
        }

        Assert.Equal(ScopedByRule.Describe(Scope.NewHost), Assert.Single(rows, r => r.Method == "POST" && r.Route == "/v1/hosts/").KeyScope);
        foreach (var route in new[] { "/v1/hosts/{id}/heartbeat", "/v1/hosts/{id}/facts", "/v1/hosts/{id}/quarantine/clear" })
        {
            Assert.Equal(ScopedByRule.Describe(Scope.WholeHost), Assert.Single(rows, r => r.Method == "POST" && r.Route == route).KeyScope);
        }

        foreach (var route in new[] { "/v1/hosts/{id}/reports", "/v1/hosts/{id}/metrics" })
        {
            Assert.Equal(ScopedByRule.Describe(Scope.HostSlot), Assert.Single(rows, r => r.Method == "POST" && r.Route == route).KeyScope);
        }
    }

    /// <summary>What exists outside the scoped key's scope: another service's release rolled out to another environment.</summary>
    private sealed record Outside(string Environment, string Service, string Release, string Rollout, string Host, string ChangeRecord, string Incident);

    private async Task<Outside> Other()
    {
        var environment = await CatalogApiTests.Environment(_admin, TestHttp.Unique("scope-prod"), hosts: 2);
        var service = TestHttp.Unique("scope-other");
        var release = await CatalogApiTests.Release(_admin, service, "2.0.0");
        var rollout = await CatalogApiTests.Rollout(_admin, release, environment);
        await _admin.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
        await _admin.WaitFor($"/v1/rollouts?service={service}", p => p["items"]!.AsArray().Any(i => (string?)i!["status"] == "Succeeded"));
        var host = (string)(await _admin.GetAsync($"/v1/hosts?environment={environment}").Expect(HttpStatusCode.OK))["items"]![0]!["id"]!;
        var record = TestHttp.Unique("chg");
        await _admin.PostJson("/v1/change-records", new { id = record, title = "other change", state = "pending", service, end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);
        var incident = (string)(await _admin.PostJson("/v1/incidents", new { scope = new { environment }, title = "other outage" })
            .Expect(HttpStatusCode.Created))["id"]!;
        return new Outside(environment, service, release, rollout, host, record, incident);
    }

    /// <summary>The route with its parameters naming what is outside the scope (ids of nothing at all where nothing cheap exists: the same 403).</summary>
    private static string Fill(string route, Outside o) => System.Text.RegularExpressions.Regex.Replace(route
            .Replace("/v1/services/{name}", $"/v1/services/{o.Service}", StringComparison.Ordinal)
            .Replace("{a}", ScopeEnvironment, StringComparison.Ordinal).Replace("{b}", o.Environment, StringComparison.Ordinal)
            .Replace("/v1/environments/{name}", $"/v1/environments/{o.Environment}", StringComparison.Ordinal)
            .Replace("/v1/releases/{id}", $"/v1/releases/{o.Release}", StringComparison.Ordinal)
            .Replace("/v1/rollouts/{id}", $"/v1/rollouts/{o.Rollout}", StringComparison.Ordinal)
            .Replace("/v1/hosts/{id}", $"/v1/hosts/{o.Host}", StringComparison.Ordinal)
            .Replace("/v1/change-records/{id}", $"/v1/change-records/{o.ChangeRecord}", StringComparison.Ordinal)
            .Replace("/v1/incidents/{id}", $"/v1/incidents/{o.Incident}", StringComparison.Ordinal)
            .Replace("/v1/analyses/{id}", $"/v1/analyses/{GrainKeys.Analysis(o.Rollout, 1)}", StringComparison.Ordinal)
            .Replace("/v1/reviews/{id}", $"/v1/reviews/{GrainKeys.Review(o.Rollout)}", StringComparison.Ordinal)
            .Replace("{digest}", TestHttp.Digest("2.0.0"), StringComparison.Ordinal)
            .Replace("{number}", "1", StringComparison.Ordinal),
        "\\{[^}]+\\}", "x1");

    /// <summary>Bodies of the creates and of the routes that find their scope in the body; every other write sends <c>{}</c>.</summary>
    private static object? Body(string method, string route, Outside o) => $"{method} {route}" switch
    {
        "POST /v1/releases/" => new { service = o.Service, version = "9.0.0", artifact = TestHttp.Digest("9.0.0") },
        "POST /v1/rollouts/" => new { releaseId = o.Release, environment = ScopeEnvironment, strategy = new { preset = "AllAtOnce" } },
        "POST /v1/rollouts/preview" => new { environment = o.Environment, strategy = new { preset = "AllAtOnce" } },
        "POST /v1/hosts/" => new { id = TestHttp.Unique("intruder"), environment = o.Environment },
        "POST /v1/trains/" => new { name = TestHttp.Unique("train"), releases = new[] { o.Release }, environment = ScopeEnvironment },
        "POST /v1/change-records/" => new { id = TestHttp.Unique("chg"), title = "mine", state = "approved", service = o.Service, end = DateTimeOffset.UtcNow.AddDays(1) },
        "POST /v1/incidents/" => new { scope = new { environment = o.Environment }, title = "not mine" },
        "POST /v1/releases/{id}/approvals" => new { environment = ScopeEnvironment, decision = "approve" },
        "POST /v1/environments/{name}/drills/" => new { releaseId = o.Release },
        "POST /v1/environments/{name}/calendar/exceptions" => new { release = o.Release, reason = "x" },
        _ => method is "POST" or "PUT" ? new { } : null,
    };

    [Fact]
    public async Task A_key_scoped_to_one_service_and_environment_is_refused_on_every_route_that_names_another_and_nothing_is_written()
    {
        var o = await Other();
        var before = await Settled(o);
        var writtenBefore = await Written();
        var wrong = new List<string>();
        var swept = 0;
        foreach (var row in PermissionTable.Rows(Sources).Where(r => r.KeyScope != "scope-free"))
        {
            swept++;
            var url = Fill(row.Route, o);
            using var request = new HttpRequestMessage(new HttpMethod(row.Method), url);
            if (Body(row.Method, row.Route, o) is { } body) request.Content = JsonContent(body);
            using var response = await _scoped.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Forbidden || !text.Contains(Problems.OutsideKeyScopeTitle, StringComparison.Ordinal)
                || !text.Contains("this key is scoped to", StringComparison.Ordinal))
            {
                wrong.Add($"{row.Method} {url} ({row.KeyScope}): {(int)response.StatusCode} {text[..Math.Min(text.Length, 200)]}");
            }
        }

        // OFREP sits outside /v1 but evaluates one environment's flags.
        var ofrep = await _scoped.PostJson("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u1", environment = o.Environment } });
        if (ofrep.StatusCode != HttpStatusCode.Forbidden) wrong.Add($"POST /ofrep/v1/evaluate/flags: {(int)ofrep.StatusCode}");

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
        Assert.True(swept > 80, $"only {swept} routes were swept");
        Assert.Equal(before, await Visible(o));
        Assert.Equal(writtenBefore, await Written());
    }

    /// <summary>The audit entries the scoped key caused (other tests of this class write some inside its scope).</summary>
    private async Task<int> Written() =>
        (await _admin.GetAsync("/v1/audit?principal=scoped-shop&limit=1000").Expect(HttpStatusCode.OK))["items"]!.AsArray().Count;

    /// <summary>The outside resources once the catalogs have caught up with the rollout (two reads alike).</summary>
    private async Task<string> Settled(Outside o)
    {
        var seen = await Visible(o);
        for (var i = 0; i < 40; i++)
        {
            await Task.Delay(250);
            var again = await Visible(o);
            if (again == seen) return seen;
            seen = again;
        }

        return seen;
    }

    /// <summary>What an unscoped key sees of the outside resources; any write the sweep let through would change it.</summary>
    private async Task<string> Visible(Outside o)
    {
        var parts = new List<string>();
        foreach (var url in new[]
        {
            $"/v1/releases?service={o.Service}", $"/v1/rollouts?service={o.Service}", $"/v1/hosts?environment={o.Environment}",
            $"/v1/change-records/{o.ChangeRecord}", "/v1/incidents", $"/v1/environments/{o.Environment}/calendar",
            $"/v1/environments/{o.Environment}/parameters", $"/v1/environments/{o.Environment}/flags", $"/v1/releases/{o.Release}/governance?environment={o.Environment}",
            $"/v1/environments/{o.Environment}/drills", $"/v1/services/{o.Service}/dependencies",
        })
        {
            using var response = await _admin.GetAsync(url);
            var node = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if (node is JsonObject page)
            {
                page.Remove("evaluatedAt"); // computed at read time
                page.Remove("traceId");
            }

            // Instants computed at read time ("now", "evaluatedAt") are not state.
            parts.Add($"{url} {(int)response.StatusCode} " + System.Text.RegularExpressions.Regex.Replace(node?.ToJsonString() ?? "", "\"(now|evaluatedAt)\":\"[^\"]*\"", "\"$1\":\"\""));
        }

        var rollout = await _admin.GetAsync($"/v1/rollouts/{o.Rollout}").Expect(HttpStatusCode.OK);
        parts.Add($"{rollout["status"]} {rollout["decisions"]!.AsArray().Count}");
        var environments = await _admin.GetAsync("/v1/environments").Expect(HttpStatusCode.OK);
        parts.Add(string.Join(',', environments["items"]!.AsArray().Select(e => (string)e!["name"]!).Where(n => n.StartsWith("scope-", StringComparison.Ordinal)).Order()));
        return string.Join('\n', parts);
    }

    [Fact]
    public async Task A_scoped_key_mixing_its_own_release_with_another_environment_or_its_environment_with_another_release_is_refused()
    {
        var o = await Other();
        await EnsureScopeEnvironment();
        var mine = await CatalogApiTests.Release(_scoped, ScopeService, "1.1.0");

        var intoProduction = await _scoped.PostJson("/v1/rollouts", new { releaseId = mine, environment = o.Environment, strategy = new { preset = "AllAtOnce" } })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains($"this key is scoped to environments {ScopeEnvironment}; '{o.Environment}' is outside it", (string?)intoProduction["detail"], StringComparison.Ordinal);
        await _scoped.PostJson($"/v1/releases/{mine}/approvals", new { environment = o.Environment, decision = "approve" })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        await _scoped.GetAsync($"/v1/releases/{mine}/governance?environment={o.Environment}").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        var theirs = await _scoped.PostJson("/v1/rollouts", new { releaseId = o.Release, environment = ScopeEnvironment, strategy = new { preset = "AllAtOnce" } })
            .ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains($"this key is scoped to services {ScopeService}; '{o.Service}' is outside it", (string?)theirs["detail"], StringComparison.Ordinal);

        // A release that does not exist gets the same answer as another service's: the key learns nothing of what exists.
        var missing = await _scoped.GetAsync("/v1/releases/rel-doesnotexist").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        var other = await _scoped.GetAsync($"/v1/releases/{o.Release}").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Equal((string?)missing["title"], (string?)other["title"]);
        Assert.Contains("(or does not exist)", (string?)missing["detail"], StringComparison.Ordinal);

        // A key scoped to services only reads any environment, but sees only its services' versions and rollouts there.
        var unscopedView = await _admin.GetAsync($"/v1/environments/{o.Environment}").Expect(HttpStatusCode.OK);
        Assert.NotNull(unscopedView["services"]![o.Service]);
        var serviceView = await engine.As(ServiceOnlyScopedKey).GetAsync($"/v1/environments/{o.Environment}").Expect(HttpStatusCode.OK);
        Assert.Empty(serviceView["services"]!.AsObject());
        var listed = await engine.As(ServiceOnlyScopedKey).GetAsync("/v1/environments").Expect(HttpStatusCode.OK);
        Assert.All(listed["items"]!.AsArray(), e => Assert.DoesNotContain(o.Service, e!["services"]!.AsObject().Select(s => s.Key)));

        // An incident of every environment is not a scoped key's to declare.
        await _scoped.PostJson("/v1/incidents", new { scope = new { all = true }, title = "everything" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.DoesNotContain(o.Rollout, (await _admin.GetAsync($"/v1/rollouts?service={ScopeService}").Expect(HttpStatusCode.OK)).ToJsonString(), StringComparison.Ordinal);
    }

    private async Task EnsureScopeEnvironment()
    {
        if ((await _admin.GetAsync($"/v1/environments/{ScopeEnvironment}")).StatusCode != HttpStatusCode.OK)
        {
            await _admin.PutJson($"/v1/environments/{ScopeEnvironment}", new { concurrencyLimit = 5 }).Expect(HttpStatusCode.OK);
        }

        if ((await _admin.GetAsync($"/v1/hosts?environment={ScopeEnvironment}").Expect(HttpStatusCode.OK))["items"]!.AsArray().Count == 0)
        {
            await _admin.PostJson($"/v1/environments/{ScopeEnvironment}/simulated-hosts", new
            {
                count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
            }).Expect(HttpStatusCode.Created);
        }
    }

    [Fact]
    public async Task Inside_its_scope_a_scoped_key_creates_and_reads_as_before_and_lists_show_only_its_scope()
    {
        var o = await Other();
        await EnsureScopeEnvironment();
        var release = await CatalogApiTests.Release(_scoped, ScopeService, "1.2.0");
        var rollout = await CatalogApiTests.Rollout(_scoped, release, ScopeEnvironment);
        await _scoped.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] is "Succeeded" or "RolledBack" or "Failed");
        var host = (string)(await _scoped.GetAsync($"/v1/hosts?environment={ScopeEnvironment}").Expect(HttpStatusCode.OK))["items"]![0]!["id"]!;

        var allowed = new (string Method, string Url, object? Body, HttpStatusCode Status)[]
        {
            ("GET", $"/v1/releases/{release}", null, HttpStatusCode.OK),
            ("GET", $"/v1/releases/{release}/governance?environment={ScopeEnvironment}", null, HttpStatusCode.OK),
            ("GET", $"/v1/releases/{release}/gates", null, HttpStatusCode.OK),
            ("GET", $"/v1/rollouts/{rollout}", null, HttpStatusCode.OK),
            ("GET", $"/v1/rollouts/{rollout}/events", null, HttpStatusCode.OK),
            ("GET", $"/v1/rollouts/{rollout}/timing", null, HttpStatusCode.OK),
            ("POST", "/v1/rollouts/preview", new { environment = ScopeEnvironment, strategy = new { preset = "AllAtOnce" } }, HttpStatusCode.OK),
            ("GET", $"/v1/hosts/{host}", null, HttpStatusCode.OK),
            ("GET", $"/v1/environments/{ScopeEnvironment}", null, HttpStatusCode.OK),
            ("GET", $"/v1/environments/{ScopeEnvironment}/versions", null, HttpStatusCode.OK),
            ("GET", $"/v1/environments/{ScopeEnvironment}/calendar", null, HttpStatusCode.OK),
            ("GET", $"/v1/services/{ScopeService}/dependencies", null, HttpStatusCode.OK),
            ("GET", $"/v1/metrics/dora?service={ScopeService}", null, HttpStatusCode.OK),
            ("GET", $"/v1/reviews?service={ScopeService}", null, HttpStatusCode.OK),
            ("GET", $"/v1/artifacts/{TestHttp.Digest("1.2.0")}/meta", null, HttpStatusCode.OK),
            ("POST", "/v1/change-records", new { id = TestHttp.Unique("chg"), title = "mine", state = "pending", service = ScopeService, release, end = DateTimeOffset.UtcNow.AddDays(1) }, HttpStatusCode.Created),
            ("POST", "/v1/incidents", new { scope = new { environment = ScopeEnvironment, service = ScopeService }, title = "mine" }, HttpStatusCode.Created),
            ("GET", "/v1/me", null, HttpStatusCode.OK),
        };
        var wrong = new List<string>();
        foreach (var (method, url, body, status) in allowed)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url);
            if (body is not null) request.Content = JsonContent(body);
            using var response = await _scoped.SendAsync(request);
            if (response.StatusCode != status) wrong.Add($"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));

        // Lists keep to the scope.
        var environments = await _scoped.GetAsync("/v1/environments").Expect(HttpStatusCode.OK);
        Assert.Equal([ScopeEnvironment], environments["items"]!.AsArray().Select(e => (string)e!["name"]!));
        var incidents = await _scoped.GetAsync("/v1/incidents").Expect(HttpStatusCode.OK);
        Assert.DoesNotContain(incidents["items"]!.AsArray(), i => (string?)i!["id"] == o.Incident);
        Assert.Contains(incidents["items"]!.AsArray(), i => (string?)i!["service"] == ScopeService);
        var releases = await _scoped.GetAsync("/v1/releases").Expect(HttpStatusCode.OK);
        Assert.All(releases["items"]!.AsArray(), r => Assert.Equal(ScopeService, (string?)r!["service"]));
    }

    [Theory]
    [InlineData("/v1/metrics/dora")]
    [InlineData("/v1/metrics/bottlenecks")]
    [InlineData("/v1/artifacts")]
    public async Task A_service_scoped_key_must_name_its_service_on_lists_that_add_up_every_service(string list)
    {
        var key = engine.As(ServiceOnlyScopedKey);
        var unnamed = await key.GetAsync(list).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains($"this key is scoped to services {ScopeService}", (string?)unnamed["detail"], StringComparison.Ordinal);
        Assert.Contains("name one of yours", (string?)unnamed["detail"], StringComparison.Ordinal);
        await key.GetAsync($"{list}?service=payments").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        var named = await key.GetAsync($"{list}?service={ScopeService}");
        Assert.NotEqual(HttpStatusCode.Forbidden, named.StatusCode);
    }

    [Fact]
    public async Task An_environment_scoped_key_lists_the_hosts_of_its_environment_only()
    {
        await EnsureScopeEnvironment();
        var unnamed = await _scoped.GetAsync("/v1/hosts").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains($"this key is scoped to environments {ScopeEnvironment}", (string?)unnamed["detail"], StringComparison.Ordinal);
        var other = await _scoped.GetAsync("/v1/hosts?environment=production").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        Assert.Contains("'production' is outside it", (string?)other["detail"], StringComparison.Ordinal);
        await _scoped.GetAsync($"/v1/hosts?environment={ScopeEnvironment}").Expect(HttpStatusCode.OK);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)), Encoding.UTF8, "application/json");
}
