using Deploy.Engine.Domain.Analysis;
using static Deploy.Engine.Domain.Analysis.MetricClassification;

namespace Deploy.Engine.Domain.Tests.Analysis;

public class CanaryJudgeClassifyTests
{
    private static readonly double[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    private static readonly double[] TwentyOneToThirty = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];

    private static JudgeMetric Metric(MetricDirection direction = MetricDirection.Either) =>
        new() { Name = "latency", Group = "perf", Direction = direction };

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
    // The tolerance band is ±tolerance·|estimate| (Kayenta calculateBounds): canary 6..15 over 1..10 has estimate 5
    // and a lower bound of about 2; a 25% band (1.25) calls it High, a 50% band (2.5) does not.
    [InlineData(0.25, High)]
    [InlineData(0.5, Pass)]
    public void Tolerance_widens_the_no_change_band(double tolerance, MetricClassification expected)
    {
        var verdict = CanaryJudge.Classify(Metric() with { Tolerance = tolerance }, OneToTen, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        Assert.True(expected == verdict.Classification, verdict.Reason);
        Assert.Equal(5, verdict.Estimate!.Value, 3);
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

    public static TheoryData<double[], double[], bool, bool, MetricClassification, bool> Empty => new()
    {
        // baseline, canary, mustHaveData, critical, expected, critical failure
        { [], [1, 2], false, false, NoData, false },
        { [1, 2], [], false, false, NoData, false },
        { [], [], true, false, NoDataFailure, false },
        { [1, 2], [], false, true, NoData, true },
        { [1, 2], [], true, true, NoDataFailure, true },
    };

    [Theory]
    [MemberData(nameof(Empty))]
    public void Empty_side_is_no_data(double[] baseline, double[] canary, bool mustHaveData, bool critical, MetricClassification expected, bool criticalFailure)
    {
        var verdict = CanaryJudge.Classify(Metric() with { MustHaveData = mustHaveData, Critical = critical }, baseline, canary);
        Assert.Equal(expected, verdict.Classification);
        Assert.Equal(criticalFailure, verdict.Critical);
        Assert.Null(verdict.Estimate);
        Assert.Contains("an empty side cannot be compared", verdict.Reason);
    }

    [Theory]
    // Remove: the NaNs go, leaving nothing → NoData. Replace: they become eight 0s, below 1..10 → Low.
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
    }

    [Fact]
    public void Cles_counts_ties_as_half()
    {
        // pairs canary > baseline: 3 wins of 4 pairs when the tie counts ½: (2>1), (2=2 → ½), (3>1), (3>2) → 3.5/4.
        var verdict = CanaryJudge.Classify(Metric() with { EffectMeasure = EffectMeasure.Cles }, [1, 2], [2, 3]);
        Assert.Equal(0.875, verdict.EffectSize);
    }

    [Theory]
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
