using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// A rollback drill: roll <paramref name="ReleaseId"/> forward with <paramref name="Strategy"/> in this (non-production)
/// environment, then back, and measure the time to safe. <paramref name="Target"/>: the environment whose RTO the drill
/// is measured against (default: this one).
/// </summary>
public sealed record StartDrillRequest(string? ReleaseId, RolloutStrategySpec? Strategy, string? Target, string? Reason);

/// <summary>
/// Rollback drills (docs/rollouts.md): operators start them in a declared non-production environment; anyone who reads
/// sees each drill's outcome, measured time-to-safe and whether it met the RTO. Production rollouts of a service wait for
/// a fresh drill of their strategy within the RTO when the production environment declares one.
/// </summary>
public static class DrillsApi
{
    public static RouteGroupBuilder MapDrillsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/environments/{name}/drills").WithTags("Environments");
        group.MapPost("/", Start).RequireAuthorization(Policies.Drill).ScopedBy(Scope.EnvironmentAndBodyRelease).AddEndpointFilter<IdempotencyFilter>()
            .WithSummary("Rolls a release forward and back in a non-production environment and measures the rollback's time to safe");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("The environment's rollback drills, newest first, with their outcome and whether they met the RTO");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("One rollback drill");
        return group;
    }

    public static async Task<Results<Accepted<RollbackDrill>, ValidationProblem, ProblemHttpResult>> Start(
        string name, StartDrillRequest request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock, IConfiguration configuration)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.ReleaseId) || request.ReleaseId.Length > 64 || !Names.IsHostId(request.ReleaseId))
            errors.Add("releaseId", "is required: the id returned when the release was created");
        var strategy = request.Strategy ?? new RolloutStrategySpec();
        RolloutsApi.ValidateStrategy(strategy, errors, configuration);
        if (request.Target is not null && !Names.IsDnsLabel(request.Target)) errors.Add("target", "must be an environment name");
        if (request.Reason is { Length: > 1000 }) errors.Add("reason", "must be at most 1000 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' does not exist");
        if (request.Target is { } target && await grains.Ref<IEnvironmentGrain>(target).Get() is null)
            return Problems.NotFound($"environment '{target}' (target) does not exist");

        var result = await grains.Ref<IRollbackDrillsGrain>(name).Start(new DrillCommand
        {
            ReleaseId = request.ReleaseId!,
            Strategy = strategy,
            Target = request.Target,
            Actor = user.Caller(),
            Roles = user.CallerRoles(),
            Reason = request.Reason,
        });
        if (!result.Ok) return Problems.From(result);

        var drill = result.Value!;
        await grains.RecordAction(user, EventTypes.EnvironmentModified, "environment/" + name,
            $"rollback drill {drill.Id} started: {drill.Service} {drill.Version} with {drill.Strategy}", clock,
            new Dictionary<string, string?> { ["environment"] = name, ["release"] = drill.ReleaseId, ["drill"] = drill.Id, ["rollout"] = drill.RolloutId });
        return TypedResults.Accepted($"/v1/environments/{name}/drills/{drill.Id}", drill);
    }

    public static async Task<Results<Ok<Page<RollbackDrill>>, ProblemHttpResult>> List(string name, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' does not exist");
        var drills = await grains.Ref<IRollbackDrillsGrain>(name).List();
        return TypedResults.Ok(new Page<RollbackDrill> { Items = drills, Total = drills.Count, Offset = 0, Limit = drills.Count });
    }

    public static async Task<Results<Ok<RollbackDrill>, ProblemHttpResult>> Get(string name, string id, IGrainFactory grains) =>
        Names.IsDnsLabel(name) && Names.IsHostId(id) && await grains.Ref<IRollbackDrillsGrain>(name).Get(id) is { } drill
            ? TypedResults.Ok(drill)
            : Problems.NotFound($"drill '{id}' does not exist in environment '{name}'");
}
