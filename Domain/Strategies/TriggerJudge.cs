using System.Globalization;

namespace Deploy.Engine.Domain.Strategies;

/// <summary>The latest sample of one host running the new version.</summary>
public sealed record HostSample(string HostId, double ErrorRatePercent, double P99LatencyMs, int FailedHealthChecks, long Requests);

/// <summary>Whether a rollback trigger is breached, which one, and why, in words.</summary>
public sealed record TriggerVerdict(bool Breached, RollbackTrigger? Trigger, string Reason);

/// <summary>
/// Judges the rollback triggers over a window of readings from the hosts running the new version (each trigger's
/// <see cref="TriggerWindow"/>: the last N readings of each host; judged only with enough readings and hosts, so one
/// host's first reading never fires a trigger). Aggregation over the window, per metric, over the readings whose value
/// is a finite number (a NaN or infinite value is cleaned out):
/// <list type="bullet">
/// <item>errorRatePercent: the request-weighted mean <c>Σ rateᵢ × requestsᵢ / Σ requestsᵢ</c> over every reading, so an
/// idle host cannot dilute a busy failing one; the plain mean when no reading counted a request. Example: 10% over 100
/// requests and 0% over 300 → 2.50; 10% and 0% with no requests → 5.00.</item>
/// <item>p99LatencyMs: each host's mean p99 over its window, then the worst host. Percentiles cannot be averaged across
/// hosts; the maximum is conservative, and the per-host mean keeps one spike from deciding alone.
/// Example: host a 100, 140 → 120; host b 480; host c 90 → 480.</item>
/// <item>failedHealthChecks: each host's latest reading, summed over hosts. Example: 1, 0, 2 → 3.</item>
/// </list>
/// A trigger is breached when the aggregate exceeds its threshold (equal is not a breach). The first breached trigger
/// in declared order wins. No samples: not breached ("no samples yet").
/// </summary>
public static class TriggerJudge
{
    /// <param name="samples">Readings in arrival order, several per host allowed; each trigger keeps the last of each host its window holds.</param>
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
            var window = Window(samples, trigger.EffectiveWindow.Samples);
            var usable = window.Where(s => Usable(trigger.Metric, s)).ToList();
            var hosts = usable.Select(s => s.HostId).Distinct(StringComparer.Ordinal).Count();
            var need = trigger.EffectiveWindow;
            if (usable.Count < need.MinSamples || hosts < need.MinHosts)
            {
                // Too little evidence to judge: keep watching (not a pass either).
                within.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{StrategyNames.Of(trigger.Metric)} waiting for evidence: {usable.Count} of {need.MinSamples} readings from {hosts} of {need.MinHosts} hosts"));
                continue;
            }

            var (observed, _) = Aggregate(trigger.Metric, usable);
            var text = Describe(trigger, observed, hosts, usable.Count);
            if (observed is { } value && value > trigger.Threshold)
            {
                return new TriggerVerdict(true, trigger, text);
            }

            within.Add(text);
        }

        return new TriggerVerdict(false, null, "within thresholds: " + string.Join("; ", within));
    }

    /// <summary>The last <paramref name="perHost"/> readings of each host, in arrival order.</summary>
    public static IReadOnlyList<HostSample> Window(IReadOnlyList<HostSample> samples, int perHost)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var kept = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<HostSample>();
        for (var i = samples.Count - 1; i >= 0; i--)
        {
            var taken = kept.GetValueOrDefault(samples[i].HostId);
            if (taken >= perHost) continue;
            kept[samples[i].HostId] = taken + 1;
            result.Add(samples[i]);
        }

        result.Reverse();
        return result;
    }

    /// <summary>The aggregate of <paramref name="metric"/> over the readings and how many hosts it covers; null when no reading is usable.</summary>
    public static (double? Observed, int Hosts) Aggregate(TriggerMetric metric, IReadOnlyList<HostSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var usable = samples.Where(s => Usable(metric, s)).ToList();
        if (usable.Count == 0) return (null, 0);
        var byHost = usable.GroupBy(s => s.HostId, StringComparer.Ordinal).ToList();
        switch (metric)
        {
            case TriggerMetric.ErrorRatePercent:
            {
                var requests = usable.Sum(s => (double)Math.Max(0, s.Requests));
                var mean = requests > 0
                    ? usable.Sum(s => s.ErrorRatePercent * Math.Max(0, s.Requests)) / requests
                    : usable.Average(s => s.ErrorRatePercent);
                return (mean, byHost.Count);
            }

            case TriggerMetric.P99LatencyMs:
                return (byHost.Max(h => h.Average(s => s.P99LatencyMs)), byHost.Count);

            default:
                return (byHost.Sum(h => (double)h.Last().FailedHealthChecks), byHost.Count);
        }
    }

    private static bool Usable(TriggerMetric metric, HostSample s) => metric switch
    {
        TriggerMetric.ErrorRatePercent => double.IsFinite(s.ErrorRatePercent),
        TriggerMetric.P99LatencyMs => double.IsFinite(s.P99LatencyMs),
        _ => true,
    };

    private static string Describe(RollbackTrigger trigger, double? observed, int hosts, int readings)
    {
        var name = StrategyNames.Of(trigger.Metric);
        if (observed is not { } value) return string.Create(CultureInfo.InvariantCulture, $"{name} has no usable sample");
        var shown = trigger.Metric == TriggerMetric.FailedHealthChecks
            ? value.ToString("0", CultureInfo.InvariantCulture)
            : value.ToString("0.00", CultureInfo.InvariantCulture);
        var op = value > trigger.Threshold ? ">" : "<=";
        return string.Create(CultureInfo.InvariantCulture,
            $"{name} {shown} {op} {trigger.Threshold.ToString("0.##", CultureInfo.InvariantCulture)} over {hosts} host{(hosts == 1 ? "" : "s")} ({readings} reading{(readings == 1 ? "" : "s")})");
    }
}
