namespace Deploy.Engine.Domain.Analysis;

/// <summary>Which change of the canary is a failure: Increase = only a higher canary (High), Decrease = only a lower one (Low), Either = both.</summary>
public enum MetricDirection { Increase, Decrease, Either }

/// <summary>
/// What cleaning does with NaN: Remove drops it, Replace turns it into 0 (Kayenta Transforms.scala:43-52). They also
/// differ on an empty side: under Remove it is NoData, under Replace the metric passes (MannWhitneyClassifier.scala:153-163).
/// </summary>
public enum NanStrategy { Remove, Replace }

/// <summary>Kayenta's <c>outliers.strategy</c>: Keep (default) or Remove, which drops values outside the IQR fences (see <see cref="Outliers"/>).</summary>
public enum OutlierStrategy { Keep, Remove }

/// <summary>
/// How big the change is (Kayenta EffectSizes.scala). MeanRatio = mean(canary) / mean(baseline), NaN when either mean
/// is 0 (EffectSizes.scala:19), and a NaN effect skips the effect-size checks (MannWhitneyClassifier.scala:118-120);
/// Cles = P(canary &gt; baseline) + ½·P(tie) over all pairs = W / (n_canary·n_baseline) (EffectSizes.scala:71-77).
/// Neutral values, the defaults of every effect limit: 1 and 0.5 (NetflixACAJudge.scala:120).
/// </summary>
public enum EffectMeasure { MeanRatio, Cles }

/// <summary>The closed set of labels. NoDataFailure = no data on a metric that must have data (Kayenta NodataFailMetric).</summary>
public enum MetricClassification { Pass, High, Low, NoData, NoDataFailure }

/// <summary>One metric as the judge sees it: Kayenta's <c>analysisConfigurations.canary</c> block plus the metric's groups.</summary>
public sealed record JudgeMetric
{
    /// <summary>NetflixACAJudge's fixed confidence level (NetflixACAJudge.scala:146, <c>confLevel = 0.98</c>).</summary>
    public const double KayentaConfidence = 0.98;

    /// <summary>NetflixACAJudge's fixed tolerance (NetflixACAJudge.scala:146, <c>tolerance = 0.25</c>).</summary>
    public const double KayentaTolerance = 0.25;

    /// <summary>Kayenta's default <c>outliers.outlierFactor</c> (NetflixACAJudge.scala:112).</summary>
    public const double KayentaOutlierFactor = 3.0;

    public required string Name { get; init; }

    /// <summary>The groups the metric is scored in (a metric may sit in several); none = <see cref="CanaryJudge.DefaultGroup"/>.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    public MetricDirection Direction { get; init; } = MetricDirection.Either;
    public NanStrategy NanStrategy { get; init; } = NanStrategy.Remove;

    /// <summary>A critical metric that fails (High/Low beyond the critical limits, or no data) forces the score to 0.</summary>
    public bool Critical { get; init; }

    /// <summary>No data is counted as a failure (NoDataFailure) instead of being left out — unless the metric is critical.</summary>
    public bool MustHaveData { get; init; }

    /// <summary>Classified and shown, but left out of scoring entirely, critical or not (Kayenta ScoringHelper.scala:38).</summary>
    public bool Muted { get; init; }

    /// <summary>A High needs effect ≥ this (Kayenta effectSize.allowedIncrease); null = neutral (1 / 0.5) = no limit.</summary>
    public double? AllowedIncrease { get; init; }

    /// <summary>A Low needs effect ≤ this (Kayenta effectSize.allowedDecrease); null = neutral = no limit.</summary>
    public double? AllowedDecrease { get; init; }

    /// <summary>On a critical metric, a High is a critical failure only when effect ≥ this; null = neutral.</summary>
    public double? CriticalIncrease { get; init; }

    /// <summary>On a critical metric, a Low is a critical failure only when effect ≤ this; null = neutral.</summary>
    public double? CriticalDecrease { get; init; }

    public EffectMeasure EffectMeasure { get; init; } = EffectMeasure.MeanRatio;

    public OutlierStrategy OutlierStrategy { get; init; } = OutlierStrategy.Keep;

    /// <summary>The IQR factor of <see cref="OutlierStrategy.Remove"/> (Kayenta <c>outliers.outlierFactor</c>, default 3).</summary>
    public double OutlierFactor { get; init; } = KayentaOutlierFactor;

    /// <summary>Two-sided confidence level of the interval (Kayenta confLevel, 0.98 in NetflixACAJudge).</summary>
    public double Confidence { get; init; } = KayentaConfidence;

    /// <summary>Half-width of the no-change band as a fraction of |estimate| (Kayenta tolerance).</summary>
    public double Tolerance { get; init; } = KayentaTolerance;
}

/// <summary>
/// The classification of one metric with its evidence. <see cref="Critical"/> is true when this verdict fails the
/// whole canary (as Kayenta's <c>critical</c> flag). Counts are after cleaning; Estimate/Lower/Upper/PValue are the
/// Mann-Whitney results for canary − baseline, null when the test did not run. <see cref="MeanRatio"/> is Kayenta's
/// <c>deviation</c> (mean canary / mean baseline, NaN when a mean is 0), whatever the effect measure.
/// </summary>
public sealed record MetricVerdict(
    string Name,
    IReadOnlyList<string> Groups,
    MetricClassification Classification,
    bool Critical,
    int BaselineCount,
    int CanaryCount,
    double? Estimate,
    double? Lower,
    double? Upper,
    double? PValue,
    double? EffectSize,
    string Reason)
{
    /// <summary>Left out of scoring (Kayenta <c>muted</c>).</summary>
    public bool Muted { get; init; }

    public double? MeanRatio { get; init; }
}

public sealed record JudgeConfig
{
    public required IReadOnlyList<JudgeMetric> Metrics { get; init; }

    /// <summary>Percent weights of groups; groups not named here share 100 − Σ weights equally.</summary>
    public IReadOnlyDictionary<string, double> GroupWeights { get; init; } = new Dictionary<string, double>();

    public double PassThreshold { get; init; } = 95;
    public double MarginalThreshold { get; init; } = 75;
}

public enum JudgeOutcome { Pass, Marginal, Fail }

public sealed record JudgeResult(
    JudgeOutcome Outcome,
    double Score,
    IReadOnlyDictionary<string, double> GroupScores,
    IReadOnlyList<MetricVerdict> Metrics,
    string Reason);
