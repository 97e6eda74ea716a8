using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>One route and method, the policy it names, the roles that policy admits, and how a key's scope holds on it.</summary>
public sealed record PermissionRow(string Method, string Route, string Policy, IReadOnlyList<string> Roles, string KeyScope = "");

/// <summary>
/// The permission table, read from the mapped endpoints (the route table) and <see cref="Policies.RolesByPolicy"/>
/// (the policy table): what docs/permissions.md shows and what the authorization tests check, so the two cannot drift. Every
/// <c>/v1</c> route must name exactly one policy of the table; <see cref="Unpoliced"/> lists those that do not.
/// </summary>
public static class PermissionTable
{
    public const string Begin = "<!-- permissions:begin (generated from Policies.RolesByPolicy and the route table by PermissionTableTests; do not edit) -->";
    public const string End = "<!-- permissions:end -->";

    private static IEnumerable<(string Method, string Route, IReadOnlyList<string> Policies, bool Anonymous, ScopeRule? Scope)> V1(IEnumerable<EndpointDataSource> sources) =>
        sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (
                m,
                Normalise(e.RoutePattern.RawText!),
                (IReadOnlyList<string>)e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).Distinct().ToList()!,
                e.Metadata.GetMetadata<IAllowAnonymous>() is not null,
                ScopeRules.Of(e))))
            .DistinctBy(e => (e.m, e.Item2));

    /// <summary>
    /// Routes under <c>/v1</c> or <c>/ofrep</c> that declare no key-scope rule, more than one, or sit outside the group
    /// whose filter enforces them (<see cref="KeyScopeFilter"/>).
    /// </summary>
    public static IReadOnlyList<string> Unscoped(IEnumerable<EndpointDataSource> sources) =>
        sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/v1/", StringComparison.Ordinal) || raw.StartsWith("/ofrep/", StringComparison.Ordinal)))
            .Select(e => (Route: $"{string.Join(',', e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])} {e.RoutePattern.RawText}",
                Count: e.Metadata.GetOrderedMetadata<ScopeRule>().Count, Enforced: e.Metadata.GetMetadata<KeyScopeEnforced>() is not null))
            .Where(e => e.Count != 1 || !e.Enforced)
            .Select(e => $"{e.Route}: " + (!e.Enforced ? "is not mapped in the key-scope group (ApiExtensions)"
                : e.Count == 0 ? "declares no key-scope rule (ScopedBy, ScopeFree or UnscopedKeysOnly)" : $"declares {e.Count} key-scope rules"))
            .Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Routes that name no policy, several, one not in the table, or allow anonymous callers.</summary>
    public static IReadOnlyList<string> Unpoliced(IEnumerable<EndpointDataSource> sources) =>
        V1(sources)
            .Where(e => e.Anonymous || e.Policies.Count != 1 || e.Policies[0] is not { } p || !Policies.RolesByPolicy.ContainsKey(p))
            .Select(e => $"{e.Method} {e.Route}: " + (e.Anonymous ? "allows anonymous callers"
                : e.Policies.Count == 0 || e.Policies.All(p => p is null) ? "names no policy (RequireAuthorization(Policies.X))"
                : e.Policies.Count > 1 ? $"names {e.Policies.Count} policies"
                : $"names policy '{e.Policies[0]}', which Policies.RolesByPolicy does not define"))
            .Order(StringComparer.Ordinal)
            .ToList();

    public static IReadOnlyList<PermissionRow> Rows(IEnumerable<EndpointDataSource> sources) =>
        V1(sources)
            .Where(e => !e.Anonymous && e.Policies.Count == 1 && e.Policies[0] is { } p && Policies.RolesByPolicy.ContainsKey(p))
            .Select(e => new PermissionRow(e.Method, e.Route, e.Policies[0], Policies.RolesByPolicy[e.Policies[0]], e.Scope?.Describe() ?? "none declared"))
            .OrderBy(r => r.Route, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal)
            .ToList();

    /// <summary>The docs/permissions.md section: the roles of each policy, then every route with its policy and roles.</summary>
    public static string Markdown(IReadOnlyList<PermissionRow> rows)
    {
        var text = new StringBuilder();
        text.Append(Begin).Append('\n');
        text.Append("| policy | roles | routes |\n|---|---|---|\n");
        foreach (var (policy, roles) in Policies.RolesByPolicy.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"| `{policy}` | {string.Join(", ", roles)} | {rows.Count(r => r.Policy == policy)} |\n");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"\nKey scope: {rows.Count(r => r.KeyScope.StartsWith("scoped by", StringComparison.Ordinal))} routes scoped by what they touch, " +
            $"{rows.Count(r => r.KeyScope == "scope-free")} scope-free, {rows.Count(r => r.KeyScope == "unscoped keys only")} for unscoped keys only.\n");
        text.Append("\n| route | method | policy | roles | key scope |\n|---|---|---|---|---|\n");
        foreach (var row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| `{row.Route}` | {row.Method} | `{row.Policy}` | {string.Join(", ", row.Roles)} | {row.KeyScope} |\n");
        }

        text.Append(End);
        return text.ToString();
    }

    /// <summary><paramref name="readme"/> with its generated section replaced by <paramref name="section"/>; null when it has no markers.</summary>
    public static string? Replace(string readme, string section)
    {
        var begin = readme.IndexOf("<!-- permissions:begin", StringComparison.Ordinal);
        var end = readme.IndexOf(End, StringComparison.Ordinal);
        return begin < 0 || end < begin ? null : readme[..begin] + section + readme[(end + End.Length)..];
    }

    /// <summary>The route pattern as mapped, with a group's root written with its trailing slash ("/v1/releases/").</summary>
    public static string Normalise(string pattern) => pattern.EndsWith('/') || pattern.Count(c => c == '/') > 2 ? pattern : pattern + "/";
}
