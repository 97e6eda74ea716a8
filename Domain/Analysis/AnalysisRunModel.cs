namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// The phase of one measurement (Argo's measurement phases). <see cref="Running"/> is a measurement still in flight
/// (Argo's <c>Measurement</c> without <c>finishedAt</c>): it is not counted, and the metric waits on it. Appended last.
/// </summary>
public enum MeasurementPhase { Successful, Failed, Inconclusive, Error, Running }

/// <summary>
/// One measurement as a provider returned it. <paramref name="Error"/> not null: the provider failed (an Error
/// measurement, whatever the value). <paramref name="Value"/>: a number (NaN and ±Inf included, as Prometheus answers
/// them); <see cref="Values"/> instead: a vector (a Prometheus vector or matrix answer, read as <c>result[0]</c>).
/// Neither, and no error: no data, judged by <see cref="ThresholdMetric.OnNoData"/>. <see cref="InFlight"/>: the
/// measurement has started and not finished (only the last one may be). <paramref name="At"/> is carried for the
/// caller; the judge never reads a clock.
/// </summary>
public sealed record Measurement(double? Value, string? Error = null, DateTimeOffset? At = null)
{
    /// <summary>A vector result; when set, <c>result</c> is this vector and <see cref="Value"/> is ignored.</summary>
    public IReadOnlyList<double>? Values { get; init; }

    /// <summary>Started, not finished: Argo's Running measurement.</summary>
    public bool InFlight { get; init; }

    /// <summary>What the conditions see as <c>result</c>.</summary>
    public ResultValue Result => Values is { } vector ? ResultValue.Of(vector) : ResultValue.Of(Value);

    /// <summary>True when there is no value at all (neither a number nor a vector) and no error.</summary>
    public bool NoData => Error is null && Value is null && Values is null;
}

/// <summary>A measurement with its phase and the reason, in words.</summary>
public sealed record MeasuredValue(Measurement Input, MeasurementPhase Phase, string Reason);

/// <summary>
/// Phase of a metric or a run (Argo's <c>AnalysisPhase</c>). <see cref="Pending"/> (appended last, so stored ordinals
/// keep their meaning): a metric with no measurement yet (Argo's <c>assessMetricStatus</c>, analysis.go:584-590).
/// </summary>
public enum AnalysisPhase { Running, Successful, Failed, Inconclusive, Error, Pending }

/// <summary>
/// A metric's phase and Argo's <c>MetricResult</c> counters after the measurements it counted. <paramref name="Count"/>
/// is successful + failed + inconclusive (errors are not counted, as in Argo's <c>runMeasurements</c>).
/// <paramref name="Measurements"/> holds the measurements counted, in order; any given after the metric had completed
/// are left out (Argo would not have taken them) and the reason says how many.
/// </summary>
public sealed record MetricRunResult(
    string Name,
    AnalysisPhase Phase,
    int Count,
    int Successful,
    int Failed,
    int Inconclusive,
    int Error,
    int ConsecutiveError,
    IReadOnlyList<MeasuredValue> Measurements,
    string Reason)
{
    /// <summary>Successful measurements in a row (Argo's <c>consecutiveSuccess</c>, reset by any other phase).</summary>
    public int ConsecutiveSuccess { get; init; }

    /// <summary>A dry-run metric: measured and shown, never deciding the run (Argo's <c>MetricResult.DryRun</c>).</summary>
    public bool DryRun { get; init; }
}

/// <summary>Argo's <c>RunSummary</c>: metrics counted, and how many completed in each phase.</summary>
public sealed record RunSummary(int Count, int Successful, int Failed, int Inconclusive, int Error)
{
    public static RunSummary Empty { get; } = new(0, 0, 0, 0, 0);
}

/// <summary>The run's phase, every metric's result, and the reason the phase holds.</summary>
public sealed record AnalysisRunResult(AnalysisPhase Phase, IReadOnlyList<MetricRunResult> Metrics, string Reason)
{
    /// <summary>The metrics that decide the run (Argo's <c>runSummary</c>).</summary>
    public RunSummary Summary { get; init; } = RunSummary.Empty;

    /// <summary>The dry-run metrics (Argo's <c>dryRunSummary</c>).</summary>
    public RunSummary DryRunSummary { get; init; } = RunSummary.Empty;
}
