using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Api.Resources;

/// <summary>Rolls a release out to an environment; <c>selector</c> narrows the targets to hosts with all those labels.</summary>
public sealed record CreateRolloutRequest(string? ReleaseId, string? Environment, RolloutStrategySpec? Strategy, Dictionary<string, string>? Selector);

public sealed record OperatorActionRequest(string? Reason);

/// <summary>Dry run: the plan (stages × steps × host counts) a strategy would produce for a host count, or for an environment's hosts now.</summary>
public sealed record PlanPreviewRequest(RolloutStrategySpec? Strategy, int? HostCount, string? Environment, Dictionary<string, string>? Selector);

public sealed record PlanStageView(string Name, int Hosts);

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
    string Explanation,
    string Strategy,
    IReadOnlyList<PlanStageView> Stages,
    IReadOnlyList<PlanStepView> Steps,
    IReadOnlyDictionary<string, string[]>? Errors);

public static class RolloutsApi
{
    public static RouteGroupBuilder MapRolloutsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/rollouts").WithTags("Rollouts");
        group.MapPost("/", Create).RequireAuthorization(Policies.Submit).ScopedBy(Scope.NewRollout).AddEndpointFilter<IdempotencyFilter>()
            .WithSummary("Rolls a release out to an environment with a strategy").WithDescription("The rollout is queued when the environment is busy, held while a gate (freeze, incident, approval) says so, and rolls back on its own when failures exceed the declared budget.");
        group.MapPost("/preview", Preview).RequireAuthorization(Policies.Read).ScopedBy(Scope.Preview)
            .WithSummary("Dry run: the plan a strategy would make in an environment, with its arithmetic; changes nothing");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Rollout)
            .WithSummary("A rollout: status and reason, current step, hosts per state and version, and every decision");
        group.MapGet("/{id}/events", Events).RequireAuthorization(Policies.Read).ScopedBy(Scope.Rollout)
            .WithSummary("A rollout's event history, oldest first, in pages");
        group.MapPost("/{id}/pause", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Pause(a))).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Rollout)
            .WithSummary("Pauses a rollout; hosts already updating finish");
        group.MapPost("/{id}/resume", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Resume(a))).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Rollout)
            .WithSummary("Resumes a paused rollout");
        group.MapPost("/{id}/abort", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Abort(a))).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Rollout)
            .WithSummary("Aborts a rollout and returns updated hosts to their previous artifact");
        group.MapPost("/{id}/rollback", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Rollback(a))).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Rollout)
            .WithSummary("Rolls a rollout back, also after success inside its rollback window").WithDescription("Refused (409) when a newer release already replaced this one, or when the window has closed; what a rollback does depends on the strategy (switch back, retire new hosts, or return hosts).");
        group.MapPost("/{id}/promote", (string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Act(id, body, user, grains, (g, a) => g.Promote(a))).RequireAuthorization(Policies.Operate).ScopedBy(Scope.Rollout)
            .WithSummary("Skips the current pause or bake of a rollout");
        return group;
    }

    public static async Task<Results<Created<RolloutSnapshot>, ValidationProblem, ProblemHttpResult>> Create(
        CreateRolloutRequest request, ClaimsPrincipal user, IGrainFactory grains, IConfiguration configuration)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.ReleaseId) || request.ReleaseId.Length > 64 || !Names.IsHostId(request.ReleaseId))
            errors.Add("releaseId", "is required: the id returned when the release was created");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        var strategy = request.Strategy ?? new RolloutStrategySpec();
        ValidateStrategy(strategy, errors, configuration);
        HostsApi.ValidateLabels(request.Selector, errors, "selector");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        // Production changes only through the pipeline: the caller's roles are known here, not in the rollout. Protected
        // means declared production tier or protected, or named protected in configuration (Governance:ProtectedEnvironments).
        if (!user.IsInRole(Roles.Pipeline) && await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).IsProtected(request.Environment!))
            return Problems.ProtectedNeedsPipeline(request.Environment!);

        // One grain call: the rollout reads the release and the environment, checks the plan against the hosts (422)
        // and the submit gates, and stores itself; this handler translates HTTP and nothing more.
        var id = GrainKeys.Rollout(request.ReleaseId!, request.Environment!);
        var result = await grains.Ref<IRolloutGrain>(id).Start(new RolloutDraft
        {
            ReleaseId = request.ReleaseId!,
            Environment = request.Environment!,
            Strategy = strategy,
            SubmittedBy = user.Caller(),
            SubmitterRole = user.CallerRoles(),
            Selector = request.Selector ?? [],
            RefuseUnplannable = true,
        });
        return result.Ok ? TypedResults.Created($"/v1/rollouts/{id}", result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<PlanPreviewResponse>, ValidationProblem, ProblemHttpResult>> Preview(
        PlanPreviewRequest request, IGrainFactory grains, IConfiguration configuration)
    {
        var errors = new ValidationErrors();
        var strategy = request.Strategy ?? new RolloutStrategySpec();
        var spec = ValidateStrategy(strategy, errors, configuration);
        if (request.HostCount is null == request.Environment is null) errors.Add("hostCount", "give either hostCount or environment");
        if (request.HostCount is < 0 or > 1_000_000) errors.Add("hostCount", "must be from 0 to 1000000");
        if (request.Environment is not null && !Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        IReadOnlyList<PlanHost> hosts;
        string? activeSlot = null;
        if (request.Environment is not null)
        {
            var environment = grains.Ref<IEnvironmentGrain>(request.Environment);
            if (await environment.Get() is null) return Problems.NotFound($"environment '{request.Environment}' does not exist");
            hosts = await Targets(environment, request.Selector);
        }
        else
        {
            hosts = Enumerable.Range(1, request.HostCount!.Value).Select(i => new PlanHost($"host-{i}", new Dictionary<string, string>())).ToList();
        }

        var result = PlanFor(spec!, hosts, activeSlot);
        var rolling = RollingPlanner.Plan(spec!.Rolling, hosts.Count, spec.Kind == StrategyKind.BlueGreen ? HostUpdate.Idle : HostUpdate.InPlace);
        if (spec.Kind == StrategyKind.Immutable)
        {
            // The surge window's fenceposts, not the in-place batch: immutable adds hosts.
            var window = SurgeWindowPlanner.Plan(spec.Rolling, hosts.Count);
            rolling = rolling with
            {
                MaxSurge = window.MaxSurge,
                MaxUnavailable = window.MaxUnavailable,
                Infeasible = window.Infeasible,
                Explanation = window.Explanation,
                BatchSize = window.Steps.Count == 0 ? 0 : window.Steps.Max(w => w.Provision),
            };
        }

        var steps = result.Plan?.Steps ?? [];
        var stageNames = result.Plan?.Stages.ToDictionary(st => st.Index, st => st.Name) ?? [];
        var feasible = result.Plan is not null && (spec.Kind != StrategyKind.Rolling || rolling.IsFeasible);
        var infeasible = feasible ? null : rolling.Infeasible ?? string.Join("; ", result.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
        return TypedResults.Ok(new PlanPreviewResponse(hosts.Count, feasible, infeasible, rolling.BatchSize,
            steps.OfType<DeployStep>().Select(d => d.Hosts.Count).ToList(),
            rolling.MaxSurge, rolling.MaxUnavailable, rolling.MinimumHealthy, rolling.AllowedFailures,
            result.Plan?.Explanation ?? rolling.Explanation,
            spec.Kind.ToString(),
            result.Plan?.Stages.Select(st => new PlanStageView(st.Name, st.Hosts.Count)).ToList() ?? [],
            steps.Select(st => new PlanStepView
            {
                Kind = st.Kind.ToString(),
                Stage = stageNames.GetValueOrDefault(st.Stage) ?? "all hosts",
                Description = st.Description,
                Hosts = st switch { DeployStep d => d.Hosts.Count, ProvisionStep p => p.Hosts.Count, RetireStep r => r.Hosts.Count, _ => 0 },
                Old = st.Fleet?.Old,
                New = st.Fleet?.New,
                Available = st.Fleet?.Available,
                Total = st.Fleet?.Total,
            }).ToList(),
            result.Plan is null ? result.Errors : null));
    }

    public static async Task<Results<Ok<RolloutSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        IsRolloutId(id) && await grains.Ref<IRolloutGrain>(id).Get() is { } rollout
            ? TypedResults.Ok(rollout)
            : Problems.NotFound($"rollout '{id}' does not exist");

    public static async Task<Results<Ok<Page<EngineEvent>>, ProblemHttpResult, ValidationProblem>> Events(string id, IGrainFactory grains, long? after, int? limit)
    {
        if (!IsRolloutId(id) || await grains.Ref<IRolloutGrain>(id).Get() is null) return Problems.NotFound($"rollout '{id}' does not exist");
        if (limit is < 1 or > 1000) return Problems.Validation("limit", "must be from 1 to 1000");
        if (after is < 0) return Problems.Validation("after", "must be zero or more");
        return TypedResults.Ok(await grains.Ref<IEventHistoryGrain>(GrainKeys.RolloutEvents(id)).Read(after ?? 0, limit ?? 200));
    }

    private static async Task<Results<Ok<RolloutSnapshot>, ValidationProblem, ProblemHttpResult>> Act(
        string id, OperatorActionRequest? body, ClaimsPrincipal user, IGrainFactory grains,
        Func<IRolloutGrain, OperatorAction, Task<CommandResult<RolloutSnapshot>>> action)
    {
        if (body?.Reason is { Length: > 1000 }) return Problems.Validation("reason", "must be at most 1000 characters");
        if (!IsRolloutId(id) || await grains.Ref<IRolloutGrain>(id).Get() is null) return Problems.NotFound($"rollout '{id}' does not exist");
        var result = await action(grains.Ref<IRolloutGrain>(id), new OperatorAction { Actor = user.Caller(), Role = user.CallerRoles(), Reason = body?.Reason });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    internal static StrategySpec? ValidateStrategy(RolloutStrategySpec strategy, ValidationErrors errors, IConfiguration configuration)
    {
        if (strategy.ProgressDeadlineSeconds is < 1 or > 86_400) errors.Add("strategy.progressDeadlineSeconds", "must be from 1 to 86400");
        if (strategy.RollbackWindowSeconds is < 0 or > 30 * 86_400) errors.Add("strategy.rollbackWindowSeconds", "must be from 0 to 2592000 (30 days)");
        TrafficRouters.Validate(strategy.TrafficRouter, TrafficRouters.Configured(configuration), "strategy.trafficRouter", errors);
        JudgeMapping.ValidateJudges(strategy, errors);
        AnalysisRunMapping.ValidateRuns(strategy, errors);
        var parsed = StrategySpecParser.Parse(strategy.ToInput());
        foreach (var (field, messages) in parsed.Errors)
        {
            foreach (var message in messages) errors.Add(field, message);
        }

        return parsed.Value;
    }

    /// <summary>The environment's hosts a rollout with this selector targets, in the order the rollout plans them.</summary>
    private static async Task<IReadOnlyList<PlanHost>> Targets(IEnvironmentGrain environment, IReadOnlyDictionary<string, string>? selector) =>
        (await environment.GetHostIndex())
            .Where(h => selector is null || selector.All(s => h.Labels.TryGetValue(s.Key, out var v) && string.Equals(v, s.Value, StringComparison.Ordinal)))
            .Select(h => new PlanHost(h.HostId, h.Labels))
            .ToList();

    /// <summary>Plans as the rollout will; an immutable plan gets stand-in ids for the hosts it would provision.</summary>
    private static PlanResult PlanFor(StrategySpec spec, IReadOnlyList<PlanHost> hosts, string? activeSlot) =>
        RolloutPlanner.Plan(spec, new PlanInput
        {
            Hosts = hosts,
            ActiveSlot = activeSlot,
            ProvisionedHosts = spec.Kind == StrategyKind.Immutable ? hosts.Select((_, i) => $"new-host-{i + 1}").ToList() : [],
        });

    private static bool IsRolloutId(string id) =>
        GrainKeys.TryParseRollout(id, out var release, out var environment) && Names.IsHostId(release) && Names.IsDnsLabel(environment);
}
