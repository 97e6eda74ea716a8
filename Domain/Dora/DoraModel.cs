namespace Deploy.Engine.Domain.Dora;

/// <summary>How a rollout into an environment ended, as the DORA ledger records it.</summary>
public enum DeploymentOutcome
{
    /// <summary>Every target runs the new version (the rollout ended Succeeded and was not rolled back since).</summary>
    Succeeded,

    /// <summary>Rolled back: by the engine or an operator, during the rollout or after it had succeeded.</summary>
    RolledBack,

    /// <summary>Ended Failed (the engine could not finish it, nor return every host).</summary>
    Failed,
}

/// <summary>
/// One finished rollout of a release into an environment (a deployment attempt). Times are the engine's own records:
/// <see cref="StartedAt"/> when the rollout began changing hosts, <see cref="SucceededAt"/> when it reached Succeeded
/// (kept when it is rolled back later), <see cref="FinishedAt"/> when it last ended, <see cref="CommitTime"/> the
/// release's commit time as the pipeline declared it, <see cref="ReleaseCreatedAt"/> when the release was submitted.
/// </summary>
public sealed record DeploymentRecord(
    string RolloutId,
    string ReleaseId,
    string Service,
    string Environment,
    DeploymentOutcome Outcome,
    DateTimeOffset? StartedAt,
    DateTimeOffset FinishedAt,
    DateTimeOffset? SucceededAt,
    DateTimeOffset? CommitTime,
    DateTimeOffset ReleaseCreatedAt)
{
    /// <summary>Reached Succeeded at some point: it counts as a deployment for frequency and lead time.</summary>
    public bool Deployed => SucceededAt is not null;

    /// <summary>The time the DORA window places it at: when it succeeded, or when it ended failed.</summary>
    public DateTimeOffset At => SucceededAt ?? FinishedAt;
}

/// <summary>An incident as the ledger keeps it: scope (null: everything), the release it names as its cause if any, and when.</summary>
public sealed record IncidentSpan(
    string Id,
    string? Service,
    string? Environment,
    string? ReleaseId,
    DateTimeOffset DeclaredAt,
    DateTimeOffset? ResolvedAt);

/// <summary>A DORA performance level; <c>Elite</c> is best.</summary>
public enum PerformanceTier
{
    Elite,
    High,
    Medium,
    Low,
}

/// <summary>A sample of durations: how many, and its median and percentiles (linear interpolation, as PERCENTILE_CONT).</summary>
public sealed record DurationSummary(int Samples, double? MedianSeconds, double? P75Seconds, double? P90Seconds, double? P95Seconds);

/// <summary>One UTC day of the window and the deployments that succeeded on it.</summary>
public sealed record DailyDeployments(DateOnly Day, int Deployments);

public sealed record DeploymentFrequency(
    int Deployments,
    double PerDay,
    int DaysWithDeployment,
    string FourKeys,
    IReadOnlyList<DailyDeployments> Daily,
    PerformanceTier? Tier);

public sealed record LeadTime(DurationSummary Duration, int WithoutCommitTime, PerformanceTier? Tier)
{
    public int Samples => Duration.Samples;
}

public sealed record ChangeFailureRate(int Deployments, int Failures, int RolledBack, int Failed, int IncidentLinked, double? Rate, PerformanceTier? Tier);

public sealed record TimeToRestore(DurationSummary Duration, int Incidents, int FailedDeployments, int Unrestored, PerformanceTier? Tier);

/// <summary>The four keys over one window, each with its tier, and the overall tier (the weakest of those known).</summary>
public sealed record DoraFigures(
    DateTimeOffset From,
    DateTimeOffset To,
    DeploymentFrequency DeploymentFrequency,
    LeadTime LeadTime,
    ChangeFailureRate ChangeFailureRate,
    TimeToRestore TimeToRestore,
    PerformanceTier? Tier,
    string Report);
