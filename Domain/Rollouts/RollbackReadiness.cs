using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Rollouts;

/// <summary>
/// An environment's declared recovery objectives: per strategy, the longest a rollback may take from its decision to
/// every host back on the previous artifact (the RTO); where rollbacks are rehearsed (a non-production environment);
/// how long a rehearsal stays valid.
/// </summary>
/// <param name="Rto">Strategy → recovery time objective. A strategy without one needs a drill but no time is compared.</param>
/// <param name="DrillEnvironment">The environment whose drills count; null: none is known (nothing can be drilled).</param>
/// <param name="Freshness">A drill older than this no longer counts (default <see cref="DefaultFreshness"/>).</param>
public sealed record RecoveryObjectives(IReadOnlyDictionary<StrategyKind, TimeSpan> Rto, string? DrillEnvironment, TimeSpan Freshness)
{
    public static readonly TimeSpan DefaultFreshness = TimeSpan.FromDays(30);
}

/// <summary>A finished rollback drill, as the readiness rules read it.</summary>
/// <param name="Service">The service whose release was rolled forward and back.</param>
/// <param name="Strategy">The strategy the drill rolled out (and back) with.</param>
/// <param name="FinishedAt">When the drill ended.</param>
/// <param name="RolledBack">True when the rollback ended with every host back on the previous artifact.</param>
/// <param name="TimeToSafe">Rollback decision → every host back; null when the rollback never got there.</param>
public sealed record DrillResult(string Service, StrategyKind Strategy, DateTimeOffset FinishedAt, bool RolledBack, TimeSpan? TimeToSafe);

public enum DrillReadinessVerdict
{
    /// <summary>The latest drill of this service and strategy is fresh, rolled back and within the RTO.</summary>
    Ready,

    /// <summary>No drill of this service with this strategy was ever finished.</summary>
    Missing,

    /// <summary>The latest drill is older than the freshness window.</summary>
    Stale,

    /// <summary>The latest drill's rollback never ended true (it escalated, or the forward rollout failed).</summary>
    Failed,

    /// <summary>The latest drill's time-to-safe exceeded the RTO.</summary>
    ExceededRto,

    /// <summary>No environment to drill in: neither a drill environment nor a promotion predecessor is declared.</summary>
    NoDrillEnvironment,
}

/// <summary>What the readiness rule says, with the reason a person reads (naming what to run).</summary>
public sealed record DrillReadinessResult(DrillReadinessVerdict Verdict, string Reason)
{
    public bool Ready => Verdict == DrillReadinessVerdict.Ready;
}

/// <summary>
/// Is a production rollout's rollback rehearsed? Only the latest finished drill of the same service and strategy
/// counts (an older good drill does not hide a newer bad one). It must be fresh (<c>now − finishedAt ≤ freshness</c>),
/// must have rolled back, and its time-to-safe must be at most the RTO declared for the strategy.
/// <para>Worked examples (RTO blue-green 60 s, freshness 30 d, now = 2026-01-31):</para>
/// <list type="bullet">
/// <item>no blue-green drill of <c>web</c> → Missing: "rollback drill for blueGreen of web missing: run POST /v1/environments/staging/drills".</item>
/// <item>drilled 2026-01-20 in 42 s → Ready.</item>
/// <item>drilled 2025-12-01 in 42 s → Stale (61 days old).</item>
/// <item>drilled 2026-01-20 in 75 s → ExceededRto (75 s &gt; 60 s).</item>
/// </list>
/// </summary>
public static class RollbackReadiness
{
    /// <summary>The drill is young enough to count: <c>now − finishedAt ≤ freshness</c> (a drill stamped in the future counts).</summary>
    public static bool IsFresh(DateTimeOffset finishedAt, DateTimeOffset now, TimeSpan freshness) => now - finishedAt <= freshness;

    /// <summary>The measured time meets the objective: <c>timeToSafe ≤ rto</c>; no objective declared: met; never safe: not met.</summary>
    public static bool MeetsRto(TimeSpan? timeToSafe, TimeSpan? rto) => timeToSafe is { } t && (rto is null || t <= rto.Value);

    public static DrillReadinessResult Check(
        string service, StrategyKind strategy, RecoveryObjectives objectives, IEnumerable<DrillResult> drills, DateTimeOffset now)
    {
        var name = StrategyNames.Of(strategy);
        if (objectives.DrillEnvironment is not { } where)
        {
            return new(DrillReadinessVerdict.NoDrillEnvironment,
                $"rollback drill for {name} of {service} missing, and there is no environment to drill it in: declare rollback.drillEnvironment (or after)");
        }

        var run = $"run POST /v1/environments/{where}/drills";
        var latest = drills
            .Where(d => string.Equals(d.Service, service, StringComparison.Ordinal) && d.Strategy == strategy)
            .MaxBy(d => d.FinishedAt);
        if (latest is null)
        {
            return new(DrillReadinessVerdict.Missing, $"rollback drill for {name} of {service} missing: {run}");
        }

        var when = latest.FinishedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture);
        if (!latest.RolledBack || latest.TimeToSafe is null)
        {
            return new(DrillReadinessVerdict.Failed, $"the last rollback drill for {name} of {service} ({when}) did not end rolled back: fix the rollback, then {run}");
        }

        if (!IsFresh(latest.FinishedAt, now, objectives.Freshness))
        {
            return new(DrillReadinessVerdict.Stale,
                $"the last rollback drill for {name} of {service} ({when}) is older than {Describe(objectives.Freshness)}: {run}");
        }

        var rto = objectives.Rto.TryGetValue(strategy, out var declared) ? declared : (TimeSpan?)null;
        if (!MeetsRto(latest.TimeToSafe, rto))
        {
            return new(DrillReadinessVerdict.ExceededRto,
                $"the last rollback drill for {name} of {service} ({when}) took {Describe(latest.TimeToSafe.Value)} to be safe, over the RTO of {Describe(rto!.Value)}: make the rollback faster, then {run}");
        }

        return new(DrillReadinessVerdict.Ready,
            $"rollback drilled for {name} of {service} at {when} in {Describe(latest.TimeToSafe.Value)}" + (rto is { } r ? $" (RTO {Describe(r)})" : string.Empty));
    }

    /// <summary>A duration as a person writes it: <c>1.5s</c>, <c>5m</c>, <c>2h30m</c>, <c>30d</c>.</summary>
    public static string Describe(TimeSpan duration)
    {
        if (duration < TimeSpan.FromMinutes(1))
        {
            return duration.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s";
        }

        if (duration.TotalDays >= 1 && duration.Ticks % TimeSpan.TicksPerDay == 0)
        {
            return ((long)duration.TotalDays).ToString(System.Globalization.CultureInfo.InvariantCulture) + "d";
        }

        var parts = new List<string>();
        if ((long)duration.TotalHours > 0) parts.Add(((long)duration.TotalHours).ToString(System.Globalization.CultureInfo.InvariantCulture) + "h");
        if (duration.Minutes > 0) parts.Add(duration.Minutes.ToString(System.Globalization.CultureInfo.InvariantCulture) + "m");
        if (duration.Seconds > 0 || duration.Milliseconds > 0)
            parts.Add((duration.Seconds + duration.Milliseconds / 1000.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s");
        return string.Concat(parts);
    }
}
