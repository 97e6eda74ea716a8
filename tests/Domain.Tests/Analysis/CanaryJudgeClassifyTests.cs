using Deploy.Engine.Domain.Analysis;
using static Deploy.Engine.Domain.Analysis.MetricClassification;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>
/// The classification stage against Kayenta a69573be, kayenta-judge/src/main/scala/com/netflix/kayenta/judge/
/// (NetflixACAJudge.scala, classifiers/metric/MannWhitneyClassifier.scala, stats/EffectSizes.scala); each table cites the
/// line it follows. Intervals quoted in comments are R's <c>wilcox.test(canary, baseline, conf.int = TRUE, exact = FALSE,
/// conf.level = 0.98)</c>, which the engine reproduces (MannWhitneyTests).
/// </summary>
public class CanaryJudgeClassifyTests
{
    private static readonly double[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    private static readonly double[] TwentyOneToThirty = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];

    private static JudgeMetric Metric(MetricDirection direction = MetricDirection.Either) =>
        new() { Name = "latency", Groups = ["perf"], Direction = direction };

    public static TheoryData<string, MetricDirection, double[], double[], MetricClassification> Directions => new()
    {
        // label, direction, baseline, canary, expected
        { "higher, Either", MetricDirection.Either, OneToTen, TwentyOneToThirty, High },
        { "higher, Increase", MetricDirection.Increase, OneToTen, TwentyOneToThirty, High },
        { "higher, Decrease", MetricDirection.Decrease, OneToTen, TwentyOneToThirty, Pass },
        { "lower, Either", MetricDirection.Either, TwentyOneToThirty, OneToTen, Low },
        { "lower, Decrease", MetricDirection.Decrease, TwentyOneToThirty, OneToTen, Low },
        { "lower, Increase", MetricDirection.Increase, TwentyOneToThirty, OneToTen, Pass },
        { "overlapping", MetricDirection.Either, OneToTen, [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5], Pass },
        { "ties, shifted up", MetricDirection.Either, [1, 1, 2, 2, 2, 3, 3, 3], [6, 6, 7, 7, 7, 8, 8, 8], High },
        { "ties, overlapping", MetricDirection.Either, [1, 1, 2, 2, 2, 3, 3, 3], [1, 2, 2, 2, 3, 3, 3, 3], Pass },
    };

    [Theory]
    [MemberData(nameof(Directions))]
    public void Direction_decides_which_change_fails(string label, MetricDirection direction, double[] baseline, double[] canary, MetricClassification expected)
    {
        var verdict = CanaryJudge.Classify(Metric(direction), baseline, canary);
        Assert.True(expected == verdict.Classification, $"{label}: {verdict.Reason}");
        Assert.Contains("latency", verdict.Reason);
        Assert.Contains(verdict.Classification.ToString(), verdict.Reason);
        Assert.Contains("rule:", verdict.Reason);
        Assert.False(verdict.Critical);
    }

    [Fact]
    public void Reason_names_estimate_interval_and_band()
    {
        var verdict = CanaryJudge.Classify(Metric(), OneToTen, TwentyOneToThirty);
        Assert.Equal(20, verdict.Estimate!.Value, 3);
        Assert.True(verdict.Lower > 0.25 * 20);
        Assert.Equal(25.5 / 5.5, verdict.EffectSize!.Value, 12);
        Assert.StartsWith("latency: High — estimate 20", verdict.Reason);
        Assert.Contains($"in [{verdict.Lower!.Value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)}, ", verdict.Reason);
        Assert.Contains("lower bound", verdict.Reason);
        Assert.Contains("> band 5", verdict.Reason);
    }

    [Theory]
    // The band is ±tolerance·|estimate| (MannWhitneyClassifier.scala:72-79) and the interval is at NetflixACAJudge's
    // confLevel 0.98 (NetflixACAJudge.scala:146). Canary 6..15 over 1..10: estimate 5; R's 98% interval starts at
    // 1.000007, its 95% interval at 1.999987. Band 1.25 at tolerance 0.25: 1.000007 ≤ 1.25 passes, 1.999987 is High.
    [InlineData(null, 0.25, Pass)]
    [InlineData(0.98, 0.25, Pass)]
    [InlineData(0.95, 0.25, High)]
    [InlineData(0.98, 0.1, High)]
    [InlineData(0.95, 0.5, Pass)]
    public void Tolerance_and_confidence_set_the_no_change_band(double? confidence, double tolerance, MetricClassification expected)
    {
        var metric = Metric() with { Tolerance = tolerance };
        if (confidence is { } level) metric = metric with { Confidence = level };
        var verdict = CanaryJudge.Classify(metric, OneToTen, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        Assert.Equal(5, verdict.Estimate!.Value, 3);
        Assert.Equal(confidence is 0.95 ? 1.999987 : 1.000007, verdict.Lower!.Value, 5);
        Assert.Contains($"at {(confidence ?? 0.98) * 100}%", verdict.Reason);
    }

    [Theory]
    [InlineData(new double[] { 5, 5, 5 }, new double[] { 5, 5 }, "every value equals 5")]
    [InlineData(new double[] { 3, 1, 2 }, new double[] { 1, 2, 3 }, "identical")]
    public void Identical_or_all_tied_samples_pass_with_no_shift(double[] baseline, double[] canary, string rule)
    {
        var verdict = CanaryJudge.Classify(Metric(), baseline, canary);
        Assert.Equal(Pass, verdict.Classification);
        Assert.Equal(0, verdict.Estimate);
        Assert.Equal(1.0, verdict.EffectSize);
        Assert.Contains(rule, verdict.Reason);
    }

    [Fact]
    public void Two_constant_but_different_sides_are_an_exact_shift()
    {
        var verdict = CanaryJudge.Classify(Metric(), [5, 5, 5], [7, 7, 7]);
        Assert.Equal(High, verdict.Classification);
        Assert.Equal((2.0, 2.0, 2.0), (verdict.Estimate!.Value, verdict.Lower!.Value, verdict.Upper!.Value));
    }

    public static TheoryData<string, double[], double[], NanStrategy, bool, bool, MetricClassification, bool> Empty => new()
    {
        // MannWhitneyClassifier.scala:153-163. Under remove: mustHaveData on a non-critical metric → NodataFailMetric
        // (:157); otherwise Nodata, critical when the metric is (:160) — so critical wins over mustHaveData.
        // Under replace an empty side passes (:162).
        // label, baseline, canary, nanStrategy, mustHaveData, critical, expected, critical failure
        { "no baseline", [], [1, 2], NanStrategy.Remove, false, false, NoData, false },
        { "no canary", [1, 2], [], NanStrategy.Remove, false, false, NoData, false },
        { "must have data", [], [], NanStrategy.Remove, true, false, NoDataFailure, false },
        { "critical", [1, 2], [], NanStrategy.Remove, false, true, NoData, true },
        { "critical and must have data", [1, 2], [], NanStrategy.Remove, true, true, NoData, true },
        { "replace, no canary", [1, 2], [], NanStrategy.Replace, false, false, Pass, false },
        { "replace, critical and must have data", [], [1, 2], NanStrategy.Replace, true, true, Pass, false },
    };

    [Theory]
    [MemberData(nameof(Empty))]
    public void Empty_side_depends_on_the_nan_strategy(string label, double[] baseline, double[] canary, NanStrategy nan, bool mustHaveData,
        bool critical, MetricClassification expected, bool criticalFailure)
    {
        var verdict = CanaryJudge.Classify(Metric() with { NanStrategy = nan, MustHaveData = mustHaveData, Critical = critical }, baseline, canary);
        Assert.True(expected == verdict.Classification, $"{label}: {verdict.Reason}");
        Assert.Equal(criticalFailure, verdict.Critical);
        Assert.Null(verdict.Estimate);
        Assert.Contains(nan == NanStrategy.Replace ? "an empty side passes under nanStrategy replace" : "an empty side cannot be compared", verdict.Reason);
    }

    [Theory]
    // Transforms.scala:29-52. Remove: the NaNs go, leaving nothing → NoData. Replace: they become eight 0s, below 1..10
    // → Low (R: estimate −5.5 in [−9, −2]).
    [InlineData(NanStrategy.Remove, new[] { double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN }, NoData, 0)]
    [InlineData(NanStrategy.Replace, new[] { double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN }, Low, 8)]
    // Remove keeps the finite values: 21..30 with NaNs is still High, counted over 10 values.
    [InlineData(NanStrategy.Remove, new[] { 21, double.NaN, 22, 23, 24, 25, 26, 27, 28, 29, 30, double.NaN }, High, 10)]
    // Replace keeps two zeros in the canary: still High (estimate 19 instead of 20), counted over 12 values.
    [InlineData(NanStrategy.Replace, new[] { 21, double.NaN, 22, 23, 24, 25, 26, 27, 28, 29, 30, double.NaN }, High, 12)]
    public void Nan_strategy_cleans_before_classifying(NanStrategy strategy, double[] canary, MetricClassification expected, int canaryCount)
    {
        var verdict = CanaryJudge.Classify(Metric() with { NanStrategy = strategy }, OneToTen, canary);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        Assert.Equal(canaryCount, verdict.CanaryCount);
        Assert.Equal(10, verdict.BaselineCount);
    }

    [Theory]
    // MannWhitneyClassifier.scala:116-130, defaults NetflixACAJudge.scala:119-123 (neutral 1 for meanRatio, 0.5 for cles).
    // canary 21..30 over 1..10: mean ratio 25.5 / 5.5 = 4.64, CLES 1; canary 1..10 over 21..30: ratio 0.216, CLES 0.
    [InlineData(EffectMeasure.MeanRatio, 5.0, null, true, Pass)]
    [InlineData(EffectMeasure.MeanRatio, 4.0, null, true, High)]
    [InlineData(EffectMeasure.MeanRatio, null, 0.1, false, Pass)]
    [InlineData(EffectMeasure.MeanRatio, null, 0.3, false, Low)]
    [InlineData(EffectMeasure.Cles, 0.9, null, true, High)]
    [InlineData(EffectMeasure.Cles, null, 0.1, false, Low)]
    [InlineData(EffectMeasure.Cles, null, null, true, High)]
    public void Effect_size_limits_turn_small_changes_into_passes(EffectMeasure measure, double? allowedIncrease, double? allowedDecrease, bool canaryHigher, MetricClassification expected)
    {
        var metric = Metric() with { EffectMeasure = measure, AllowedIncrease = allowedIncrease, AllowedDecrease = allowedDecrease };
        var verdict = canaryHigher
            ? CanaryJudge.Classify(metric, OneToTen, TwentyOneToThirty)
            : CanaryJudge.Classify(metric, TwentyOneToThirty, OneToTen);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        if (measure == EffectMeasure.Cles) Assert.Equal(canaryHigher ? 1.0 : 0.0, verdict.EffectSize);
        if (expected == Pass) Assert.Contains("allowed", verdict.Reason);
        Assert.Equal(canaryHigher ? 25.5 / 5.5 : 5.5 / 25.5, verdict.MeanRatio!.Value, 12);
    }

    [Theory]
    // EffectSizes.scala:17-19: the mean ratio is NaN when either mean is 0, and a NaN effect skips the effect-size and
    // critical-effect checks (MannWhitneyClassifier.scala:118-120, :182-194). Baseline −2..2 has mean 0; canary 20..24 is
    // High (R: estimate 22 in [18.00005, 25.99995]) however large the allowed increase.
    [InlineData(false, High, false)]
    [InlineData(true, High, true)]
    public void A_mean_of_zero_makes_the_mean_ratio_undefined_and_skips_the_effect_checks(bool critical, MetricClassification expected, bool criticalFailure)
    {
        var metric = Metric() with { AllowedIncrease = 1000, Critical = critical, CriticalIncrease = 1000 };
        var verdict = CanaryJudge.Classify(metric, [-2, -1, 0, 1, 2], [20, 21, 22, 23, 24]);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        Assert.Equal(criticalFailure, verdict.Critical);
        Assert.True(double.IsNaN(verdict.EffectSize!.Value));
        Assert.True(double.IsNaN(verdict.MeanRatio!.Value));
        Assert.Contains("effect-size checks are skipped", verdict.Reason);
        Assert.Equal(22, verdict.Estimate!.Value, 4);
    }

    [Fact]
    public void A_canary_mean_of_zero_is_undefined_too()
    {
        // EffectSizes.scala:19 checks both means: canary −2..2 (mean 0) under baseline 20..24 is Low whatever allowedDecrease says.
        var verdict = CanaryJudge.Classify(Metric() with { AllowedDecrease = 0.0001 }, [20, 21, 22, 23, 24], [-2, -1, 0, 1, 2]);
        Assert.True(Low == verdict.Classification, verdict.Reason);
        Assert.True(double.IsNaN(verdict.EffectSize!.Value));
    }

    [Theory]
    // NetflixACAJudge.scala:78-86, :110-112: outliers are removed per side after NaN handling with the IQR detector
    // (factor default 3, reduced sensitivity). Canary 11..20 plus 1000 over 1..10: the 1000 lies above the fence
    // max(P99 = 902, Q3 + 3·IQR = 33.5) = 902 and goes; the mean ratio falls from (155 + 1000)/11 / 5.5 = 19.09 to
    // 15.5 / 5.5 = 2.82, under an allowed increase of 3, so the change no longer counts.
    [InlineData(OutlierStrategy.Keep, 11, High)]
    [InlineData(OutlierStrategy.Remove, 10, Pass)]
    public void Outlier_removal_runs_before_the_test_and_the_effect_size(OutlierStrategy strategy, int canaryCount, MetricClassification expected)
    {
        double[] canary = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 1000];
        var verdict = CanaryJudge.Classify(Metric() with { OutlierStrategy = strategy, AllowedIncrease = 3 }, OneToTen, canary);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        Assert.Equal(canaryCount, verdict.CanaryCount);
        Assert.Equal(10, verdict.BaselineCount);
        Assert.Equal(canaryCount == 11 ? 1155.0 / 11 / 5.5 : 15.5 / 5.5, verdict.EffectSize!.Value, 9);
    }

    [Fact]
    public void Cles_counts_ties_as_half()
    {
        // pairs canary > baseline: 3 wins of 4 pairs when the tie counts ½: (2>1), (2=2 → ½), (3>1), (3>2) → 3.5/4.
        var verdict = CanaryJudge.Classify(Metric() with { EffectMeasure = EffectMeasure.Cles }, [1, 2], [2, 3]);
        Assert.Equal(0.875, verdict.EffectSize);
    }

    [Theory]
    // MannWhitneyClassifier.scala:182-186: a critical High is a critical failure only when effect ≥ criticalIncrease
    // (default neutral 1, NetflixACAJudge.scala:127); the mean ratio here is 4.64.
    [InlineData(null, true, true)]
    [InlineData(4.0, true, true)]
    [InlineData(10.0, true, false)]
    [InlineData(null, false, false)]
    public void Critical_limits_mark_the_failure_critical(double? criticalIncrease, bool critical, bool expected)
    {
        var verdict = CanaryJudge.Classify(Metric() with { Critical = critical, CriticalIncrease = criticalIncrease }, OneToTen, TwentyOneToThirty);
        Assert.Equal(High, verdict.Classification);
        Assert.Equal(expected, verdict.Critical);
        Assert.Equal(expected, verdict.Reason.Contains("critical:", StringComparison.Ordinal));
    }

    [Fact]
    public void Critical_decrease_limit_applies_to_lows()
    {
        var lenient = CanaryJudge.Classify(Metric() with { Critical = true, CriticalDecrease = 0.1 }, TwentyOneToThirty, OneToTen);
        var strict = CanaryJudge.Classify(Metric() with { Critical = true }, TwentyOneToThirty, OneToTen);
        Assert.Equal((Low, false), (lenient.Classification, lenient.Critical));
        Assert.Equal((Low, true), (strict.Classification, strict.Critical));
    }
}
