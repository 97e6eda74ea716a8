using Deploy.Engine.Domain.Rolling;

namespace Deploy.Engine.Domain.Strategies;

public enum StrategyKind
{
    /// <summary>Update hosts in place, batch by batch.</summary>
    Rolling,

    /// <summary>Shift traffic to the new version step by step, with pauses and analysis between.</summary>
    Canary,

    /// <summary>Deploy to the idle slot, then switch the environment's traffic to it as a whole.</summary>
    BlueGreen,

    /// <summary>Deploy to freshly provisioned hosts, then retire the old ones.</summary>
    Immutable,
}

public enum ScopeKind
{
    /// <summary>Every target host in one stage.</summary>
    Full,

    /// <summary>One stage per label selector, in order.</summary>
    Waves,

    /// <summary>Opted-in hosts first, then the rest.</summary>
    Pilot,
}

public enum WaveFailurePolicy
{
    /// <summary>Roll back the failing wave only; earlier successful waves keep the new version.</summary>
    RollBackWave,

    /// <summary>Roll back every wave.</summary>
    RollBackAll,
}

public enum ConflictPolicy
{
    /// <summary>Wait until the running rollout of the environment ends.</summary>
    Queue,

    /// <summary>Abort the running rollout and take its place.</summary>
    Supersede,
}

public enum DeadlineAction
{
    Abort,
    Pause,
}

public enum TriggerMetric
{
    /// <summary>Request-weighted mean error rate over the new version's hosts, in percent.</summary>
    ErrorRatePercent,

    /// <summary>The worst host's p99 latency, in milliseconds.</summary>
    P99LatencyMs,

    /// <summary>Failed health checks summed over the new version's hosts.</summary>
    FailedHealthChecks,
}

/// <summary>A validated strategy. Durations are <see cref="TimeSpan"/>s; the clock is the caller's.</summary>
public sealed record StrategySpec(
    StrategyKind Kind,
    RollingSpec Rolling,
    IReadOnlyList<CanaryStep> Steps,
    BlueGreenSpec? BlueGreen,
    ScopeSpec Scope,
    IReadOnlyList<RollbackTrigger> Triggers,
    DeadlineSpec Deadlines,
    ConflictPolicy OnConflict);

/// <summary>A canary step: <see cref="SetWeightStep"/>, <see cref="PauseStep"/> or <see cref="AnalysisStep"/>.</summary>
public abstract record CanaryStep;

/// <summary>Route <paramref name="Percent"/> (1–100) of the traffic to the new version.</summary>
public sealed record SetWeightStep(int Percent) : CanaryStep;

/// <summary>Wait; a null duration waits until an operator promotes.</summary>
public sealed record PauseStep(TimeSpan? Duration) : CanaryStep;

/// <summary>Watch the rollback triggers for <paramref name="Duration"/>.</summary>
public sealed record AnalysisStep(TimeSpan Duration) : CanaryStep;

/// <param name="SlotLabel">The host label whose value is the host's slot.</param>
/// <param name="PrePromotionAnalysis">Watch the triggers on the idle slot before the switch; null for none.</param>
/// <param name="AutoPromoteAfter">Switch by itself after this long; null waits for an operator.</param>
/// <param name="ScaleDownDelay">How long the old slot stays warm after the switch; a rollback inside it is a switch back.</param>
public sealed record BlueGreenSpec(string SlotLabel, TimeSpan? PrePromotionAnalysis, TimeSpan? AutoPromoteAfter, TimeSpan ScaleDownDelay)
{
    public const string DefaultSlotLabel = "slot";

    public static readonly TimeSpan DefaultScaleDownDelay = TimeSpan.FromSeconds(300);
}

/// <param name="Waves">Ordered label selectors (empty unless <see cref="ScopeKind.Waves"/>).</param>
/// <param name="Pilot">Opted-in hosts' selector; set for <see cref="ScopeKind.Pilot"/>, optional with waves.</param>
/// <param name="Bake">Wait after each stage but the last; zero for none.</param>
public sealed record ScopeSpec(
    ScopeKind Kind,
    IReadOnlyList<IReadOnlyDictionary<string, string>> Waves,
    IReadOnlyDictionary<string, string>? Pilot,
    TimeSpan Bake,
    WaveFailurePolicy OnFailure)
{
    public static ScopeSpec Full { get; } = new(ScopeKind.Full, [], null, TimeSpan.Zero, WaveFailurePolicy.RollBackAll);
}

/// <summary>Breached when the observed <paramref name="Metric"/> exceeds <paramref name="Threshold"/>, judged over <paramref name="Window"/>.</summary>
public sealed record RollbackTrigger(TriggerMetric Metric, double Threshold, TriggerWindow? Window = null)
{
    /// <summary>The declared window, or <see cref="TriggerWindow.Default"/>.</summary>
    public TriggerWindow EffectiveWindow => Window ?? TriggerWindow.Default;
}

/// <summary>
/// The evidence a rollback trigger needs before it may fire, so that one host's first reading cannot roll a release back:
/// the last <paramref name="Samples"/> readings of each host of the new version form the window, and the trigger is judged
/// only once the window holds at least <paramref name="MinSamples"/> usable readings from at least
/// <paramref name="MinHosts"/> hosts. Default: 5 readings per host, at least 2 readings from at least 1 host
/// (a single-host canary can still be judged, on two readings rather than one).
/// </summary>
public sealed record TriggerWindow(int Samples, int MinSamples, int MinHosts)
{
    public const int MaxSamples = 100;

    public static TriggerWindow Default { get; } = new(5, 2, 1);
}

/// <param name="Progress">How long a step may take before <paramref name="OnExpiry"/> applies.</param>
/// <param name="Analysis">How long an analysis may run at most.</param>
/// <param name="Approval">How long a pause may wait for an operator.</param>
/// <param name="Rollback">How long a rollback may take before its silent hosts are quarantined; null: the environment's, else <paramref name="Progress"/>.</param>
public sealed record DeadlineSpec(TimeSpan Progress, TimeSpan Analysis, TimeSpan Approval, DeadlineAction OnExpiry, TimeSpan? Rollback = null)
{
    public static DeadlineSpec Default { get; } =
        new(TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(86_400), DeadlineAction.Abort);
}

/// <summary>The wire names of the closed sets, as the API spells them.</summary>
public static class StrategyNames
{
    public static string Of(TriggerMetric metric) => metric switch
    {
        TriggerMetric.ErrorRatePercent => "errorRatePercent",
        TriggerMetric.P99LatencyMs => "p99LatencyMs",
        _ => "failedHealthChecks",
    };

    public static string Of(StrategyKind kind) => kind switch
    {
        StrategyKind.Rolling => "rolling",
        StrategyKind.Canary => "canary",
        StrategyKind.BlueGreen => "blueGreen",
        _ => "immutable",
    };

    /// <summary>A selector as <c>k=v,k2=v2</c>, keys in ordinal order, so the same selector always reads the same.</summary>
    public static string Of(IReadOnlyDictionary<string, string> selector) =>
        string.Join(",", selector.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));
}
