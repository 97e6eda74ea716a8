namespace Deploy.Engine.Domain.Analysis;

/// <summary>The phase of one completed measurement (Argo's measurement phases less Running/Pending: measurements given here are finished).</summary>
public enum MeasurementPhase { Successful, Failed, Inconclusive, Error }

/// <summary>
/// One finished measurement as a provider returned it. <paramref name="Error"/> not null: the provider failed (an Error
/// measurement, whatever the value). <paramref name="Value"/> null without an error: no data, judged by
/// <see cref="ThresholdMetric.OnNoData"/>. <paramref name="At"/> is carried for the caller; the judge never reads a clock.
/// </summary>
public sealed record Measurement(double? Value, string? Error = null, DateTimeOffset? At = null);

/// <summary>A measurement with its phase and the reason, in words.</summary>
public sealed record MeasuredValue(Measurement Input, MeasurementPhase Phase, string Reason);

/// <summary>
/// Phase of a metric or a run. Argo also has Pending (no measurement yet); here that reads as Running, with a reason
/// that says no measurement was taken.
/// </summary>
public enum AnalysisPhase { Running, Successful, Failed, Inconclusive, Error }

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
    string Reason);

/// <summary>The run's phase, every metric's result, and the reason the phase holds.</summary>
public sealed record AnalysisRunResult(AnalysisPhase Phase, IReadOnlyList<MetricRunResult> Metrics, string Reason);
