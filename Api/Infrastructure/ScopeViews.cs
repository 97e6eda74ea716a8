using Deploy.Engine.Api.Resources;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// What a key scoped to services sees of a view that spans services: the one place that cuts a view down to the key's
/// services. <see cref="KeyScopeFilter"/> applies <see cref="Narrow"/> to every answer of a scoped key, whatever the
/// route, so a view of a type listed here cannot reach a service-scoped key whole. The rule, for a key scoped to
/// service <c>shop</c>:
/// <list type="bullet">
/// <item>per-service items (a host's slots, flags, drills, a baseline's services, drift and parity fields
/// <c>services.{name}.*</c>, scheduled rollouts, calendar entries and incidents that name a service) show only
/// <c>shop</c>'s; items that name no service are environment-wide (windows, runtime, an incident of the whole
/// environment) and stay;</item>
/// <item>a host shows only when it runs <c>shop</c> (a slot named for it: the slot a rollout of <c>shop</c> adopted or
/// created), and then only <c>shop</c>'s slots; its top-level current/desired fields are those of the service changed
/// last, so they stay only when they are one of <c>shop</c>'s slots, and are otherwise replaced by the first of them;</item>
/// <item>one item of another service (a drill) is refused (403), as a route naming it would be.</item>
/// </list>
/// Keys scoped to environments only see everything of an environment inside (the route's rule already held).
/// </summary>
public static class ScopeViews
{
    /// <summary>The answer <paramref name="result"/> (a handler's result, perhaps a <c>Results&lt;...&gt;</c>) cut down to the key's services.</summary>
    public static async ValueTask<object?> Narrow(object? result, KeyScope scope, IGrainFactory grains)
    {
        if (scope.Services.Count == 0) return result;
        return (result is INestedHttpResult nested ? nested.Result : result) switch
        {
            Ok<EnvironmentSnapshot> { Value: { } environment } => TypedResults.Ok(await Environment(scope, environment, grains)),
            Ok<HostSnapshot> { Value: { } host } => scope.Shows(host) ? TypedResults.Ok(Host(scope, host)) : Outside(scope, "host", host.Id),
            Ok<DesiredState> { Value: { } desired } => TypedResults.Ok(desired with { Services = desired.Services.Where(s => scope.AllowsService(s.Service)).ToList() }),
            Ok<HostFactsReport> { Value: { } facts } => TypedResults.Ok(facts with { Services = Only(scope, facts.Services) }),
            Ok<EnvironmentDeclarationSnapshot> { Value: { } declared } => TypedResults.Ok(declared with { Declaration = Declaration(scope, declared.Declaration) }),
            Ok<IReadOnlyList<DeclarationChangeSnapshot>> { Value: { } changes } => TypedResults.Ok<IReadOnlyList<DeclarationChangeSnapshot>>(changes.Select(c => Change(scope, c)).ToList()),
            Ok<DeclarationChangeSnapshot> { Value: { } change } => TypedResults.Ok(Change(scope, change)),
            Ok<ParityResponse> { Value: { } parity } => TypedResults.Ok(Parity(scope, parity)),
            Ok<DriftReport> { Value: { } drift } => TypedResults.Ok(await Drift(scope, drift, grains)),
            Ok<FlagSetSnapshot> { Value: { } flags } => TypedResults.Ok(flags with { Flags = flags.Flags.Where(f => scope.AllowsService(f.Service)).ToList() }),
            Ok<Page<RollbackDrill>> { Value: { } drills } => TypedResults.Ok(Drills(drills.Items.Where(d => scope.AllowsService(d.Service)).ToList())),
            Ok<RollbackDrill> { Value: { } drill } => scope.AllowsService(drill.Service) ? result : Outside(scope, "drill", drill.Id),
            Ok<CalendarView> { Value: { } calendar } => TypedResults.Ok(await Calendar(scope, calendar, grains)),
            _ => result,
        };
    }

    /// <summary>Whether a key sees host <paramref name="host"/> at all: in its environments and running one of its services.</summary>
    public static bool Shows(this KeyScope scope, HostSnapshot host) =>
        scope.AllowsEnvironment(host.Environment) && (scope.Services.Count == 0 || host.Services.Keys.Any(scope.Services.Contains));

    /// <summary>A host with only the key's services' slots (see the class comment for the top-level fields).</summary>
    public static HostSnapshot Host(KeyScope scope, HostSnapshot host)
    {
        if (scope.Services.Count == 0) return host;
        var mine = Only(scope, host.Services);
        if (mine.Values.Any(s => SameAsTop(host, s)) || mine.Count == 0) return host with { Services = mine };
        var first = mine.OrderBy(s => s.Key, StringComparer.Ordinal).First().Value;
        return host with
        {
            Services = mine,
            State = first.State,
            CurrentArtifact = first.CurrentArtifact,
            CurrentVersion = first.CurrentVersion,
            DesiredArtifact = first.DesiredArtifact,
            DesiredVersion = first.DesiredVersion,
            PreviousArtifact = first.PreviousArtifact,
            PreviousVersion = first.PreviousVersion,
            Rollout = first.Rollout,
            LastError = first.LastError,
        };
    }

    private static bool SameAsTop(HostSnapshot host, HostServiceSnapshot slot) =>
        host.State == slot.State && host.CurrentArtifact == slot.CurrentArtifact && host.CurrentVersion == slot.CurrentVersion
        && host.DesiredArtifact == slot.DesiredArtifact && host.DesiredVersion == slot.DesiredVersion
        && host.PreviousArtifact == slot.PreviousArtifact && host.PreviousVersion == slot.PreviousVersion
        && host.Rollout == slot.Rollout && host.LastError == slot.LastError;

    /// <summary>
    /// Whether an event of an environment's history is inside the key's services: the service it names, else its
    /// rollout's (read once per rollout, through <paramref name="rollouts"/>); an event that names neither is about the
    /// whole environment (its declaration, spec, drift scan) and is no service-scoped key's, as on the event stream.
    /// </summary>
    public static async Task<bool> Shows(this KeyScope scope, EngineEvent item, IGrainFactory grains, Dictionary<string, string?> rollouts)
    {
        if (scope.Services.Count == 0) return true;
        if (item.Data.TryGetValue("service", out var service) && !string.IsNullOrEmpty(service)) return scope.AllowsService(service);
        if (!item.Data.TryGetValue("rollout", out var rollout) || string.IsNullOrEmpty(rollout)) return false;
        if (!rollouts.TryGetValue(rollout, out var owner))
        {
            owner = GrainKeys.TryParseRollout(rollout, out _, out _) ? (await grains.Ref<IRolloutGrain>(rollout).Get())?.Service : null;
            rollouts[rollout] = owner;
        }

        return owner is not null && scope.AllowsService(owner);
    }

    /// <summary>
    /// For <c>GET /v1/environments/{name}</c> and the environment list: the versions, slots, rollouts and declared
    /// baseline of the key's services only.
    /// </summary>
    public static async Task<EnvironmentSnapshot> Environment(KeyScope scope, EnvironmentSnapshot environment, IGrainFactory grains)
    {
        if (scope.Services.Count == 0) return environment;
        var rollouts = environment.Active.Concat(environment.Queued).Concat(environment.Quarantined.Select(q => q.RolloutId)).Distinct(StringComparer.Ordinal).ToList();
        var snapshots = await Task.WhenAll(rollouts.Select(id => grains.Ref<IRolloutGrain>(id).Get()));
        var mine = rollouts.Zip(snapshots).Where(r => r.Second is { } rollout && scope.AllowsService(rollout.Service)).Select(r => r.First).ToHashSet(StringComparer.Ordinal);
        return environment with
        {
            Services = Only(scope, environment.Services),
            ActiveSlots = Only(scope, environment.ActiveSlots),
            Active = environment.Active.Where(mine.Contains).ToList(),
            Queued = environment.Queued.Where(mine.Contains).ToList(),
            Quarantined = environment.Quarantined.Where(q => mine.Contains(q.RolloutId)).ToList(),
            Declaration = environment.Declaration is { } declared ? declared with { Declaration = Declaration(scope, declared.Declaration) } : null,
        };
    }

    private static EnvironmentDeclaration Declaration(KeyScope scope, EnvironmentDeclaration declaration) =>
        declaration with { Baseline = declaration.Baseline with { Services = Only(scope, declaration.Baseline.Services) } };

    private static DeclarationChangeSnapshot Change(KeyScope scope, DeclarationChangeSnapshot change) => change with
    {
        Proposed = Declaration(scope, change.Proposed),
        Differences = change.Differences.Where(d => scope.AllowsField(d.Field)).ToList(),
    };

    private static ParityResponse Parity(KeyScope scope, ParityResponse parity)
    {
        var differences = parity.Differences.Where(d => scope.AllowsField(d.Field)).ToList();
        return parity with { Differences = differences, Identical = differences.Count == 0 };
    }

    /// <summary>The drifted and unreported hosts that run the key's services (one read of each), with the fields of those services and the host's runtime.</summary>
    private static async Task<DriftReport> Drift(KeyScope scope, DriftReport drift, IGrainFactory grains)
    {
        var ids = drift.Drifted.Select(d => d.HostId).Concat(drift.Unreported).Distinct(StringComparer.Ordinal).ToList();
        var hosts = await Task.WhenAll(ids.Select(id => grains.Ref<IHostGrain>(id).Get()));
        var shown = ids.Zip(hosts).Where(h => h.Second is { } host && scope.Shows(host)).Select(h => h.First).ToHashSet(StringComparer.Ordinal);
        return drift with
        {
            Drifted = drift.Drifted.Where(d => shown.Contains(d.HostId))
                .Select(d => d with { Fields = d.Fields.Where(f => scope.AllowsField(f.Field)).ToList() })
                .Where(d => d.Fields.Count > 0).ToList(),
            Unreported = drift.Unreported.Where(shown.Contains).ToList(),
        };
    }

    private static async Task<CalendarView> Calendar(KeyScope scope, CalendarView calendar, IGrainFactory grains)
    {
        var releases = await Task.WhenAll(calendar.Exceptions.Select(e => grains.Ref<IReleaseGrain>(e.Release).Get()));
        return calendar with
        {
            Windows = calendar.Windows.Where(w => w.Service is null || scope.AllowsService(w.Service)).ToList(),
            Freezes = calendar.Freezes.Where(f => f.Service is null || scope.AllowsService(f.Service)).ToList(),
            Upcoming = calendar.Upcoming.Where(u => u.Service is null || scope.AllowsService(u.Service)).ToList(),
            Exceptions = calendar.Exceptions.Zip(releases).Where(e => e.Second is { } release && scope.AllowsService(release.Service)).Select(e => e.First).ToList(),
            Incidents = calendar.Incidents.Where(i => i.Service is null || scope.AllowsService(i.Service)).ToList(),
            Rollouts = calendar.Rollouts.Where(r => scope.AllowsService(r.Service)).ToList(),
        };
    }

    /// <summary>
    /// A baseline, drift or declaration-change field: <c>services.{name}.…</c> (<c>baseline.services.{name}.…</c> in a
    /// change) belongs to that service; any other (<c>runtime.…</c>, <c>tier</c>) to the whole environment.
    /// </summary>
    private static bool AllowsField(this KeyScope scope, string field)
    {
        const string prefix = "services.";
        if (field.StartsWith("baseline.", StringComparison.Ordinal)) field = field["baseline.".Length..];
        if (!field.StartsWith(prefix, StringComparison.Ordinal)) return true;
        var dot = field.IndexOf('.', prefix.Length);
        return scope.AllowsService(dot < 0 ? field[prefix.Length..] : field[prefix.Length..dot]);
    }

    private static Dictionary<string, T> Only<T>(KeyScope scope, IReadOnlyDictionary<string, T> byService) =>
        byService.Where(s => scope.AllowsService(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);

    private static Page<RollbackDrill> Drills(List<RollbackDrill> items) => new() { Items = items, Total = items.Count, Offset = 0, Limit = items.Count };

    private static ProblemHttpResult Outside(KeyScope scope, string what, string id) =>
        Problems.OutsideKeyScope($"{scope.Describe()}; {what} '{id}' is not inside it (or does not exist)");
}
