using MathNet.Numerics.Statistics;

namespace Deploy.Engine.Domain.Dora;

/// <summary>What the figures cover: these environments and, when given, only these services.</summary>
public sealed record DoraScope(IReadOnlySet<string> Environments, IReadOnlySet<string>? Services = null)
{
    public bool Covers(DeploymentRecord d) => Environments.Contains(d.Environment) && (Services is null || Services.Contains(d.Service));

    /// <summary>
    /// An incident is in scope when its environment is one of ours (or it names none) and, when services are
    /// filtered, it names one of them (an environment-wide incident is nobody's service's).
    /// </summary>
    public bool Covers(IncidentSpan i) =>
        (i.Environment is null || Environments.Contains(i.Environment))
        && (Services is null || (i.Service is not null && Services.Contains(i.Service)));
}

/// <summary>
/// The four keys from the engine's own records, after the Four Keys project's definitions where they apply
/// (docs/dora.md spells out every rule; the tests are hand-worked tables of them):
/// <list type="bullet">
/// <item><b>Deployment</b>: a rollout into an in-scope environment that reached Succeeded, placed at the time it did.
/// Frequency counts them in UTC daily buckets over the window.</item>
/// <item><b>Lead time</b>: per deployment, succeeded-at − the release's commit time (the release's submission time when
/// no commit time was given, counted in <c>withoutCommitTime</c>); never negative.</item>
/// <item><b>Change failure rate</b>: deployment attempts (succeeded, rolled back or failed; placed at their success,
/// else their end) that were rolled back, failed, or that an incident is linked to, over all attempts.</item>
/// <item><b>Time to restore</b>: each in-scope incident declared in the window, declared → resolved; and each failed
/// attempt in the window, its start → the next deployment of the same service and environment that succeeded (and
/// stayed so) after it ended. Either still open counts as <c>unrestored</c>.</item>
/// <item>Medians and percentiles interpolate linearly between the two nearest ranks, as BigQuery's PERCENTILE_CONT
/// that Four Keys uses: the median of 1 h and 3 h is 2 h.</item>
/// </list>
/// </summary>
public static class DoraCalculator
{
    public static DoraFigures Compute(
        IReadOnlyList<DeploymentRecord> records, IReadOnlyList<IncidentSpan> incidents, DoraScope scope, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(incidents);
        ArgumentNullException.ThrowIfNull(scope);
        if (to < from) throw new ArgumentException("the window ends before it starts", nameof(to));

        bool InWindow(DateTimeOffset at) => at >= from && at <= to;
        var inScope = records.Where(scope.Covers).ToList();
        var attempts = inScope.Where(d => InWindow(d.At)).ToList();
        var deployed = attempts.Where(d => d.Deployed).ToList();

        var frequency = Frequency(deployed, from, to);
        var lead = Lead(deployed);
        var failure = Failure(attempts, inScope, incidents.Where(i => i.DeclaredAt <= to && scope.Covers(i)).ToList());
        var restore = Restore(attempts, inScope, incidents.Where(i => InWindow(i.DeclaredAt) && scope.Covers(i)).ToList(), to);
        return new DoraFigures(from, to, frequency, lead, failure, restore,
            DoraTiers.Overall(frequency.Tier, lead.Tier, failure.Tier, restore.Tier), DoraTiers.Report);
    }

    /// <summary>
    /// Deployments per UTC day of the window, and Four Keys' label: <c>daily</c> when the median week has deployments on
    /// 3 or more days, <c>weekly</c> when the median week has one, <c>monthly</c> when the median month (of weeks) has
    /// one, else <c>yearly</c> (weeks start on Sunday, as BigQuery's WEEK).
    /// </summary>
    public static DeploymentFrequency Frequency(IReadOnlyList<DeploymentRecord> deployed, DateTimeOffset from, DateTimeOffset to)
    {
        var first = DateOnly.FromDateTime(from.UtcDateTime);
        var last = DateOnly.FromDateTime(to.UtcDateTime);
        var perDay = deployed.GroupBy(d => DateOnly.FromDateTime(d.SucceededAt!.Value.UtcDateTime)).ToDictionary(g => g.Key, g => g.Count());
        var daily = new List<DailyDeployments>();
        for (var day = first; day <= last; day = day.AddDays(1))
        {
            daily.Add(new DailyDeployments(day, perDay.GetValueOrDefault(day)));
        }

        var weeks = daily.GroupBy(d => d.Day.AddDays(-(int)d.Day.DayOfWeek))
            .Select(w => (Start: w.Key, Days: w.Count(d => d.Deployments > 0)))
            .ToList();
        var monthly = weeks.GroupBy(w => (w.Start.Year, w.Start.Month)).ToDictionary(m => m.Key, m => m.Count(w => w.Days > 0));
        var label =
            Median(weeks.Select(w => (double)w.Days)) >= 3 ? "daily"
            : Median(weeks.Select(w => w.Days > 0 ? 1.0 : 0.0)) >= 1 ? "weekly"
            : Median(weeks.Select(w => (double)monthly[(w.Start.Year, w.Start.Month)])) >= 1 ? "monthly"
            : "yearly";

        var windowDays = (to - from).TotalDays;
        var rate = windowDays <= 0 ? 0 : deployed.Count / windowDays;
        return new DeploymentFrequency(deployed.Count, Math.Round(rate, 4), daily.Count(d => d.Deployments > 0), label, daily,
            deployed.Count == 0 ? null : DoraTiers.Frequency(rate));
    }

    private static LeadTime Lead(IReadOnlyList<DeploymentRecord> deployed)
    {
        var samples = deployed
            .Select(d => Math.Max(0, (d.SucceededAt!.Value - (d.CommitTime ?? d.ReleaseCreatedAt)).TotalSeconds))
            .ToList();
        var summary = Summarise(samples);
        return new LeadTime(summary, deployed.Count(d => d.CommitTime is null),
            summary.MedianSeconds is { } median ? DoraTiers.LeadTime(TimeSpan.FromSeconds(median)) : null);
    }

    private static ChangeFailureRate Failure(List<DeploymentRecord> attempts, IReadOnlyList<DeploymentRecord> history, IReadOnlyList<IncidentSpan> incidents)
    {
        var linked = incidents.SelectMany(i => Linked(i, history)).Select(d => d.RolloutId).ToHashSet(StringComparer.Ordinal);
        var rolledBack = attempts.Count(d => d.Outcome == DeploymentOutcome.RolledBack);
        var failed = attempts.Count(d => d.Outcome == DeploymentOutcome.Failed);
        var incidentOnly = attempts.Count(d => d.Outcome == DeploymentOutcome.Succeeded && linked.Contains(d.RolloutId));
        var failures = rolledBack + failed + incidentOnly;
        double? rate = attempts.Count == 0 ? null : Math.Round((double)failures / attempts.Count, 4);
        return new ChangeFailureRate(attempts.Count, failures, rolledBack, failed,
            attempts.Count(d => linked.Contains(d.RolloutId)), rate, rate is { } r ? DoraTiers.ChangeFailureRate(r) : null);
    }

    /// <summary>
    /// The deployments an incident is held against: those of the release it names (in its environment, when it
    /// names one); otherwise, for an incident that names a service, the deployment of that service that was live when
    /// it was declared (the last to succeed before, per environment); an incident naming no service and no release
    /// is held against none.
    /// </summary>
    public static IEnumerable<DeploymentRecord> Linked(IncidentSpan incident, IReadOnlyList<DeploymentRecord> history)
    {
        var candidates = history.Where(d => d.Deployed && d.SucceededAt <= incident.DeclaredAt
            && (incident.Environment is null || d.Environment == incident.Environment));
        if (incident.ReleaseId is not null)
        {
            return candidates.Where(d => d.ReleaseId == incident.ReleaseId).ToList();
        }

        return incident.Service is null
            ? []
            : candidates.Where(d => d.Service == incident.Service)
                .GroupBy(d => d.Environment)
                .Select(g => g.MaxBy(d => d.SucceededAt)!)
                .ToList();
    }

    private static TimeToRestore Restore(
        IReadOnlyList<DeploymentRecord> attempts, IReadOnlyList<DeploymentRecord> history, List<IncidentSpan> incidents, DateTimeOffset to)
    {
        var samples = new List<double>();
        var unrestored = 0;
        foreach (var incident in incidents)
        {
            if (incident.ResolvedAt is { } resolved && resolved <= to) samples.Add(Math.Max(0, (resolved - incident.DeclaredAt).TotalSeconds));
            else unrestored++;
        }

        var failedAttempts = attempts.Where(d => d.Outcome != DeploymentOutcome.Succeeded).ToList();
        foreach (var failedAttempt in failedAttempts)
        {
            var next = history
                .Where(d => d.Outcome == DeploymentOutcome.Succeeded && d.Service == failedAttempt.Service && d.Environment == failedAttempt.Environment
                    && d.SucceededAt >= failedAttempt.FinishedAt && d.SucceededAt <= to)
                .MinBy(d => d.SucceededAt);
            if (next is null) unrestored++;
            else samples.Add(Math.Max(0, (next.SucceededAt!.Value - (failedAttempt.StartedAt ?? failedAttempt.FinishedAt)).TotalSeconds));
        }

        var summary = Summarise(samples);
        return new TimeToRestore(summary, incidents.Count, failedAttempts.Count, unrestored,
            summary.MedianSeconds is { } median ? DoraTiers.RecoveryTime(TimeSpan.FromSeconds(median)) : null);
    }

    /// <summary>Median, p75, p90 and p95 of a sample, each by linear interpolation between the nearest ranks .</summary>
    public static DurationSummary Summarise(IReadOnlyList<double> seconds)
    {
        if (seconds.Count == 0) return new DurationSummary(0, null, null, null, null);
        var sorted = seconds.Order().ToArray();
        double At(double tau) => Math.Round(SortedArrayStatistics.QuantileCustom(sorted, tau, QuantileDefinition.R7), 3);
        return new DurationSummary(sorted.Length, At(0.5), At(0.75), At(0.9), At(0.95));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : SortedArrayStatistics.QuantileCustom(sorted, 0.5, QuantileDefinition.R7);
    }
}
