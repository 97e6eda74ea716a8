using System.Text.Json.Serialization;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>What a canary analysis compares: the rollout's new version against the version it replaces.</summary>
[GenerateSerializer, Immutable]
[Alias("AnalysisStart")]
public sealed record AnalysisStart
{
    [Id(0)] public required string RolloutId { get; init; }

    /// <summary>1-based step of the rollout's plan.</summary>
    [Id(1)] public int Step { get; init; }

    [Id(2)] public required string CanaryVersion { get; init; }

    [Id(3)] public string? BaselineVersion { get; init; }

    [Id(4)] public JudgeDeclaration? Judge { get; init; }

    /// <summary>Threshold metrics measured on the canary at an interval during the step.</summary>
    [Id(5)] public IReadOnlyList<ThresholdMetricDeclaration> Metrics { get; init; } = [];

    /// <summary>How long the step lasts: the threshold metrics' measurements span it.</summary>
    [Id(6)] public int DurationSeconds { get; init; }

    /// <summary>Filled into provider queries as {{service}} and {{environment}}.</summary>
    [Id(7)] public string? Service { get; init; }

    [Id(8)] public string? Environment { get; init; }

    /// <summary>Argo's dry-run rules: regular expressions over the threshold metrics' names.</summary>
    [Id(9)] public IReadOnlyList<string> DryRun { get; init; } = [];
}

/// <summary>One measurement of a threshold metric: the value (or error), its phase and why.</summary>
[GenerateSerializer, Immutable]
[Alias("MeasurementView")]
public sealed record MeasurementView
{
    [Id(0)] public double? Value { get; init; }

    [Id(1)] public string? Error { get; init; }

    [Id(2)] public required string Phase { get; init; }

    [Id(3)] public required string Reason { get; init; }

    /// <summary>The result as Prometheus and Argo write it: <c>0.5</c>, <c>NaN</c>, <c>+Inf</c>, <c>[1,2]</c>; null without one.</summary>
    [Id(4)] public string? Result { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("MetricRunView")]
public sealed record MetricRunView
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public required string Phase { get; init; }

    [Id(2)] public int Count { get; init; }

    [Id(3)] public int Successful { get; init; }

    [Id(4)] public int Failed { get; init; }

    [Id(5)] public int Inconclusive { get; init; }

    [Id(6)] public int Error { get; init; }

    [Id(7)] public int ConsecutiveError { get; init; }

    [Id(8)] public IReadOnlyList<MeasurementView> Measurements { get; init; } = [];

    [Id(9)] public required string Reason { get; init; }

    [Id(10)] public int ConsecutiveSuccess { get; init; }

    /// <summary>A dry-run metric: shown, never deciding the run.</summary>
    [Id(11)] public bool DryRun { get; init; }
}

/// <summary>Argo's run summary: metrics counted and how many completed in each phase.</summary>
[GenerateSerializer, Immutable]
[Alias("RunSummaryView")]
public sealed record RunSummaryView
{
    [Id(0)] public int Count { get; init; }

    [Id(1)] public int Successful { get; init; }

    [Id(2)] public int Failed { get; init; }

    [Id(3)] public int Inconclusive { get; init; }

    [Id(4)] public int Error { get; init; }
}

/// <summary>An analysis run's phase (Successful, Failed, Inconclusive, Error) and its metrics.</summary>
[GenerateSerializer, Immutable]
[Alias("AnalysisRunView")]
public sealed record AnalysisRunView
{
    [Id(0)] public required string Phase { get; init; }

    [Id(1)] public required string Reason { get; init; }

    [Id(2)] public IReadOnlyList<MetricRunView> Metrics { get; init; } = [];

    /// <summary>The metrics that decide the run (Argo's runSummary).</summary>
    [Id(3)] public RunSummaryView? Summary { get; init; }

    /// <summary>The dry-run metrics (Argo's dryRunSummary).</summary>
    [Id(4)] public RunSummaryView? DryRunSummary { get; init; }
}

/// <summary>One metric's classification, with the numbers and the rule behind it.</summary>
[GenerateSerializer, Immutable]
[Alias("MetricVerdictView")]
public sealed record MetricVerdictView
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public string? Group { get; init; }

    /// <summary>Pass, High, Low, NoData or NoDataFailure.</summary>
    [Id(2)] public required string Classification { get; init; }

    [Id(3)] public bool Critical { get; init; }

    [Id(4)] public int BaselineCount { get; init; }

    [Id(5)] public int CanaryCount { get; init; }

    /// <summary>Location shift canary − baseline (Hodges-Lehmann) and its confidence interval.</summary>
    [Id(6)] public double? Estimate { get; init; }

    [Id(7)] public double? Lower { get; init; }

    [Id(8)] public double? Upper { get; init; }

    [Id(9)] public double? PValue { get; init; }

    [Id(10)] public double? EffectSize { get; init; }

    [Id(11)] public required string Reason { get; init; }

    /// <summary>Every group the metric was scored in (<see cref="Group"/> is the first).</summary>
    [Id(12)] public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>Shown but not scored.</summary>
    [Id(13)] public bool Muted { get; init; }

    /// <summary>Mean canary / mean baseline (Kayenta's deviation); null when a side is empty or a mean is 0.</summary>
    [Id(14)] public double? MeanRatio { get; init; }
}

/// <summary>A judge's verdict: Pass, Marginal or Fail, the score, the groups and every metric.</summary>
[GenerateSerializer, Immutable]
[Alias("JudgeVerdictView")]
public sealed record JudgeVerdictView
{
    [Id(0)] public required string Outcome { get; init; }

    [Id(1)] public double Score { get; init; }

    [Id(2)] public IReadOnlyDictionary<string, double> GroupScores { get; init; } = new Dictionary<string, double>();

    [Id(3)] public IReadOnlyList<MetricVerdictView> Metrics { get; init; } = [];

    [Id(4)] public required string Reason { get; init; }

    /// <summary>No metric had data on both sides: not a pass, a human decides.</summary>
    [Id(5)] public bool NoData { get; init; }
}

/// <summary>The samples a metric was judged on.</summary>
[GenerateSerializer, Immutable]
[Alias("AnalysisSamples")]
public sealed record AnalysisSamples
{
    /// <summary>Numbers, or "NaN", "Infinity", "-Infinity" as strings (JSON has no NaN; Prometheus answers it), which the judge's nanStrategy handles.</summary>
    [Id(0)]
    [JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
    public IReadOnlyList<double> Baseline { get; init; } = [];

    [Id(1)]
    [JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
    public IReadOnlyList<double> Canary { get; init; } = [];
}

/// <summary>A canary analysis: its configuration, inputs and verdict. Key: <see cref="GrainKeys.Analysis"/>.</summary>
[GenerateSerializer, Immutable]
[Alias("AnalysisSnapshot")]
public sealed record AnalysisSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string RolloutId { get; init; }

    [Id(2)] public int Step { get; init; }

    [Id(3)] public required string CanaryVersion { get; init; }

    [Id(4)] public string? BaselineVersion { get; init; }

    /// <summary>running or concluded.</summary>
    [Id(5)] public required string Status { get; init; }

    [Id(6)] public JudgeDeclaration? Judge { get; init; }

    /// <summary>Per metric, the samples of each side (the inputs, kept so the verdict can be replayed).</summary>
    [Id(7)] public IReadOnlyDictionary<string, AnalysisSamples> Samples { get; init; } = new Dictionary<string, AnalysisSamples>();

    [Id(8)] public JudgeVerdictView? Verdict { get; init; }

    [Id(9)] public DateTimeOffset StartedAt { get; init; }

    [Id(10)] public DateTimeOffset? ConcludedAt { get; init; }

    /// <summary>The threshold metrics' run, when the step declares any.</summary>
    [Id(11)] public AnalysisRunView? Run { get; init; }

    /// <summary>Pass, Hold (a human decides) or Fail: the worse of the judge and the run.</summary>
    [Id(12)] public string? Outcome { get; init; }

    [Id(13)] public string? Reason { get; init; }

    /// <summary>The outcome as the rollout acts on it (the same verdict <see cref="Outcome"/> names); null while running.</summary>
    [Id(150)] public Domain.Rollouts.StepVerdict? StepVerdict { get; init; }
}

/// <summary>One canary analysis of a rollout step. Key: <see cref="GrainKeys.Analysis"/>.</summary>
[Alias("ICanaryAnalysisGrain")]
public interface ICanaryAnalysisGrain : IGrainWithStringKey
{
    /// <summary>Starts collecting (idempotent: a second start keeps what was collected).</summary>
    [Alias("Start")]
    Task<AnalysisSnapshot> Start(AnalysisStart start);

    /// <summary>A host's sample, on the canary side when it runs the new version, else the baseline. One-way.</summary>
    [Orleans.Concurrency.OneWay]
    [Alias("Record")]
    Task Record(HostMetricsSample sample);

    /// <summary>Judges what was collected and stores inputs and verdict; concluding again returns the same verdict.</summary>
    [Alias("Conclude")]
    Task<AnalysisSnapshot> Conclude();

    [Alias("Get")]
    Task<AnalysisSnapshot?> Get();

    /// <summary>
    /// Whether the threshold metrics have already failed on the intervals that are over (Argo acts on the failing
    /// measurement, not at the end of the step). Queries providers for metrics that read one.
    /// </summary>
    [Alias("HasFailedEarly")]
    Task<bool> HasFailedEarly();
}
