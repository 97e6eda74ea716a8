using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record DependencyRequest(string? Service, string? Range);

/// <summary>
/// What a service depends on in one environment (<c>environment</c> omitted: every environment without its own
/// list); <c>onUnmet</c>: <c>wait</c> (default) or <c>refuse</c>. An empty <c>dependsOn</c> removes the list.
/// </summary>
public sealed record PutDependenciesRequest(string? Environment, List<DependencyRequest?>? DependsOn, string? OnUnmet);

/// <summary>The team that owns a service (DORA figures per team).</summary>
public sealed record PutOwnerRequest(string? Team);

/// <summary>The service dependency map, and who owns each service.</summary>
public static class ServicesApi
{
    public const int MaxDependencies = 50;

    public static RouteGroupBuilder MapServicesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/services").WithTags("Services");
        group.MapPut("/{name}/dependencies", Put).RequireAuthorization(Policies.Submit).ScopedBy(Scope.Service)
            .WithSummary("Declares the services a service depends on");
        group.MapGet("/{name}/dependencies", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Service)
            .WithSummary("The services a service depends on");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopeFree("the list filters itself: a key scoped to services sees only those; one scoped to environments only sees every service (the catalog does not record where a service runs)")
            .WithSummary("Lists services with their owners");
        group.MapPut("/{name}/owner", PutOwner).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Service)
            .WithSummary("Sets a service's owner");
        group.MapGet("/{name}/owner", GetOwner).RequireAuthorization(Policies.Read).ScopedBy(Scope.Service)
            .WithSummary("A service's owning team, with its ETag");
        return group;
    }

    /// <summary>
    /// Replaces a service's dependencies for one environment. <c>If-Match</c> (the ETag of a GET, or <c>*</c>) and
    /// <c>If-None-Match: *</c> are checked in the same turn as the write: 412 and nothing written when they do not hold.
    /// </summary>
    public static async Task<Results<Ok<ServiceDependenciesSnapshot>, ValidationProblem, ProblemHttpResult>> Put(
        string name, PutDependenciesRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.Validation("name", "must be a service name (a lower-case DNS label)");
        var errors = new ValidationErrors();
        if (request.Environment is not null && !Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        var onUnmet = request.OnUnmet ?? "wait";
        if (onUnmet is not ("wait" or "refuse")) errors.Add("onUnmet", "must be \"wait\" or \"refuse\"");
        var list = request.DependsOn ?? [];
        if (request.DependsOn is null) errors.Add("dependsOn", "is required (an empty list removes the dependencies)");
        if (list.Count > MaxDependencies) errors.Add("dependsOn", $"at most {MaxDependencies} dependencies");
        var dependencies = new List<DependencySpec>();
        for (var i = 0; i < list.Count && list.Count <= MaxDependencies; i++)
        {
            var at = $"dependsOn[{i}]";
            if (list[i] is not { } d)
            {
                errors.Add(at, "must be an object {service, range}");
                continue;
            }

            if (!Names.IsDnsLabel(d.Service)) errors.Add(at + ".service", "must be a service name");
            else if (d.Service == name) errors.Add(at + ".service", "a service cannot depend on itself");
            else if (dependencies.Any(x => x.Service == d.Service)) errors.Add(at + ".service", $"'{d.Service}' is listed twice");
            if (!DependencyRules.IsValidRange(d.Range)) errors.Add(at + ".range", "must be a semver range such as \">=2.1.0 <3.0.0\", \"^2.1\" or \"~2.1.0\"");
            if (d.Service is not null && d.Range is not null) dependencies.Add(new DependencySpec { Service = d.Service, Range = d.Range });
        }

        var precondition = Preconditions.Read(http.Request, errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var result = await grains.Ref<IServiceDependenciesGrain>(name).Set(request.Environment ?? "*", dependencies, onUnmet,
            new GovernanceActor { Name = user.Caller(), Role = user.CallerRoles() }, precondition);
        if (!result.Ok) return Problems.From(result);
        http.Response.Headers.ETag = Preconditions.ETag(result.Value!.Version);
        return TypedResults.Ok(result.Value!);
    }

    /// <summary>
    /// The services the DORA ledger knows (every service with a finished rollout, or an owner set) and their teams; a key
    /// scoped to services gets only those. The catalog keeps no environments (a service's name and owner are the same in
    /// every one), so a key scoped to environments only lists every service, as it may read any release.
    /// </summary>
    public static async Task<Ok<IReadOnlyList<ServiceEntry>>> List(ClaimsPrincipal user, IGrainFactory grains)
    {
        var scope = KeyScope.Of(user);
        var services = await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List();
        return TypedResults.Ok<IReadOnlyList<ServiceEntry>>(services.Where(s => scope.AllowsService(s.Service)).ToList());
    }

    /// <summary>
    /// Sets the team that owns a service (audited as service.owner-changed). <c>If-Match</c> (the ETag of
    /// <c>GET .../owner</c>, or <c>*</c>) and <c>If-None-Match: *</c> are checked in the same turn as the write: 412 and
    /// nothing written when they do not hold.
    /// </summary>
    public static async Task<Results<Ok<ServiceEntry>, ValidationProblem, ProblemHttpResult>> PutOwner(
        string name, PutOwnerRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(name)) errors.Add("name", "must be a service name (a lower-case DNS label)");
        if (!MetricsApi.IsTeam(request.Team)) errors.Add("team", "is required: a team name of 1-64 letters, digits, '.', '-', '_'");
        var precondition = Preconditions.Read(http.Request, errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var result = await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).SetTeam(name, request.Team,
            new GovernanceActor { Name = user.Caller(), Role = user.CallerRoles() }, precondition);
        if (!result.Ok) return Problems.From(result);
        http.Response.Headers.ETag = Preconditions.ETag(result.Value!.Version);
        return TypedResults.Ok(result.Value!);
    }

    /// <summary>A service's owning team, with its version as a strong ETag for <c>If-Match</c> on the next PUT.</summary>
    public static async Task<Results<Ok<ServiceEntry>, ProblemHttpResult>> GetOwner(string name, HttpContext http, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).Get(name) is not { } entry)
            return Problems.NotFound($"service '{name}' is not in the catalog");
        http.Response.Headers.ETag = Preconditions.ETag(entry.Version);
        return TypedResults.Ok(entry);
    }

    /// <summary>A service's dependencies, with their version as a strong ETag once declared.</summary>
    public static async Task<Results<Ok<ServiceDependenciesSnapshot>, ProblemHttpResult>> Get(string name, HttpContext http, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"service '{name}' does not exist");
        var snapshot = await grains.Ref<IServiceDependenciesGrain>(name).Get();
        if (snapshot.Version > 0 || snapshot.ByEnvironment.Count > 0) http.Response.Headers.ETag = Preconditions.ETag(snapshot.Version);
        return TypedResults.Ok(snapshot);
    }
}
