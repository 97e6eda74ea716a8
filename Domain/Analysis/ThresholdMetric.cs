namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// One metric of an analysis run, shaped after Argo Rollouts' <c>v1alpha1.Metric</c> without the provider: the caller
/// takes measurements, this spec says how to judge them. Defaults are Argo's.
/// </summary>
public sealed record ThresholdMetric
{
    /// <summary>Unique within a run.</summary>
    public required string Name { get; init; }

    /// <summary>Expression over <c>result</c>; true means the measurement succeeded. See <see cref="ConditionExpression"/>.</summary>
    public string? SuccessCondition { get; init; }

    /// <summary>Expression over <c>result</c>; true means the measurement failed. Wins when both conditions are true.</summary>
    public string? FailureCondition { get; init; }

    /// <summary>
    /// Measurements to take (errored ones do not count, as in Argo). Null is Argo's <c>EffectiveCount</c> for an unset
    /// count: 1 without an <see cref="Interval"/>, unbounded (until terminated or a limit is crossed) with one.
    /// </summary>
    public int? Count { get; init; }

    /// <summary>Time between measurements; required when <see cref="Count"/> &gt; 1 (Argo's validation).</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>
    /// Failed measurements tolerated: the metric fails when failed &gt; this (Argo default 0: the first failure fails
    /// it). -1 disables it (only with a <see cref="ConsecutiveSuccessLimit"/>; Argo's <c>ValidateMetric</c>).
    /// </summary>
    public int FailureLimit { get; init; }

    /// <summary>Inconclusive measurements tolerated: the metric is inconclusive when inconclusive &gt; this (default 0).</summary>
    public int InconclusiveLimit { get; init; }

    /// <summary>Errors in a row tolerated: the metric errors when consecutive errors &gt; this (Argo default 4).</summary>
    public int ConsecutiveErrorLimit { get; init; } = 4;

    /// <summary>
    /// Successful measurements in a row that end the metric Successful (Argo's <c>consecutiveSuccessLimit</c>, default 0:
    /// off). When on and the count is reached without it: Inconclusive, or Failed when failureLimit is -1
    /// (analysis.go:599-640).
    /// </summary>
    public int ConsecutiveSuccessLimit { get; init; }

    /// <summary>How long after the run starts the first measurement is taken (Argo's <c>initialDelay</c>); the metric is Pending until then.</summary>
    public TimeSpan? InitialDelay { get; init; }

    /// <summary>How a measurement without a value (and without a provider error) is classified. Not in Argo; see <see cref="MissingDataPolicy"/>.</summary>
    public MissingDataPolicy OnNoData { get; init; } = MissingDataPolicy.Inconclusive;

    /// <summary>Argo's <c>Metric.EffectiveCount()</c>: the count, or 1 when neither count nor interval is set, or null (unbounded).</summary>
    public int? EffectiveCount => Count ?? (Interval is null ? 1 : null);
}

/// <summary>
/// What a measurement with no value means. Argo has no such setting: its providers either error (an empty Prometheus
/// vector makes <c>result[0]</c> fail to evaluate, hence Error) or hand NaN to the conditions. Here the choice is explicit.
/// </summary>
public enum MissingDataPolicy
{
    /// <summary>Counts towards <see cref="ThresholdMetric.InconclusiveLimit"/> (the default: no evidence is neither pass nor fail).</summary>
    Inconclusive,

    /// <summary>Counts towards <see cref="ThresholdMetric.FailureLimit"/>.</summary>
    Fail,

    /// <summary>Counts towards <see cref="ThresholdMetric.ConsecutiveErrorLimit"/>, as an Argo provider error would.</summary>
    Error,
}
