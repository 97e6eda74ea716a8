using Semver;

namespace Deploy.Engine.Domain.Governance;

/// <summary>
/// Where an incident applies: an environment, a service, both (that service in that environment), or neither
/// (everything).
/// </summary>
public sealed record IncidentScope(string? Environment, string? Service)
{
    public bool IsEverything => Environment is null && Service is null;

    public bool Covers(string environment, string service) =>
        (Environment is null || string.Equals(Environment, environment, StringComparison.Ordinal))
        && (Service is null || string.Equals(Service, service, StringComparison.Ordinal));

    public override string ToString() => (Environment, Service) switch
    {
        (null, null) => "everything",
        ({ } e, null) => $"environment '{e}'",
        (null, { } s) => $"service '{s}'",
        ({ } e, { } s) => $"service '{s}' in environment '{e}'",
    };
}

/// <summary>An active incident: rollouts in its scope hold until it is resolved.</summary>
public sealed record ActiveIncident(string Id, IncidentScope Scope, string Title, string Severity, DateTimeOffset DeclaredAt, string DeclaredBy);

/// <summary>
/// Incident halt: while an incident covers the rollout's environment and service, new rollouts queue and running
/// ones pause at their next step boundary. Releases of the emergency workflow (the fix for the incident) pass.
/// </summary>
public static class IncidentRules
{
    /// <summary>The incidents that hold a rollout, oldest first; empty when it may go on.</summary>
    public static IReadOnlyList<ActiveIncident> Holding(IEnumerable<ActiveIncident> incidents, string environment, string service, bool emergency) =>
        emergency ? [] : incidents.Where(i => i.Scope.Covers(environment, service)).OrderBy(i => i.DeclaredAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();

    public static string Reason(IReadOnlyList<ActiveIncident> holding) =>
        string.Join("; ", holding.Select(i => $"incident '{i.Id}' ({i.Severity}: {i.Title}) is active for {i.Scope} since {CalendarRules.Utc(i.DeclaredAt)}"))
        + "; waiting until it is resolved (POST /v1/incidents/{id}/resolve), or ship the fix as an emergency release";
}

/// <summary>
/// A fleet-wide blast-radius budget: at most <c>limit</c> distinct hosts of a scope (hosts whose labels match a
/// selector) change at once, whatever release they belong to.
/// </summary>
public static class BlastRadius
{
    /// <summary>
    /// The most hosts that may change at once: <c>maxHosts</c> if given; otherwise <c>max(1, floor(hosts × maxPercent / 100))</c>;
    /// with both, the smaller. At least 1, so a rollout can always make progress one host at a time.
    /// Examples: 100 hosts at 5 % → 5; 30 hosts at 5 % → 1 (1.5 rounds down); 30 hosts at 5 % with maxHosts 3 → 1.
    /// </summary>
    public static int Limit(int hostsInScope, double? maxPercent, int? maxHosts)
    {
        var byPercent = maxPercent is { } p ? Math.Max(1, (int)Math.Floor(hostsInScope * p / 100.0 + 1e-9)) : int.MaxValue;
        var byCount = maxHosts is { } m ? Math.Max(1, m) : int.MaxValue;
        var limit = Math.Min(byPercent, byCount);
        return limit == int.MaxValue ? Math.Max(1, hostsInScope) : limit;
    }

    /// <summary>
    /// Whether <paramref name="requested"/> fits beside the hosts other rollouts hold: the union of both must stay
    /// within <paramref name="limit"/>. Hosts another rollout already holds count once.
    /// </summary>
    public static bool Fits(IReadOnlyCollection<string> heldByOthers, IReadOnlyCollection<string> requested, int limit)
    {
        var union = new HashSet<string>(heldByOthers, StringComparer.Ordinal);
        union.UnionWith(requested);
        return union.Count <= limit;
    }

    /// <summary>A scope's canonical name from its selector: <c>region=eu-west</c>, keys sorted, joined by ','.</summary>
    public static string ScopeName(IReadOnlyDictionary<string, string> selector) =>
        string.Join(',', selector.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));

    public static bool Matches(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.All(s => labels.TryGetValue(s.Key, out var v) && string.Equals(v, s.Value, StringComparison.Ordinal));
}

/// <summary>One declared dependency: a service and the semver range its deployed version must satisfy.</summary>
public sealed record ServiceDependency(string Service, string Range);

/// <summary>One dependency that is not satisfied, and why.</summary>
public sealed record UnmetDependency(string Service, string Range, string? Deployed, string Reason);

/// <summary>
/// Service dependencies: a release may deploy to an environment when every service it depends on runs there in a
/// version inside the declared range. Ranges use the Semver library's syntax (<c>&gt;=2.1.0 &lt;3.0.0</c>,
/// <c>^2.1</c>, <c>~2.1.0</c>, <c>||</c> for alternatives; not npm hyphen ranges).
/// </summary>
public static class DependencyRules
{
    public static bool IsValidRange(string? range) =>
        range is { Length: > 0 and <= 200 } && SemVersionRange.TryParse(range, SemVersionRangeOptions.Loose, out _);

    /// <summary>The dependencies not met, given the version each service runs in the environment (absent: not deployed).</summary>
    public static IReadOnlyList<UnmetDependency> Unmet(
        IEnumerable<ServiceDependency> dependencies, IReadOnlyDictionary<string, string> deployed, string environment)
    {
        var unmet = new List<UnmetDependency>();
        foreach (var dependency in dependencies)
        {
            if (!SemVersionRange.TryParse(dependency.Range, SemVersionRangeOptions.Loose, out var range))
            {
                unmet.Add(new UnmetDependency(dependency.Service, dependency.Range, null, $"the range '{dependency.Range}' of {dependency.Service} is not valid"));
                continue;
            }

            if (!deployed.TryGetValue(dependency.Service, out var version))
            {
                unmet.Add(new UnmetDependency(dependency.Service, dependency.Range, null,
                    $"needs {dependency.Service} {dependency.Range} in {environment}; {environment} does not run {dependency.Service} yet"));
                continue;
            }

            if (!SemVersion.TryParse(version, SemVersionStyles.Any, out var semver) || !range.Contains(semver))
            {
                unmet.Add(new UnmetDependency(dependency.Service, dependency.Range, version,
                    $"needs {dependency.Service} {dependency.Range} in {environment}; {environment} runs {version}"));
            }
        }

        return unmet;
    }

    /// <summary>
    /// Orders releases so that each comes after the services it depends on (a stable topological sort: ties keep the
    /// given order). Returns null with the cycle when there is one.
    /// </summary>
    public static (IReadOnlyList<string>? Order, string? Cycle) Order(
        IReadOnlyList<string> services, IReadOnlyDictionary<string, IReadOnlyList<string>> dependsOn)
    {
        var inTrain = new HashSet<string>(services, StringComparer.Ordinal);
        var order = new List<string>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        string? cycle = null;

        bool Visit(string service, List<string> path)
        {
            if (state.GetValueOrDefault(service) == 2) return true;
            if (state.GetValueOrDefault(service) == 1)
            {
                cycle = string.Join(" -> ", path.SkipWhile(p => p != service).Append(service));
                return false;
            }

            state[service] = 1;
            path.Add(service);
            foreach (var dependency in dependsOn.GetValueOrDefault(service) ?? [])
            {
                if (inTrain.Contains(dependency) && !Visit(dependency, path)) return false;
            }

            path.RemoveAt(path.Count - 1);
            state[service] = 2;
            order.Add(service);
            return true;
        }

        foreach (var service in services)
        {
            if (!Visit(service, [])) return (null, cycle);
        }

        return (order, null);
    }
}
