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

/// <summary>Where an incident applies: <c>{"all": true}</c>, or an environment, a service, or both.</summary>
public sealed record IncidentScopeRequest(string? Environment, string? Service, bool? All);

/// <summary><c>release</c> (optional): the release suspected of causing it; DORA holds the incident against that release's deployments.</summary>
public sealed record DeclareIncidentRequest(string? Id, IncidentScopeRequest? Scope, string? Title, string? Severity, string? Release = null);

public sealed record ResolveIncidentRequest(string? Reason);

/// <summary>
/// A generic incident-management webhook (PagerDuty / Opsgenie style): <c>event</c> is <c>triggered</c>,
/// <c>acknowledged</c> (ignored) or <c>resolved</c>; the scope fields say what the incident halts.
/// </summary>
public sealed record IncidentWebhookRequest(string? Event, string? IncidentId, string? Title, string? Severity, string? Environment, string? Service, bool? All);

public sealed record IncidentWebhookResponse(string Event, string IncidentId, string Outcome, IncidentRecord? Incident);

/// <summary>Incident halt: declare (API or webhook), resolve, list the active ones.</summary>
public static class IncidentsApi
{
    public static RouteGroupBuilder MapIncidentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/incidents").WithTags("Incidents");
        group.MapPost("/", Declare).RequireAuthorization(Policies.Incident).ScopedBy(Scope.NewIncident)
            .WithSummary("Declares an incident, which holds rollouts in the environments it names");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopeFree("the list filters itself: a scoped key sees the incidents that hold its environments or services")
            .WithSummary("Lists incidents");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Incident)
            .WithSummary("An incident");
        group.MapPost("/{id}/resolve", Resolve).RequireAuthorization(Policies.IncidentResolve).ScopedBy(Scope.Incident)
            .WithSummary("Resolves an incident (its team, its declarer or an approver), releasing the rollouts it held");
        group.MapPost("/webhook", Webhook).RequireAuthorization(Policies.Incident).UnscopedKeysOnly("the paging tool's webhook declares and resolves incidents of any environment and service")
            .WithSummary("Receives an incident from a paging tool's webhook");
        return group;
    }

    public static async Task<Results<Created<IncidentRecord>, ValidationProblem, ProblemHttpResult>> Declare(
        DeclareIncidentRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        var id = request.Id ?? "inc-" + Guid.NewGuid().ToString("n")[..12];
        var incident = Validate(id, request.Scope?.Environment, request.Scope?.Service, request.Scope?.All, request.Scope is null, request.Title, request.Severity, "api", errors, "scope.");
        if (request.Release is not null && !IsId(request.Release)) errors.Add("release", "must be a release id");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (request.Release is not null && await grains.Ref<IReleaseGrain>(request.Release).Get() is null)
            return Problems.Validation("release", $"release '{request.Release}' does not exist");

        var result = await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents)
            .Declare(await WithActiveRelease(grains, incident! with { ReleaseId = request.Release, Team = await TeamOf(grains, incident!.Service, user) }), Actor(user, null));
        return result.Ok ? TypedResults.Created($"/v1/incidents/{id}", result.Value!) : Problems.From(result);
    }

    /// <summary>Active incidents; a scoped key sees those that hold its environments or services (one naming none holds them all).</summary>
    public static async Task<Ok<Page<IncidentRecord>>> List(ClaimsPrincipal user, IGrainFactory grains)
    {
        var scope = KeyScope.Of(user);
        var active = (await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Active())
            .Where(i => (i.Environment is null || scope.AllowsEnvironment(i.Environment)) && (i.Service is null || scope.AllowsService(i.Service))).ToList();
        return TypedResults.Ok(new Page<IncidentRecord> { Items = active, Total = active.Count, Offset = 0, Limit = active.Count });
    }

    public static async Task<Results<Ok<IncidentRecord>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        IsId(id) && await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Get(id) is { } incident
            ? TypedResults.Ok(incident)
            : Problems.NotFound($"incident '{id}' does not exist");

    public static async Task<Results<Ok<IncidentRecord>, ValidationProblem, ProblemHttpResult>> Resolve(
        string id, ResolveIncidentRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!IsId(id)) return Problems.NotFound($"incident '{id}' does not exist");
        if (request?.Reason is { Length: > 1024 }) return Problems.Validation("reason", "must be at most 1024 characters");
        if (await OthersIncident(grains, id, user) is { } refused) return refused;
        var result = await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Resolve(id, Actor(user, request?.Reason));
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    /// <summary>403 when the incident belongs to a team the key does not act for (and the key neither declared it nor commands incidents).</summary>
    private static async Task<ProblemHttpResult?> OthersIncident(IGrainFactory grains, string id, ClaimsPrincipal user) =>
        await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Get(id) is { } incident
        && IncidentOwnership.ResolveRefusal(id, incident.Team, incident.DeclaredBy, user.Caller(), user.Teams(), user.IsInRole(Roles.Approver)) is { } refusal
            ? Problems.Forbidden(refusal)
            : null;

    /// <summary>
    /// The release active for the incident's service in its environment as it is declared (for the incident's event and
    /// its receivers): the release of the service's rollout holding a slot there, else the one last deployed there.
    /// Nothing when the incident names a release itself, or lacks a service or an environment.
    /// </summary>
    private static async Task<IncidentRecord> WithActiveRelease(IGrainFactory grains, IncidentRecord incident)
    {
        if (incident.ReleaseId is not null || incident.Environment is not { } environment || incident.Service is not { } service) return incident;
        var grain = grains.Ref<IEnvironmentGrain>(environment);
        if (await grain.Get() is not { } snapshot) return incident;
        var running = (await grain.RolloutsOf(service)).FirstOrDefault(r => snapshot.Active.Contains(r, StringComparer.Ordinal));
        if (running is not null && GrainKeys.TryParseRollout(running, out var release, out _))
        {
            return incident with { ActiveReleaseId = release, ActiveReleaseLink = "rolling-out" };
        }

        return snapshot.Services.TryGetValue(service, out var deployed)
            ? incident with { ActiveReleaseId = deployed.ReleaseId, ActiveReleaseLink = "deployed" }
            : incident;
    }

    /// <summary>The team an incident belongs to: its service's owner, else the declaring key's one team.</summary>
    private static async Task<string?> TeamOf(IGrainFactory grains, string? service, ClaimsPrincipal user)
    {
        var owner = service is null
            ? null
            : (await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List()).FirstOrDefault(s => s.Service == service)?.Team;
        return IncidentOwnership.TeamOf(owner, user.Teams());
    }

    /// <summary>
    /// Incident-management webhook, authenticated like every call (an API key with the operator role; give the
    /// incident tool its own key). Redelivery is harmless: triggering an active incident again or resolving a
    /// resolved one changes nothing; resolving an unknown one is answered <c>ignored</c>.
    /// </summary>
    public static async Task<Results<Ok<IncidentWebhookResponse>, ValidationProblem, ProblemHttpResult>> Webhook(
        IncidentWebhookRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (request.Event is not ("triggered" or "acknowledged" or "resolved")) errors.Add("event", "must be \"triggered\", \"acknowledged\" or \"resolved\"");
        if (!IsId(request.IncidentId)) errors.Add("incidentId", "is required: letters, digits, '.', '-', '_' (1-64 characters)");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var incidents = grains.Ref<IIncidentsGrain>(GrainKeys.Incidents);
        switch (request.Event)
        {
            case "triggered":
                var incident = Validate(request.IncidentId!, request.Environment, request.Service, request.All, false, request.Title, request.Severity, "webhook", errors, string.Empty);
                if (errors.Any) return Problems.Validation(errors.ToDictionary());
                var declared = await incidents.Declare(await WithActiveRelease(grains, incident! with { Team = await TeamOf(grains, incident!.Service, user) }), Actor(user, null));
                return declared.Ok
                    ? TypedResults.Ok(new IncidentWebhookResponse("triggered", request.IncidentId!, "declared", declared.Value))
                    : Problems.From(declared);
            case "resolved":
                if (await OthersIncident(grains, request.IncidentId!, user) is { } refused) return refused;
                var resolved = await incidents.Resolve(request.IncidentId!, Actor(user, "resolved by the incident-management tool"));
                return TypedResults.Ok(new IncidentWebhookResponse("resolved", request.IncidentId!, resolved.Ok ? "resolved" : "ignored", resolved.Value));
            default:
                return TypedResults.Ok(new IncidentWebhookResponse(request.Event!, request.IncidentId!, "ignored", await incidents.Get(request.IncidentId!)));
        }
    }

    private static IncidentRecord? Validate(
        string id, string? environment, string? service, bool? all, bool scopeMissing, string? title, string? severity, string source, ValidationErrors errors, string prefix)
    {
        if (!IsId(id)) errors.Add("id", "letters, digits, '.', '-', '_' (1-64 characters)");
        if (scopeMissing) errors.Add("scope", "is required: {\"all\": true}, or an environment and/or a service");
        else if (all == true && (environment is not null || service is not null)) errors.Add(prefix + "all", "\"all\" covers everything: give no environment or service with it");
        else if (all != true && environment is null && service is null) errors.Add(prefix + "environment", "give an environment, a service, or \"all\": true");
        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add(prefix + "environment", "must be an environment name");
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add(prefix + "service", "must be a service name");
        if (string.IsNullOrWhiteSpace(title) || title.Length > 200) errors.Add("title", "is required (at most 200 characters)");
        if (severity is not null && (severity.Length > 32 || !Names.IsHostId(severity))) errors.Add("severity", "at most 32 letters, digits, '.', '-', '_' (e.g. sev1)");
        return errors.Any ? null : new IncidentRecord
        {
            Id = id,
            Environment = environment,
            Service = service,
            Title = title!,
            Severity = severity ?? "unknown",
            DeclaredBy = string.Empty,
            Source = source,
        };
    }

    private static bool IsId(string? id) => id is { Length: <= 64 } && Names.IsHostId(id);

    private static GovernanceActor Actor(ClaimsPrincipal user, string? reason) => new() { Name = user.Caller(), Role = user.CallerRoles(), Reason = reason };
}
