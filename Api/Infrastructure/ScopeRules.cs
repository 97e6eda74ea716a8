using Deploy.Engine.Api.Resources;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// How a route finds the environments and services a request touches, for <see cref="ScopeRules.ScopedBy{TBuilder}"/>.
/// A resource that does not exist is outside every scope: a scoped key gets the same 403 for another service's release
/// as for no release at all, so it never learns which exist.
/// </summary>
public enum Scope
{
    /// <summary>The route value <c>{name}</c> is an environment.</summary>
    Environment,

    /// <summary>
    /// The environment <c>{name}</c> as a whole: the route changes what every service in it runs under (its settings,
    /// declaration, calendar, drift reconcile of every host, the hosts every rollout targets), so no key scoped to services
    /// may use it; a key scoped to environments only holds as on <see cref="Environment"/>.
    /// </summary>
    WholeEnvironment,

    /// <summary>The route values <c>{a}</c> and <c>{b}</c> are two environments; both must be inside.</summary>
    EnvironmentPair,

    /// <summary>The route value <c>{name}</c> is a service.</summary>
    Service,

    /// <summary>The release <c>{id}</c>: its service.</summary>
    Release,

    /// <summary>The release <c>{id}</c> (its service) and the environment the body or <c>?environment=</c> names (an approval, a gate result, governance for one).</summary>
    ReleaseAndBodyEnvironment,

    /// <summary>The environment <c>{name}</c> and the release the body names (a freeze exception, a drill): its service.</summary>
    EnvironmentAndBodyRelease,

    /// <summary>The rollout <c>{id}</c>: its environment and its release's service.</summary>
    Rollout,

    /// <summary>The canary analysis <c>{id}</c>: its rollout's environment and service.</summary>
    Analysis,

    /// <summary>The post-implementation review <c>{id}</c>: its rollout's environment and service.</summary>
    Review,

    /// <summary>
    /// The host <c>{id}</c>: its environment, and one of the services it runs (a slot named for it); a host that runs
    /// none of a service-scoped key's services is outside, and within one the key sees only its services' slots. For reads.
    /// </summary>
    Host,

    /// <summary>
    /// One service's slot on the host <c>{id}</c> (a report or a metrics sample): the host's environment and the service
    /// the body names, else the service of the rollout the report answers (a sample naming none: the host's one slot).
    /// </summary>
    HostSlot,

    /// <summary>
    /// The host <c>{id}</c> as a whole (a heartbeat, its facts, clearing its quarantine): its environment and every service
    /// it runs (and, for facts, every service the body names), since the change holds for each of them.
    /// </summary>
    WholeHost,

    /// <summary>The change record <c>{id}</c>: the service it authorises (one without a service authorises nothing and is no scoped key's).</summary>
    ChangeRecord,

    /// <summary>The incident <c>{id}</c>: the environment and service it holds; one that holds every environment or service is no scoped key's.</summary>
    Incident,

    /// <summary>The release train <c>{name}</c>: its environment and the services of every member.</summary>
    Train,

    /// <summary>The artifact <c>{digest}</c>: the services of the releases that name it and the environments they were rolled out to (one of each must be inside).</summary>
    Artifact,

    /// <summary>A new release: the body's service.</summary>
    NewRelease,

    /// <summary>A new rollout: the body's environment and its release's service.</summary>
    NewRollout,

    /// <summary>A plan preview: the body's environment, when it names one (a preview over a host count reads nothing).</summary>
    Preview,

    /// <summary>
    /// A host registering: the body's environment, as a whole (every rollout in an environment targets its hosts, so a new
    /// host joins every service's rollouts): no key scoped to services may register one.
    /// </summary>
    NewHost,

    /// <summary>A new release train: the body's environment and the service of every release it names.</summary>
    NewTrain,

    /// <summary>A new change record: the body's service (and its release's service when it names one).</summary>
    NewChangeRecord,

    /// <summary>A new incident: the environment and service of the body's scope; a scope of everything is no scoped key's.</summary>
    NewIncident,

    /// <summary>
    /// The flag <c>{key}</c> of the environment <c>{name}</c>: the environment and the flag's service, as it is and as the
    /// body sets it (a key scoped to services changes only its services' flags, and never hands one to another service).
    /// </summary>
    Flag,

    /// <summary>
    /// The proposed flag change <c>{id}</c> of the environment <c>{name}</c>: the environment and the service of the flag
    /// it sets and of the flag it replaces or deletes.
    /// </summary>
    FlagChange,

    /// <summary>An OFREP evaluation: the environment in the body's context.</summary>
    FlagEvaluation,

    /// <summary>
    /// A list that aggregates across services: a service-scoped key must name one of its services in <c>?service=</c>;
    /// <c>?environment=</c>, when given, must be inside (the handler keeps an environment-scoped key to its environments).
    /// </summary>
    ServiceFilter,

    /// <summary>
    /// A list across environments that does not filter itself: an environment-scoped key must name one of its
    /// environments in <c>?environment=</c>; <c>?service=</c>, when given, must be inside.
    /// </summary>
    EnvironmentFilter,
}

/// <summary>What a route declares about key scopes: exactly one of these is on every /v1 route's metadata.</summary>
public abstract record ScopeRule
{
    /// <summary>The "key scope" column of docs/permissions.md.</summary>
    public abstract string Describe();
}

/// <summary>The key's scope holds: the rule finds what the request touches.</summary>
public sealed record ScopedByRule(Scope Scope) : ScopeRule
{
    public override string Describe() => Describe(Scope);

    /// <summary>How <paramref name="scope"/> reads in the "key scope" column.</summary>
    public static string Describe(Scope scope) => "scoped by " + scope switch
    {
        Scope.Environment => "environment",
        Scope.WholeEnvironment => "the whole environment (no service-scoped key)",
        Scope.EnvironmentPair => "both environments",
        Scope.Service => "service",
        Scope.Release => "the release's service",
        Scope.ReleaseAndBodyEnvironment => "the release's service + the environment named (body or query)",
        Scope.EnvironmentAndBodyRelease => "environment + body release's service",
        Scope.Rollout => "the rollout's environment + service",
        Scope.Analysis => "the analysis's rollout",
        Scope.Review => "the review's rollout",
        Scope.Host => "the host's environment + one of its services",
        Scope.HostSlot => "the host's environment + the slot's service (the body's, else the report's rollout's or the host's one)",
        Scope.WholeHost => "the host's environment + every service it runs (and facts name)",
        Scope.ChangeRecord => "the record's service",
        Scope.Incident => "the incident's environment + service",
        Scope.Train => "the train's environment + services",
        Scope.Artifact => "the artifact's releases",
        Scope.NewRelease => "body service",
        Scope.NewRollout => "body environment + release's service",
        Scope.Preview => "body environment",
        Scope.NewHost => "the whole body environment (no service-scoped key)",
        Scope.NewTrain => "body environment + releases' services",
        Scope.NewChangeRecord => "body service",
        Scope.NewIncident => "body environment + service",
        Scope.Flag => "environment + the flag's service (as it is and as set)",
        Scope.FlagChange => "environment + the changed flag's service",
        Scope.FlagEvaluation => "context environment",
        Scope.ServiceFilter => "?service= (required of service-scoped keys)",
        Scope.EnvironmentFilter => "?environment= (required of environment-scoped keys)",
        _ => scope.ToString(),
    };
}

/// <summary>The route filters itself by the key's scope, or touches nothing scoped.</summary>
public sealed record ScopeFreeRule(string Why) : ScopeRule
{
    public override string Describe() => "scope-free";
}

/// <summary>The route is global: a key scoped to environments or services never uses it.</summary>
public sealed record UnscopedKeysOnlyRule(string Why) : ScopeRule
{
    public override string Describe() => "unscoped keys only";
}

/// <summary>Marks the endpoints behind <see cref="KeyScopeFilter"/>, so the route-table test can tell a route outside it.</summary>
public sealed class KeyScopeEnforced
{
    public static readonly KeyScopeEnforced Instance = new();

    private KeyScopeEnforced()
    {
    }
}

public static class ScopeRules
{
    /// <summary>The key's scope holds against what <paramref name="scope"/> finds the request touches.</summary>
    public static TBuilder ScopedBy<TBuilder>(this TBuilder builder, Scope scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ScopedByRule(scope));

    /// <summary>The route filters itself by the key's scope or touches nothing scoped; <paramref name="why"/> says which.</summary>
    public static TBuilder ScopeFree<TBuilder>(this TBuilder builder, string why) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ScopeFreeRule(why));

    /// <summary>The route is global; <paramref name="why"/> says why a scoped key may never use it.</summary>
    public static TBuilder UnscopedKeysOnly<TBuilder>(this TBuilder builder, string why) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new UnscopedKeysOnlyRule(why));

    /// <summary>
    /// For <c>GET /v1/environments</c>: a key scoped to environments sees only those (the handler lists every one; this
    /// filter keeps the list's own code free of scope).
    /// </summary>
    public static async ValueTask<object?> OnlyEnvironmentsInScope(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var scope = KeyScope.Of(context.HttpContext.User);
        var answer = result is INestedHttpResult nested ? nested.Result : result;
        if (scope.IsUnscoped || answer is not Microsoft.AspNetCore.Http.HttpResults.Ok<Page<EnvironmentSnapshot>> { Value: { } page }) return result;
        var grains = context.HttpContext.RequestServices.GetRequiredService<IGrainFactory>();
        var inside = await Task.WhenAll(page.Items.Where(e => scope.AllowsEnvironment(e.Name)).Select(e => ScopeViews.Environment(scope, e, grains)));
        return TypedResults.Ok(new Page<EnvironmentSnapshot> { Items = inside, Total = inside.Length, Offset = 0, Limit = inside.Length });
    }

    /// <summary>The rule an endpoint declares; null when it declares none or more than one (the route-table test fails on both).</summary>
    public static ScopeRule? Of(Endpoint endpoint)
    {
        var rules = endpoint.Metadata.GetOrderedMetadata<ScopeRule>();
        return rules.Count == 1 ? rules[0] : null;
    }
}

/// <summary>
/// Holds every key's scope on every route of the API: one filter on the group all resources are mapped in. An unscoped
/// key passes without a lookup; a scoped key passes a <see cref="ScopedByRule"/> only when everything the request
/// touches is inside its scope, never passes an <see cref="UnscopedKeysOnlyRule"/>, and is refused on a route that
/// declares no rule (closed by default). A refusal is a 403 naming the scope, decided before the handler runs, so
/// nothing is written.
/// </summary>
public sealed class KeyScopeFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var scope = KeyScope.Of(http.User);
        if (scope.IsUnscoped) return await next(context);
        var rule = http.GetEndpoint() is { } endpoint ? ScopeRules.Of(endpoint) : null;
        var refusal = rule switch
        {
            ScopeFreeRule => null,
            UnscopedKeysOnlyRule only => $"{scope.Describe()}; this route is for unscoped keys only: {only.Why}",
            ScopedByRule by => scope.Refusal(await Touched(by.Scope, context, http.RequestServices.GetRequiredService<IGrainFactory>())),
            _ => $"{scope.Describe()}; this route declares no key-scope rule, so scoped keys may not use it",
        };
        if (refusal is not null) return Problems.OutsideKeyScope(refusal);
        return await ScopeViews.Narrow(await next(context), scope, http.RequestServices.GetRequiredService<IGrainFactory>());
    }

    private static readonly object HostReadKey = new();

    /// <summary>
    /// The host a <see cref="Scope.Host"/>, <see cref="Scope.HostSlot"/> or <see cref="Scope.WholeHost"/> rule read for this request, so that the handler checks who may speak for it
    /// against the same snapshot instead of reading the host again (an agent's every call); null when the filter read
    /// none (an unscoped key) or read another host.
    /// </summary>
    public static HostSnapshot? HostRead(HttpContext http, string id) =>
        http.Items.TryGetValue(HostReadKey, out var read) && read is HostSnapshot host && string.Equals(host.Id, id, StringComparison.Ordinal) ? host : null;

    private static string? Route(EndpointFilterInvocationContext context, string name) =>
        context.HttpContext.Request.RouteValues.TryGetValue(name, out var value) ? value as string : null;

    private static string? Query(EndpointFilterInvocationContext context, string name) =>
        context.HttpContext.Request.Query.TryGetValue(name, out var value) ? value.ToString() : null;

    private static T? Body<T>(EndpointFilterInvocationContext context) where T : class => context.Arguments.OfType<T>().FirstOrDefault();

    /// <summary>What the request touches; <see cref="ScopeTouch.Missing"/> for a resource that does not exist.</summary>
    private static async Task<ScopeTouch> Touched(Scope scope, EndpointFilterInvocationContext context, IGrainFactory grains)
    {
        switch (scope)
        {
            case Scope.Environment:
                return ScopeTouch.Of("environment", Route(context, "name"), environment: Touch.AllOf(Route(context, "name")));
            case Scope.WholeEnvironment:
                return Whole(ScopeTouch.Of("environment", Route(context, "name"), Touch.AllOf(Route(context, "name")), Touch.Everything));
            case Scope.EnvironmentPair:
                return ScopeTouch.Of("environments", $"{Route(context, "a")}, {Route(context, "b")}", environment: Touch.AllOf(Route(context, "a"), Route(context, "b")));
            case Scope.Service:
                return ScopeTouch.Of("service", Route(context, "name"), service: Touch.AllOf(Route(context, "name")));
            case Scope.Release:
                return await Release(grains, Route(context, "id"), Touch.Nothing);
            case Scope.ReleaseAndBodyEnvironment:
            {
                var environment = Body<ApprovalRequest>(context)?.Environment ?? Body<GateResultRequest>(context)?.Environment ?? Query(context, "environment");
                return await Release(grains, Route(context, "id"), environment is null ? Touch.Nothing : Touch.AllOf(environment));
            }

            case Scope.EnvironmentAndBodyRelease:
            {
                var environment = Touch.AllOf(Route(context, "name"));
                var release = Body<GrantExceptionRequest>(context)?.Release ?? Body<StartDrillRequest>(context)?.ReleaseId;
                return release is null
                    ? ScopeTouch.Of("environment", Route(context, "name"), environment: environment)
                    : await Release(grains, release, environment);
            }

            case Scope.Rollout:
                return await Rollout(grains, Route(context, "id"));
            case Scope.Analysis:
            {
                var id = Route(context, "id");
                return id is not null && GrainKeys.TryParseAnalysis(id, out var rollout, out _)
                    ? (await Rollout(grains, rollout)).Naming("analysis", id)
                    : ScopeTouch.Missing("analysis", id);
            }

            case Scope.Review:
            {
                var id = Route(context, "id");
                return id is not null && GrainKeys.TryParseReview(id, out var rollout)
                    ? (await Rollout(grains, rollout)).Naming("review", id)
                    : ScopeTouch.Missing("review", id);
            }

            case Scope.Host or Scope.HostSlot or Scope.WholeHost:
            {
                var id = Route(context, "id");
                if (!Names.IsHostId(id) || await grains.Ref<IHostGrain>(id!).Get() is not { } host) return ScopeTouch.Missing("host", id);
                context.HttpContext.Items[HostReadKey] = host;
                var environment = Touch.AllOf(host.Environment);
                return scope switch
                {
                    Scope.HostSlot => ScopeTouch.Of("a slot of host", id, environment, Touch.AllOf(await SlotService(context, grains, host))),
                    Scope.WholeHost => ScopeTouch.Of("host", id, environment,
                            Touch.AllOf([.. host.Services.Keys.Union(Body<HostFactsRequest>(context)?.Services?.Keys ?? Enumerable.Empty<string>(), StringComparer.Ordinal)]))
                        with { Because = $"this route changes host '{id}' for every service it runs" },
                    _ => ScopeTouch.Of("host", id, environment, Touch.AnyOf(host.Services.Keys)),
                };
            }

            case Scope.ChangeRecord:
            {
                var id = Route(context, "id");
                return Names.IsHostId(id) && await grains.Ref<IChangeRecordGrain>(id!).Get() is { } record
                    ? ScopeTouch.Of("change record", id, service: record.Service is null ? Touch.Everything : Touch.AllOf(record.Service))
                    : ScopeTouch.Missing("change record", id);
            }

            case Scope.Incident:
            {
                var id = Route(context, "id");
                return Names.IsHostId(id) && await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Get(id!) is { } incident
                    ? ScopeTouch.Of("incident", id, EveryUnlessNamed(incident.Environment), EveryUnlessNamed(incident.Service))
                    : ScopeTouch.Missing("incident", id);
            }

            case Scope.Train:
            {
                var name = Route(context, "name");
                return Names.IsDnsLabel(name) && await grains.Ref<IReleaseTrainGrain>(name!).Get() is { } train
                    ? ScopeTouch.Of("train", name, Touch.AllOf(train.Environment), Touch.AllOf([.. train.Members.Select(m => m.Service)]))
                    : ScopeTouch.Missing("train", name);
            }

            case Scope.Artifact:
            {
                var digest = Route(context, "digest");
                if (digest is null || await grains.Ref<IArtifactGrain>(digest).Get() is not { } artifact || artifact.Releases.Count == 0)
                {
                    return ScopeTouch.Missing("artifact", digest);
                }

                var releases = await Task.WhenAll(artifact.Releases.Select(r => grains.Ref<IReleaseGrain>(r.ReleaseId).Get()));
                var environments = releases.OfType<ReleaseSnapshot>().SelectMany(r => r.Rollouts)
                    .Select(r => GrainKeys.TryParseRollout(r, out _, out var environment) ? environment : null).OfType<string>();
                return ScopeTouch.Of("artifact", digest, Touch.AnyOf(environments), Touch.AnyOf(artifact.Releases.Select(r => r.Service)));
            }

            case Scope.NewRelease:
            {
                var service = Body<CreateReleaseRequest>(context)?.Service;
                return ScopeTouch.Of("new release of service", service, service: Touch.AllOf(service));
            }

            case Scope.NewRollout:
            {
                var request = Body<CreateRolloutRequest>(context);
                return await Release(grains, request?.ReleaseId, Touch.AllOf(request?.Environment));
            }

            case Scope.Preview:
            {
                var environment = Body<PlanPreviewRequest>(context)?.Environment;
                return ScopeTouch.Of("environment", environment, environment: environment is null ? Touch.Nothing : Touch.AllOf(environment));
            }

            case Scope.NewHost:
            {
                var environment = Body<RegisterHostRequest>(context)?.Environment;
                return Whole(ScopeTouch.Of("environment", environment, Touch.AllOf(environment), Touch.Everything));
            }

            case Scope.NewTrain:
            {
                var request = Body<CreateTrainRequest>(context);
                var services = new List<string?>();
                foreach (var id in request?.Releases ?? [])
                {
                    if (!Names.IsHostId(id) || await grains.Ref<IReleaseGrain>(id!).Get() is not { } release) return ScopeTouch.Missing("release", id);
                    services.Add(release.Service);
                }

                return ScopeTouch.Of("train", request?.Name, Touch.AllOf(request?.Environment), Touch.AllOf([.. services]));
            }

            case Scope.NewChangeRecord:
            {
                var request = Body<CreateChangeRecordRequest>(context);
                var services = new List<string?> { request?.Service };
                if (request?.Release is { } id)
                {
                    if (!Names.IsHostId(id) || await grains.Ref<IReleaseGrain>(id).Get() is not { } release) return ScopeTouch.Missing("release", id);
                    services.Add(release.Service);
                }

                return ScopeTouch.Of("change record of service", request?.Service, service: Touch.AllOf([.. services]));
            }

            case Scope.NewIncident:
            {
                var incident = Body<DeclareIncidentRequest>(context)?.Scope;
                return incident?.All == true
                    ? ScopeTouch.Of("incident", "of every environment and service", Touch.Everything, Touch.Everything)
                    : ScopeTouch.Of("incident", incident?.Environment ?? incident?.Service, EveryUnlessNamed(incident?.Environment), EveryUnlessNamed(incident?.Service));
            }

            case Scope.Flag or Scope.FlagChange:
            {
                var name = Route(context, "name");
                if (!Names.IsDnsLabel(name)) return ScopeTouch.Of("environment", name, environment: Touch.AllOf(name));
                var set = grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name!));
                var (what, id, key, proposed) = scope == Scope.Flag
                    ? ("flag", Route(context, "key"), Route(context, "key"), Body<PutFlagRequest>(context)?.Service)
                    : (await set.Changes()).FirstOrDefault(c => c.Id == Route(context, "id")) is { } change
                        ? ("flag change", change.Id, change.Key, change.Flag?.Service)
                        : ("flag change", Route(context, "id"), null, null);
                var current = key is null ? null : (await set.Get()).Flags.FirstOrDefault(f => f.Key == key)?.Service;
                return ScopeTouch.Of(what, id, Touch.AllOf(name), Touch.AllOf([.. new[] { current, proposed }.OfType<string>().Distinct(StringComparer.Ordinal)]));
            }

            case Scope.FlagEvaluation:
            {
                var environment = Body<OfrepRequest>(context)?.Context is { } c && c.TryGetValue("environment", out var e)
                    && e.ValueKind == System.Text.Json.JsonValueKind.String
                    ? e.GetString()
                    : null;
                return ScopeTouch.Of("flags of environment", environment, environment: Touch.AllOf(environment));
            }

            case Scope.ServiceFilter:
            {
                var environment = Query(context, "environment");
                return ScopeTouch.Of("this list (?service=)", Query(context, "service"),
                    environment is null ? Touch.Nothing : Touch.AllOf(environment), Touch.AllOf(Query(context, "service")));
            }

            case Scope.EnvironmentFilter:
            {
                var service = Query(context, "service");
                return ScopeTouch.Of("this list (?environment=)", Query(context, "environment"),
                    Touch.AllOf(Query(context, "environment")), service is null ? Touch.Nothing : Touch.AllOf(service));
            }

            default:
                return ScopeTouch.Missing(scope.ToString(), null);
        }
    }

    /// <summary>A change to a whole environment: no key scoped to services makes it, whichever services it names.</summary>
    private static ScopeTouch Whole(ScopeTouch touch) =>
        touch with { Because = "this route changes the whole environment, not one service's part of it" };

    /// <summary>
    /// The service whose slot a report or sample is for, as the host grain picks it: the one the body names; else a
    /// report's rollout's service, a sample's host's only slot; null when none can be told (no service-scoped key's).
    /// </summary>
    private static async Task<string?> SlotService(EndpointFilterInvocationContext context, IGrainFactory grains, HostSnapshot host)
    {
        if (Body<HostReportRequest>(context) is { } report)
        {
            if (report.Service is not null) return report.Service;
            return report.Rollout is { } rollout && GrainKeys.TryParseRollout(rollout, out var release, out _) && Names.IsHostId(release)
                ? (await grains.Ref<IRolloutGrain>(rollout).Get())?.Service
                : null;
        }

        return Body<HostMetricsRequest>(context)?.Service ?? (host.Services.Count == 1 ? host.Services.Keys.First() : null);
    }

    /// <summary>An incident names at most one environment and one service; one it does not name, it holds everywhere.</summary>
    private static Touch EveryUnlessNamed(string? name) => name is null ? Touch.Everything : Touch.AllOf(name);

    private static async Task<ScopeTouch> Release(IGrainFactory grains, string? id, Touch environment) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseGrain>(id!).Get() is { } release
            ? ScopeTouch.Of("release", id, environment, Touch.AllOf(release.Service))
            : ScopeTouch.Missing("release", id);

    private static async Task<ScopeTouch> Rollout(IGrainFactory grains, string? id) =>
        id is not null && GrainKeys.TryParseRollout(id, out var releaseId, out _) && Names.IsHostId(releaseId)
            && await grains.Ref<IRolloutGrain>(id).Get() is { } rollout
            ? ScopeTouch.Of("rollout", id, Touch.AllOf(rollout.Environment), Touch.AllOf(rollout.Service))
            : ScopeTouch.Missing("rollout", id);
}
