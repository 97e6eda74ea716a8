using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>Rolls a release out to an environment; <c>selector</c> narrows the targets to hosts with all those labels.</summary>
public sealed record CreateRolloutRequest(string? ReleaseId, string? Environment, RollingStrategySpec? Strategy, Dictionary<string, string>? Selector);

public sealed record OperatorActionRequest(string? Reason);

/// <summary>Dry run: the batches a strategy would produce for a host count, or for an environment's hosts now.</summary>
public sealed record PlanPreviewRequest(RollingStrategySpec? Strategy, int? HostCount, string? Environment);

public sealed record PlanPreviewResponse(
    int HostCount,
    bool Feasible,
    string? Infeasible,
    int BatchSize,
    IReadOnlyList<int> Batches,
    int MaxSurge,
    int MaxUnavailable,
    int MinimumHealthyHosts,
    int AllowedFailures,
    string Explanation);

public static class RolloutsApi
{
    public static RouteGroupBuilder MapRolloutsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/rollouts").WithTags("Rollouts");
        group.MapPost("/", Create).RequireAuthorization(Policies.Submit).AddEndpointFilter<IdempotencyFilter>();
        group.MapPost("/preview", Preview).RequireAuthorization(Policies.Read);
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read);
        group.MapGet("/{id}/events", Events).RequireAuthorization(Policies.Read);
        group.MapPost("/{id}/pause", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Pause(a))).RequireAuthorization(Policies.Operate);
        group.MapPost("/{id}/resume", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Resume(a))).RequireAuthorization(Policies.Operate);
        group.MapPost("/{id}/abort", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Abort(a))).RequireAuthorization(Policies.Operate);
        group.MapPost("/{id}/rollback", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Rollback(a))).RequireAuthorization(Policies.Operate);
        return group;
    }

    public static async Task<Results<Created<RolloutSnapshot>, ValidationProblem, ProblemHttpResult>> Create(CreateRolloutRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.ReleaseId) || request.ReleaseId.Length > 64 || !Names.IsHostId(request.ReleaseId))
            errors.Add("releaseId", "is required: the id returned when the release was created");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        var strategy = request.Strategy ?? new RollingStrategySpec();
        ValidateStrategy(strategy, errors);
        HostsApi.ValidateLabels(request.Selector, errors, "selector");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var id = GrainKeys.Rollout(request.ReleaseId!, request.Environment!);
        var result = await grains.GetGrain<IRolloutGrain>(id).Start(new RolloutDraft
        {
            ReleaseId = request.ReleaseId!,
            Environment = request.Environment!,
            Strategy = strategy,
            SubmittedBy = user.Caller(),
            Selector = request.Selector ?? [],
        });
        return result.Ok ? TypedResults.Created($"/v1/rollouts/{id}", result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<PlanPreviewResponse>, ValidationProblem, ProblemHttpResult>> Preview(PlanPreviewRequest request, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        var strategy = request.Strategy ?? new RollingStrategySpec();
        var spec = ValidateStrategy(strategy, errors);
        if (request.HostCount is null == request.Environment is null) errors.Add("hostCount", "give either hostCount or environment");
        if (request.HostCount is < 0 or > 1_000_000) errors.Add("hostCount", "must be from 0 to 1000000");
        if (request.Environment is not null && !Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var hostCount = request.HostCount ?? 0;
        if (request.Environment is not null)
        {
            var environment = await grains.GetGrain<IEnvironmentGrain>(request.Environment).Get();
            if (environment is null) return Problems.NotFound($"environment '{request.Environment}' does not exist");
            hostCount = environment.HostCount;
        }

        var plan = RollingPlanner.Plan(spec!, hostCount);
        return TypedResults.Ok(new PlanPreviewResponse(plan.HostCount, plan.IsFeasible, plan.Infeasible, plan.BatchSize, plan.Batches,
            plan.MaxSurge, plan.MaxUnavailable, plan.MinimumHealthy, plan.AllowedFailures, plan.Explanation));
    }

    public static async Task<Results<Ok<RolloutSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        IsRolloutId(id) && await grains.GetGrain<IRolloutGrain>(id).Get() is { } rollout
            ? TypedResults.Ok(rollout)
            : Problems.NotFound($"rollout '{id}' does not exist");

    public static async Task<Results<Ok<Page<EngineEvent>>, ProblemHttpResult, ValidationProblem>> Events(string id, IGrainFactory grains, long? after, int? limit)
    {
        if (!IsRolloutId(id) || await grains.GetGrain<IRolloutGrain>(id).Get() is null) return Problems.NotFound($"rollout '{id}' does not exist");
        if (limit is < 1 or > 1000) return Problems.Validation("limit", "must be from 1 to 1000");
        if (after is < 0) return Problems.Validation("after", "must be zero or more");
        return TypedResults.Ok(await grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(id)).Read(after ?? 0, limit ?? 200));
    }

    private static async Task<Results<Ok<RolloutSnapshot>, ValidationProblem, ProblemHttpResult>> Act(
        string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains,
        Func<IRolloutGrain, OperatorAction, Task<CommandResult<RolloutSnapshot>>> action)
    {
        if (body?.Reason is { Length: > 1000 }) return Problems.Validation("reason", "must be at most 1000 characters");
        if (!IsRolloutId(id) || await grains.GetGrain<IRolloutGrain>(id).Get() is null) return Problems.NotFound($"rollout '{id}' does not exist");
        var result = await action(grains.GetGrain<IRolloutGrain>(id), new OperatorAction { Actor = user.Caller(), Reason = body?.Reason });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    private static RollingSpec? ValidateStrategy(RollingStrategySpec strategy, ValidationErrors errors)
    {
        if (!string.Equals(strategy.Type, "rolling", StringComparison.Ordinal)) errors.Add("strategy.type", "only \"rolling\" is supported");
        if (strategy.ProgressDeadlineSeconds is < 1 or > 86_400) errors.Add("strategy.progressDeadlineSeconds", "must be from 1 to 86400");
        var parsed = RollingSpecParser.Parse(strategy.MaxSurge, strategy.MaxUnavailable, strategy.MinimumHealthyHosts?.Type,
            strategy.MinimumHealthyHosts?.Value, strategy.Preset, strategy.MaxFailures, "strategy.");
        foreach (var (field, messages) in parsed.Errors)
        {
            foreach (var message in messages) errors.Add(field, message);
        }

        return parsed.Value;
    }

    private static bool IsRolloutId(string id) =>
        GrainKeys.TryParseRollout(id, out var release, out var environment) && Names.IsHostId(release) && Names.IsDnsLabel(environment);
}
