using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CsCheck;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// One permission table: the policy table in code (<see cref="Policies.RolesByPolicy"/>) and the route table (the
/// endpoint data source) make the permission table in docs/permissions.md, and the engine enforces exactly what they say, for every route,
/// every combination of roles, and agent keys bound to different environments. A new route without a policy fails here.
/// </summary>
[Collection(EngineCollection.Name)]
public class PermissionTableTests(EngineFactory engine)
{
    private IReadOnlyList<EndpointDataSource> Sources => engine.Services.GetServices<EndpointDataSource>().ToList();

    [Fact]
    public void Every_v1_route_names_one_policy_of_the_policy_table()
    {
        Assert.Empty(PermissionTable.Unpoliced(Sources));
        Assert.True(PermissionTable.Rows(Sources).Count > 50);
    }

    [Fact]
    public void Every_policy_of_the_table_is_used_by_a_route_and_names_only_known_roles()
    {
        var used = PermissionTable.Rows(Sources).Select(r => r.Policy).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(Policies.RolesByPolicy.Keys.Except(used).Order());
        Assert.Empty(Policies.RolesByPolicy.Values.SelectMany(r => r).Except(Roles.All).Distinct().Order());
    }

    [Fact]
    public void The_documented_permission_table_is_generated_from_the_policy_table()
    {
        var path = ReadmePath();
        var readme = File.ReadAllText(path);
        var section = PermissionTable.Markdown(PermissionTable.Rows(Sources));
        var regenerated = PermissionTable.Replace(readme, section);
        Assert.True(regenerated is not null, "docs/permissions.md has no <!-- permissions:begin --> … <!-- permissions:end --> section");
        if (Environment.GetEnvironmentVariable("DEPLOY_ENGINE_UPDATE_README") == "1")
        {
            File.WriteAllText(path, regenerated);
            return;
        }

        Assert.True(regenerated == readme,
            "docs/permissions.md's permission table differs from the code's policy and route tables; run deploy/update-permissions.sh and review the diff.");
    }

    /// <summary>Keys for every non-empty combination of roles (agent combinations bound to one of two environments).</summary>
    private static readonly int Combinations = (1 << Roles.All.Length) - 1;

    private static string ComboKey(int mask) => $"perm-combo-key-{mask}";

    private static IReadOnlyList<string> ComboRoles(int mask) => Roles.All.Where((_, i) => (mask & (1 << i)) != 0).ToList();

    [Fact]
    public async Task Every_route_answers_every_combination_of_roles_exactly_as_its_policy_says()
    {
        using var combos = engine.WithWebHostBuilder(b =>
        {
            for (var mask = 1; mask <= Combinations; mask++)
            {
                var n = 100 + mask;
                b.UseSetting($"Auth:Keys:{n}:Name", $"combo-{mask}");
                b.UseSetting($"Auth:Keys:{n}:Key", ComboKey(mask));
                b.UseSetting($"Auth:Keys:{n}:Roles", string.Join(',', ComboRoles(mask)));
                // The scope dimension: agent combinations are bound to one environment or to two.
                b.UseSetting($"Auth:Keys:{n}:Environments", mask % 2 == 0 ? "perm-scope-a" : "perm-scope-a,perm-scope-b");
            }
        });
        var rows = PermissionTable.Rows(combos.Services.GetServices<EndpointDataSource>());
        var clients = new Dictionary<int, HttpClient>();
        HttpClient Client(int mask)
        {
            if (!clients.TryGetValue(mask, out var client))
            {
                client = combos.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ComboKey(mask));
                clients[mask] = client;
            }

            return client;
        }

        var wrong = new List<string>();
        await Gen.Select(Gen.Int[0, rows.Count - 1], Gen.Int[1, Combinations]).SampleAsync(async t =>
        {
            var (index, mask) = t;
            var row = rows[index];
            var roles = ComboRoles(mask);
            var allowed = row.Roles.Intersect(roles).Any();
            using var request = new HttpRequestMessage(new HttpMethod(row.Method), Probe(row.Route));
            if (row.Method is "POST" or "PUT")
            {
                // An empty object: an allowed caller gets a validation or not-found answer, never a change.
                request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            }

            using var response = await Client(mask).SendAsync(request, HttpCompletionOption.ResponseHeadersRead); // the event stream never ends
            var forbidden = await ByRole(response);
            if (forbidden == allowed || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.InternalServerError)
            {
                lock (wrong)
                {
                    wrong.Add($"{row.Method} {row.Route} as [{string.Join(',', roles)}]: {(int)response.StatusCode} (policy {row.Policy}: {(allowed ? "allowed" : "403")})");
                }
            }
        }, iter: 1500, threads: 1);

        foreach (var client in clients.Values) client.Dispose();
        var distinct = wrong.Distinct().Order().ToList();
        Assert.True(distinct.Count == 0, string.Join('\n', distinct));
    }

    [Fact]
    public async Task Each_single_role_key_of_the_engine_can_call_exactly_the_routes_its_policies_give_it()
    {
        var keys = new (string Role, string Key)[]
        {
            (Roles.Pipeline, PipelineKey), (Roles.Operator, OperatorKey), (Roles.Viewer, ViewerKey), (Roles.Agent, AgentKey),
            (Roles.Agent, BoundAgentKey), (Roles.Approver, ApproverKey), (Roles.Itsm, ItsmKey),
        };
        var wrong = new List<string>();
        foreach (var row in PermissionTable.Rows(Sources))
        {
            foreach (var (role, key) in keys)
            {
                using var client = engine.As(key);
                using var request = new HttpRequestMessage(new HttpMethod(row.Method), Probe(row.Route));
                if (row.Method is "POST" or "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead); // the event stream never ends
                var allowed = row.Roles.Contains(role);
                if (await ByRole(response) == allowed || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.InternalServerError)
                {
                    wrong.Add($"{row.Method} {row.Route} as {role}: {(int)response.StatusCode} (expected {(allowed ? "allowed" : "403")})");
                }
            }
        }

        Assert.Empty(wrong);
    }

    /// <summary>
    /// A 403 for the key's roles. The combination keys are scoped to environments, and a probe id names nothing, so a
    /// key the roles admit may still be refused by its scope (KeyScopeTests covers that): that 403 passed the role check.
    /// </summary>
    private static async Task<bool> ByRole(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.Forbidden
        && !(await response.Content.ReadAsStringAsync()).Contains(Problems.OutsideKeyScopeTitle, StringComparison.Ordinal);

    /// <summary>The route with its parameters filled; an environment name is inside every combination key's scope, so a 403 there is the role's.</summary>
    private static string Probe(string route) => System.Text.RegularExpressions.Regex.Replace(
        route.Replace("/v1/environments/{name}", "/v1/environments/perm-scope-a", StringComparison.Ordinal), "\\{[^}]+\\}", "matrix-probe");

    private static string ReadmePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Deploy.Engine.sln"))) return Path.Combine(dir.FullName, "docs", "permissions.md");
        }

        throw new InvalidOperationException("no Deploy.Engine.sln above " + AppContext.BaseDirectory);
    }
}
