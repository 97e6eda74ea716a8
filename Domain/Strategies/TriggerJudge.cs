using System.Globalization;

namespace Deploy.Engine.Domain.Strategies;

/// <summary>The latest sample of one host running the new version.</summary>
public sealed record HostSample(string HostId, double ErrorRatePercent, double P99LatencyMs, int FailedHealthChecks, long Requests);

/// <summary>Whether a rollback trigger is breached, which one, and why, in words.</summary>
public sealed record TriggerVerdict(bool Breached, RollbackTrigger? Trigger, string Reason);

/// <summary>
/// Judges the rollback triggers against the latest sample of every host running the new version.
/// Aggregation, per metric, over the hosts whose value is a finite number (a NaN or infinite value is cleaned out):
/// <list type="bullet">
/// <item>errorRatePercent: the request-weighted mean <c>Σ rateᵢ × requestsᵢ / Σ requestsᵢ</c>, so an idle host cannot
/// dilute a busy failing one; the plain mean when no host served a request. Example: 10% over 100 requests and 0% over
/// 300 → 2.50; 10% and 0% with no requests → 5.00.</item>
/// <item>p99LatencyMs: the worst host's p99. Percentiles cannot be averaged; the maximum is conservative.
/// Example: 120, 480, 90 → 480.</item>
/// <item>failedHealthChecks: the sum over hosts. Example: 1, 0, 2 → 3.</item>
/// </list>
/// A trigger is breached when the aggregate exceeds its threshold (equal is not a breach). The first breached trigger
/// in declared order wins. No samples: not breached ("no samples yet").
/// </summary>
public static class TriggerJudge
{
    public static TriggerVerdict Evaluate(IReadOnlyList<RollbackTrigger> triggers, IReadOnlyList<HostSample> samples)
    {
        ArgumentNullException.ThrowIfNull(triggers);
        ArgumentNullException.ThrowIfNull(samples);

        // Why before anything: no evidence is not a pass and not a failure; the caller keeps watching.
        if (samples.Count == 0) return new TriggerVerdict(false, null, "no samples yet");
        if (triggers.Count == 0) return new TriggerVerdict(false, null, "no rollback triggers declared");

        var within = new List<string>(triggers.Count);
        foreach (var trigger in triggers)
        {
            var (observed, hosts) = Aggregate(trigger.Metric, samples);
            var text = Describe(trigger, observed, hosts);
            if (observed is { } value && value > trigger.Threshold)
            {
                return new TriggerVerdict(true, trigger, text);
            }

            within.Add(text);
        }

        return new TriggerVerdict(false, null, "within thresholds: " + string.Join("; ", within));
    }

    /// <summary>The aggregate of <paramref name="metric"/> and how many hosts it covers; null when no host has a usable value.</summary>
    public static (double? Observed, int Hosts) Aggregate(TriggerMetric metric, IReadOnlyList<HostSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        switch (metric)
        {
            case TriggerMetric.ErrorRatePercent:
            {
                var usable = samples.Where(s => double.IsFinite(s.ErrorRatePercent)).ToList();
                if (usable.Count == 0) return (null, 0);
                var requests = usable.Sum(s => (double)Math.Max(0, s.Requests));
                var mean = requests > 0
                    ? usable.Sum(s => s.ErrorRatePercent * Math.Max(0, s.Requests)) / requests
                    : usable.Average(s => s.ErrorRatePercent);
                return (mean, usable.Count);
            }

            case TriggerMetric.P99LatencyMs:
            {
                var usable = samples.Where(s => double.IsFinite(s.P99LatencyMs)).ToList();
                return usable.Count == 0 ? (null, 0) : (usable.Max(s => s.P99LatencyMs), usable.Count);
            }

            default:
                return (samples.Sum(s => (double)s.FailedHealthChecks), samples.Count);
        }
    }

    private static string Describe(RollbackTrigger trigger, double? observed, int hosts)
    {
        var name = StrategyNames.Of(trigger.Metric);
        if (observed is not { } value) return string.Create(CultureInfo.InvariantCulture, $"{name} has no usable sample");
        var shown = trigger.Metric == TriggerMetric.FailedHealthChecks
            ? value.ToString("0", CultureInfo.InvariantCulture)
            : value.ToString("0.00", CultureInfo.InvariantCulture);
        var op = value > trigger.Threshold ? ">" : "<=";
        return string.Create(CultureInfo.InvariantCulture,
            $"{name} {shown} {op} {trigger.Threshold.ToString("0.##", CultureInfo.InvariantCulture)} over {hosts} host{(hosts == 1 ? "" : "s")}");
    }
}
