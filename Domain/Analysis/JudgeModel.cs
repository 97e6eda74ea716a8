namespace Deploy.Engine.Domain.Analysis;

/// <summary>Which change of the canary is a failure: Increase = only a higher canary (High), Decrease = only a lower one (Low), Either = both.</summary>
public enum MetricDirection { Increase, Decrease, Either }

/// <summary>What cleaning does with NaN: Remove drops it, Replace turns it into 0.</summary>
public enum NanStrategy { Remove, Replace }

/// <summary>
/// How big the change is. MeanRatio = mean(canary) / mean(baseline) (1 when the baseline mean is 0, as Kayenta);
/// Cles = P(canary &gt; baseline) + ½·P(tie) over all pairs = W / (n_canary·n_baseline). Neutral values: 1 and 0.5.
/// </summary>
public enum EffectMeasure { MeanRatio, Cles }

/// <summary>The closed set of labels. NoDataFailure = no data on a metric that must have data.</summary>
public enum MetricClassification { Pass, High, Low, NoData, NoDataFailure }

/// <summary>One metric as the judge sees it (Kayenta's canary metric config, flattened).</summary>
public sealed record JudgeMetric
{
    public required string Name { get; init; }
    public string? Group { get; init; }
    public MetricDirection Direction { get; init; } = MetricDirection.Either;
    public NanStrategy NanStrategy { get; init; } = NanStrategy.Remove;

    /// <summary>A critical metric that fails (High/Low beyond the critical limits, or no data) forces the score to 0.</summary>
    public bool Critical { get; init; }

    /// <summary>No data is counted as a failure (NoDataFailure) instead of being left out.</summary>
    public bool MustHaveData { get; init; }

    /// <summary>A High needs effect ≥ this (Kayenta effectSize.allowedIncrease); null = neutral (1 / 0.5) = no limit.</summary>
    public double? AllowedIncrease { get; init; }

    /// <summary>A Low needs effect ≤ this (Kayenta effectSize.allowedDecrease); null = neutral = no limit.</summary>
    public double? AllowedDecrease { get; init; }

    /// <summary>On a critical metric, a High is a critical failure only when effect ≥ this; null = neutral.</summary>
    public double? CriticalIncrease { get; init; }

    /// <summary>On a critical metric, a Low is a critical failure only when effect ≤ this; null = neutral.</summary>
    public double? CriticalDecrease { get; init; }

    public EffectMeasure EffectMeasure { get; init; } = EffectMeasure.MeanRatio;

    /// <summary>Two-sided confidence level of the interval (Kayenta confLevel).</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Half-width of the no-change band as a fraction of |estimate| (Kayenta tolerance).</summary>
    public double Tolerance { get; init; } = 0.25;
}

/// <summary>
/// The classification of one metric with its evidence. <see cref="Critical"/> is true when this verdict fails the
/// whole canary (as Kayenta's <c>critical</c> flag). Counts are after cleaning; Estimate/Lower/Upper/PValue are the
/// Mann-Whitney results for canary − baseline, null when the test did not run.
/// </summary>
public sealed record MetricVerdict(
    string Name,
    string? Group,
    MetricClassification Classification,
    bool Critical,
    int BaselineCount,
    int CanaryCount,
    double? Estimate,
    double? Lower,
    double? Upper,
    double? PValue,
    double? EffectSize,
    string Reason);

public sealed record JudgeConfig
{
    public required IReadOnlyList<JudgeMetric> Metrics { get; init; }

    /// <summary>Percent weights of groups; groups not named here share 100 − Σ weights equally.</summary>
    public IReadOnlyDictionary<string, double> GroupWeights { get; init; } = new Dictionary<string, double>();

    public double PassThreshold { get; init; } = 95;
    public double MarginalThreshold { get; init; } = 75;

    /// <summary>When more than this share of the metrics has no data (NoData or NoDataFailure), the score is 0.</summary>
    public double MaxNoDataShare { get; init; } = 0.5;
}

public enum JudgeOutcome { Pass, Marginal, Fail }

public sealed record JudgeResult(
    JudgeOutcome Outcome,
    double Score,
    IReadOnlyDictionary<string, double> GroupScores,
    IReadOnlyList<MetricVerdict> Metrics,
    string Reason);
