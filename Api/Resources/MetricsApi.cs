using System.Globalization;
using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>One UTC day and the deployments that succeeded on it.</summary>
public sealed record DailyDeploymentsResponse(string Day, int Deployments);

public sealed record DeploymentFrequencyResponse(int Deployments, double PerDay, int DaysWithDeployment, string FourKeys, IReadOnlyList<DailyDeploymentsResponse> Daily, string? Tier);

public sealed record LeadTimeResponse(int Samples, int WithoutCommitTime, double? MedianSeconds, double? P75Seconds, double? P90Seconds, double? P95Seconds, string? Tier);

public sealed record ChangeFailureRateResponse(int Deployments, int Failures, int RolledBack, int Failed, int IncidentLinked, double? Rate, string? Tier);

public sealed record TimeToRestoreResponse(int Samples, int Incidents, int FailedDeployments, int Unrestored, double? MedianSeconds, double? P75Seconds, double? P90Seconds, double? P95Seconds, string? Tier);

/// <summary>The four keys over a window (docs/dora.md): durations in seconds, rates as fractions, tiers elite/high/medium/low or null without data.</summary>
public sealed record DoraResponse(
    string Report,
    DateTimeOffset From,
    DateTimeOffset To,
    string Window,
    string? Service,
    string? Team,
    string? Environment,
    IReadOnlyList<string> Environments,
    IReadOnlyList<string> Services,
    DeploymentFrequencyResponse DeploymentFrequency,
    LeadTimeResponse LeadTime,
    ChangeFailureRateResponse ChangeFailureRate,
    TimeToRestoreResponse TimeToRestore,
    string? Tier);

/// <summary>One stretch of a rollout's life: from one decision to the next, spent on <c>kind</c>.</summary>
public sealed record TimingSegmentResponse(DateTimeOffset From, DateTimeOffset To, double Seconds, string Kind, string Decision);

/// <summary>
/// Where one rollout's time went: seconds per wait kind (every kind listed), the segments, and the stretches of lead
/// time before it (commit → release, release → this rollout).
/// </summary>
public sealed record RolloutTimingResponse(
    string Rollout,
    string Service,
    string Environment,
    string Status,
    DateTimeOffset? From,
    DateTimeOffset? To,
    double TotalSeconds,
    IReadOnlyDictionary<string, double> Waits,
    IReadOnlyList<TimingSegmentResponse> Segments,
    DateTimeOffset? CommitTime,
    DateTimeOffset ReleaseCreatedAt,
    double? CommitToReleaseSeconds,
    double ReleaseToRolloutSeconds);

/// <summary>A gate's pass/fail record and flakiness (flips ÷ retries of the same release; null without a retry).</summary>
public sealed record GateRecordResponse(string Gate, int Runs, int Passed, int Failed, int Retries, int Flips, double? Flakiness, IReadOnlyList<GateRunResponse> History);

public sealed record GateRunResponse(string Release, string Environment, string Status, DateTimeOffset At);

/// <summary>Where lead time goes over the deployments of a window, stage by stage, and each gate's record.</summary>
public sealed record BottlenecksResponse(
    DateTimeOffset From,
    DateTimeOffset To,
    string Window,
    string? Service,
    string? Environment,
    IReadOnlyList<string> Environments,
    int Deployments,
    string? Largest,
    IReadOnlyList<LeadTimeStage> Stages,
    IReadOnlyList<GateRecordResponse> Gates);

/// <summary>Delivery metrics from the engine's own records: the DORA four keys, bottlenecks, rollout timing.</summary>
public static class MetricsApi
{
    /// <summary>The longest window a query may ask for: the ledger's retention.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);

    public static RouteGroupBuilder MapMetricsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/metrics").WithTags("Metrics");
        group.MapGet("/dora", Dora).RequireAuthorization(Policies.Read).ScopedBy(Scope.ServiceFilter)
            .WithSummary("The four DORA keys over a period, per environment or service");
        group.MapGet("/bottlenecks", Bottlenecks).RequireAuthorization(Policies.Read).ScopedBy(Scope.ServiceFilter)
            .WithSummary("Where releases wait on their way to production: time per stage, slowest first");
        routes.MapGet("/v1/rollouts/{id}/timing", Timing).WithTags("Rollouts").RequireAuthorization(Policies.Read).ScopedBy(Scope.Rollout)
            .WithSummary("A rollout's timing: how long it spent in each phase and step");
        return group;
    }

    /// <summary>The query both figures take: names, the window, and an environment the key is bound away from (403).</summary>
    private static (TimeSpan Span, IReadOnlySet<string> Bound, ValidationProblem? Invalid, ProblemHttpResult? Forbidden) CheckQuery(
        string? service, string? environment, string? team, string? window, ClaimsPrincipal user)
    {
        var errors = new ValidationErrors();
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add("service", "must be a service name (a lower-case DNS label)");
        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add("environment", "must be an environment name (a lower-case DNS label)");
        if (team is not null && !IsTeam(team)) errors.Add("team", "must be a team name: 1-64 letters, digits, '.', '-', '_'");
        if (!TryParseWindow(window ?? "30d", out var span)) errors.Add("window", $"must be a duration in days or hours, e.g. 30d or 12h, at most {MaxWindow.TotalDays:0}d");
        var bound = user.AgentEnvironments();
        if (errors.Any) return (span, bound, Problems.Validation(errors.ToDictionary()), null);
        if (environment is not null && bound.Count > 0 && !bound.Contains(environment))
            return (span, bound, null, Problems.Forbidden($"this API key is bound to environments {string.Join(", ", bound.Order(StringComparer.Ordinal))}; it cannot read '{environment}'"));
        return (span, bound, null, null);
    }

    public static async Task<Results<Ok<DoraResponse>, ValidationProblem, ProblemHttpResult>> Dora(
        string? service, string? environment, string? team, string? window, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var (span, bound, invalid, forbidden) = CheckQuery(service, environment, team, window, user);
        if (invalid is not null) return invalid;
        if (forbidden is not null) return forbidden;

        var to = clock.GetUtcNow();
        var records = await DeliveryRecords.Read(grains, service, team, environment, bound);
        var figures = DoraCalculator.Compute(records.Deployments, records.Incidents, records.Scope, to - span, to);
        return TypedResults.Ok(ToResponse(figures, window ?? "30d", service, team, environment, records));
    }

    /// <summary>
    /// Where lead time went over the window's deployments (rollouts that succeeded) of the services and environments in
    /// scope, as in <c>/dora</c>; and every gate result of those services in the window, per gate, with its flakiness.
    /// </summary>
    public static async Task<Results<Ok<BottlenecksResponse>, ValidationProblem, ProblemHttpResult>> Bottlenecks(
        string? service, string? environment, string? team, string? window, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var (span, bound, invalid, forbidden) = CheckQuery(service, environment, team, window, user);
        if (invalid is not null) return invalid;
        if (forbidden is not null) return forbidden;

        var to = clock.GetUtcNow();
        var from = to - span;
        var records = await DeliveryRecords.Read(grains, service, team, environment, bound);
        var deployed = records.Ledgers.SelectMany(l => l.Deployments)
            .Where(d => d.SucceededAt is { } at && at >= from && at <= to && records.Scope.Covers(d.ToDomain()))
            .Select(d => d.ToTiming()).ToList();
        var stages = Domain.Dora.Bottlenecks.WhereLeadTimeGoes(deployed);
        var runs = records.Ledgers.SelectMany(l => l.GateRuns)
            .Where(r => r.At >= from && r.At <= to && (environment is null ? bound.Count == 0 || bound.Contains(r.Environment) : r.Environment == environment))
            .Select(r => r.ToDomain());
        var gates = Domain.Dora.Bottlenecks.Gates(runs).Select(g => new GateRecordResponse(g.Gate, g.Runs, g.Passed, g.Failed, g.Retries, g.Flips, g.Flakiness,
            g.History.Select(h => new GateRunResponse(h.ReleaseId, h.Environment, h.Passed ? "passed" : "failed", h.At)).ToList())).ToList();
        return TypedResults.Ok(new BottlenecksResponse(from, to, window ?? "30d", service, environment,
            records.Scope.Environments.Order(StringComparer.Ordinal).ToList(), deployed.Count,
            deployed.Count == 0 ? null : stages.MaxBy(s => s.TotalSeconds)!.Stage, stages, gates));
    }

    /// <summary>Where one rollout's time went (a live rollout's up to now).</summary>
    public static async Task<Results<Ok<RolloutTimingResponse>, ProblemHttpResult>> Timing(string id, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        if (!GrainKeys.TryParseRollout(id, out var releaseId, out var environment) || !Names.IsHostId(releaseId) || !Names.IsDnsLabel(environment)
            || await grains.Ref<IRolloutGrain>(id).Get() is not { } rollout)
        {
            return Problems.NotFound($"rollout '{id}' does not exist");
        }

        var bound = user.AgentEnvironments();
        if (bound.Count > 0 && !bound.Contains(rollout.Environment))
            return Problems.Forbidden($"this API key is bound to environments {string.Join(", ", bound.Order(StringComparer.Ordinal))}; it cannot read '{rollout.Environment}'");

        var release = await grains.Ref<IReleaseGrain>(rollout.ReleaseId).Get();
        // A rollout rolling back after its success still holds the FinishedAt of that success: it is live, so up to now.
        var timing = RolloutTiming.Attribute(DeliveryTimings.Timed(rollout.Decisions),
            rollout.Status.IsTerminal() && rollout.FinishedAt is { } finished ? finished : clock.GetUtcNow());
        var releaseCreated = release?.CreatedAt ?? rollout.CreatedAt;
        return TypedResults.Ok(new RolloutTimingResponse(
            rollout.Id, rollout.Service, rollout.Environment, rollout.Status.ToString(), timing.From, timing.To, Math.Round(timing.TotalSeconds, 3),
            timing.ByKind.ToDictionary(k => Domain.Dora.Bottlenecks.Name(k.Key), k => k.Value),
            timing.Segments.Select(s => new TimingSegmentResponse(s.From, s.To, Math.Round(s.Seconds, 3), Domain.Dora.Bottlenecks.Name(s.Kind), s.Decision)).ToList(),
            release?.CommitTime, releaseCreated,
            release?.CommitTime is { } commit ? Math.Round(Math.Max(0, (releaseCreated - commit).TotalSeconds), 3) : null,
            Math.Round(Math.Max(0, (rollout.CreatedAt - releaseCreated).TotalSeconds), 3)));
    }

    internal static DoraResponse ToResponse(DoraFigures f, string window, string? service, string? team, string? environment, DeliveryRecords records) => new(
        f.Report, f.From, f.To, window, service, team, environment,
        records.Scope.Environments.Order(StringComparer.Ordinal).ToList(),
        records.Services,
        new DeploymentFrequencyResponse(f.DeploymentFrequency.Deployments, f.DeploymentFrequency.PerDay, f.DeploymentFrequency.DaysWithDeployment,
            f.DeploymentFrequency.FourKeys,
            f.DeploymentFrequency.Daily.Select(d => new DailyDeploymentsResponse(d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.Deployments)).ToList(),
            Tier(f.DeploymentFrequency.Tier)),
        new LeadTimeResponse(f.LeadTime.Samples, f.LeadTime.WithoutCommitTime, f.LeadTime.Duration.MedianSeconds, f.LeadTime.Duration.P75Seconds,
            f.LeadTime.Duration.P90Seconds, f.LeadTime.Duration.P95Seconds, Tier(f.LeadTime.Tier)),
        new ChangeFailureRateResponse(f.ChangeFailureRate.Deployments, f.ChangeFailureRate.Failures, f.ChangeFailureRate.RolledBack,
            f.ChangeFailureRate.Failed, f.ChangeFailureRate.IncidentLinked, f.ChangeFailureRate.Rate, Tier(f.ChangeFailureRate.Tier)),
        new TimeToRestoreResponse(f.TimeToRestore.Duration.Samples, f.TimeToRestore.Incidents, f.TimeToRestore.FailedDeployments, f.TimeToRestore.Unrestored,
            f.TimeToRestore.Duration.MedianSeconds, f.TimeToRestore.Duration.P75Seconds, f.TimeToRestore.Duration.P90Seconds,
            f.TimeToRestore.Duration.P95Seconds, Tier(f.TimeToRestore.Tier)),
        Tier(f.Tier));

    private static string? Tier(PerformanceTier? tier) => tier?.ToString().ToLowerInvariant();

    internal static bool IsTeam(string? team) => team is { Length: <= 64 } && Names.IsHostId(team);

    /// <summary><c>30d</c>, <c>12h</c>: a whole number of days or hours, more than zero, at most <see cref="MaxWindow"/>.</summary>
    public static bool TryParseWindow(string text, out TimeSpan window)
    {
        window = TimeSpan.Zero;
        if (text.Length is < 2 or > 6 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        window = text[^1] switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            _ => TimeSpan.Zero,
        };
        return window > TimeSpan.Zero && window <= MaxWindow;
    }
}

/// <summary>
/// The ledger records a DORA query covers: the services (one, a team's, or every one the catalog knows), their
/// deployments, the incidents, and the environments in scope — the one asked for, else every production-tier
/// environment the records name — narrowed to the environments an environment-bound key may read.
/// </summary>
public sealed record DeliveryRecords(
    IReadOnlyList<string> Services,
    IReadOnlyList<DeploymentRecord> Deployments,
    IReadOnlyList<IncidentSpan> Incidents,
    DoraScope Scope,
    IReadOnlyList<DeliveryLedgerSnapshot> Ledgers)
{
    public static async Task<DeliveryRecords> Read(
        IGrainFactory grains, string? service, string? team, string? environment, IReadOnlySet<string> boundEnvironments)
    {
        var catalog = await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List();
        var services = service is not null
            ? (team is null || catalog.Any(s => s.Service == service && s.Team == team) ? [service] : [])
            : catalog.Where(s => team is null || s.Team == team).Select(s => s.Service).ToList();
        var ledgers = await Task.WhenAll(services.Select(s => grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(s)).Read()));
        var deployments = ledgers.SelectMany(l => l.Deployments).Select(d => d.ToDomain()).ToList();
        var incidents = (await grains.Ref<IDeliveryLedgerGrain>(GrainKeys.IncidentLedger).Read()).Incidents.Select(i => i.ToDomain()).ToList();

        var environments = new HashSet<string>(StringComparer.Ordinal);
        if (environment is not null)
        {
            environments.Add(environment);
        }
        else
        {
            var named = deployments.Select(d => d.Environment).Concat(incidents.Select(i => i.Environment).OfType<string>());
            foreach (var name in named.Distinct(StringComparer.Ordinal))
            {
                if (await EnvironmentDeclarationsApi.IsProduction(grains, name)) environments.Add(name);
            }
        }

        if (boundEnvironments.Count > 0) environments.IntersectWith(boundEnvironments);
        var scope = new DoraScope(environments, service is not null || team is not null ? services.ToHashSet(StringComparer.Ordinal) : null);
        return new DeliveryRecords(services, deployments, incidents, scope, ledgers);
    }
}
