using Deploy.Engine.Domain.Analysis;
using static Deploy.Engine.Domain.Analysis.MetricClassification;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>
/// The scoring stage against Kayenta a69573be, kayenta-judge/src/main/scala/com/netflix/kayenta/judge/scorers/
/// (WeightedSumScorer.scala, ScoringHelper.scala) and classifiers/score/ThresholdScoreClassifier.scala. Each row is
/// worked by hand in its comment.
/// </summary>
public class CanaryJudgeScoreTests
{
    private static MetricVerdict V(string name, IReadOnlyList<string> groups, MetricClassification label, bool critical = false, bool muted = false) =>
        new(name, groups, label, critical, 10, 10, null, null, null, null, null, $"{name}: {label}") { Muted = muted };

    /// <summary>
    /// Verdicts written as "groups:Label[!][~]", e.g. "a:Pass a,b:High c:NoData!" — groups comma-separated, ! = critical,
    /// ~ = muted — named m0, m1, … in order.
    /// </summary>
    private static List<MetricVerdict> Verdicts(string spec) =>
        spec.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((s, i) =>
        {
            var parts = s.Split(':');
            var label = parts[1].TrimEnd('!', '~');
            return V("m" + i, parts[0].Split(','), Enum.Parse<MetricClassification>(label), parts[1].Contains('!'), parts[1].Contains('~'));
        }).ToList();

    private static JudgeConfig Config(params (string Group, double Weight)[] weights) => new()
    {
        Metrics = [],
        GroupWeights = weights.ToDictionary(w => w.Group, w => w.Weight),
    };

    private static readonly string Nineteen = string.Join(' ', Enumerable.Repeat("a:Pass", 19));

    public static TheoryData<string, string, double, JudgeOutcome> Scores => new()
    {
        // verdicts, explicit weights ("group=weight,…"), score, outcome
        { "a:Pass a:Pass", "", 100, JudgeOutcome.Pass },
        // :56-66 weights: a = 100 (explicit 50), b = 50 and c = 0 share the other 50 → 50 + 12.5 + 0.
        { "a:Pass b:Pass b:High c:Low", "a=50", 62.5, JudgeOutcome.Fail },
        // no weights: three groups share 100 → 33.33…% each: (100 + 50 + 100) / 3 = 83.333… → 83.33.
        { "a:Pass b:Pass b:High c:Pass", "", 83.33, JudgeOutcome.Marginal },
        // :29-43 group score = Pass / (Pass + High + Low + NodataFailMetric): 2 of 3 → 66.666… → 66.67.
        { "a:Pass a:Pass a:High", "", 66.67, JudgeOutcome.Fail },
        // ThresholdScoreClassifier.scala:26-31, both ≥: 19/20 = 95 passes, 15/20 = 75 is marginal, 14/20 = 70 fails.
        { Nineteen + " a:High", "", 95, JudgeOutcome.Pass },
        { string.Join(' ', Enumerable.Repeat("a:Pass", 15)) + " a:High a:High a:Low a:High a:Low", "", 75, JudgeOutcome.Marginal },
        { string.Join(' ', Enumerable.Repeat("a:Pass", 14)) + " a:High a:High a:Low a:High a:Low a:High", "", 70, JudgeOutcome.Fail },
        // NoData is left out of its group's count; NodataFailMetric counts as a failure (:36-37).
        { "a:Pass a:Pass a:NoData", "", 100, JudgeOutcome.Pass },
        { "a:Pass a:NoDataFailure", "", 50, JudgeOutcome.Fail },
        // :39-40, :71: a group with nothing to score counts as 100 in the summary. a = 100 × 50% + b (no data) 100 × 50%;
        // 1 NoData of 4 metrics is under the 50 % limit.
        { "a:Pass a:Pass a:Pass b:NoData", "", 100, JudgeOutcome.Pass },
        // a = 100 × 50, b = 50 × 25, c (no data) = 100 × 25 → 50 + 12.5 + 25 = 87.5.
        { "a:Pass b:Pass b:High c:NoData", "a=50", 87.5, JudgeOutcome.Marginal },
        // explicit weights on every group, summing below 100: the rest is simply lost (:64-66).
        { "a:Pass b:Pass", "a=40,b=40", 80, JudgeOutcome.Marginal },
        // :47-49 a metric counts in every group it names: m0 (High) is in a and b. a = 1/2 = 50, b = 0/1 = 0, c = 100,
        // each a third: (50 + 0 + 100) / 3 = 50.
        { "a,b:High a:Pass c:Pass", "", 50, JudgeOutcome.Fail },
        // :77 Precision.round(x, 2) rounds the printed decimal half up: 100 × 1.005% = 1.005 → 1.01 (Math.Round on the
        // double, 1.00499999999999989…, would give 1.00).
        { "a:Pass b:High", "a=1.005,b=98.995", 1.01, JudgeOutcome.Fail },
        // ScoringHelper.scala:38: muted metrics are dropped before scoring; m1's High does not count.
        { "a:Pass a:High~", "", 100, JudgeOutcome.Pass },
        // a muted critical failure is not a critical failure either.
        { "a:Pass a:High!~ b:Pass", "", 100, JudgeOutcome.Pass },
    };

    [Theory]
    [MemberData(nameof(Scores))]
    public void Weighted_sum_of_group_scores(string verdicts, string weights, double score, JudgeOutcome outcome)
    {
        var pairs = weights.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Split('=')).Select(w => (w[0], double.Parse(w[1], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var result = CanaryJudge.Score(Config(pairs), Verdicts(verdicts));
        Assert.Equal(score, result.Score);
        Assert.Equal(outcome, result.Outcome);
        Assert.StartsWith(outcome.ToString(), result.Reason);
        Assert.Contains("rule:", result.Reason);
    }

    [Theory]
    // commons-math Precision.round(x, 2) (WeightedSumScorer.scala:77) = BigDecimal(Double.toString(x)) half up.
    [InlineData(1.005, 1.01)]
    [InlineData(2.675, 2.68)]
    [InlineData(62.345, 62.35)]
    [InlineData(83.33333333333333, 83.33)]
    [InlineData(66.66666666666667, 66.67)]
    [InlineData(0.125, 0.13)]
    [InlineData(99.994999, 99.99)]
    public void Rounding_is_half_up_on_the_printed_decimal(double value, double rounded) =>
        Assert.Equal(rounded, CanaryJudge.Round2(value));

    [Fact]
    public void Group_scores_are_reported_for_groups_with_data_and_a_group_without_counts_as_100()
    {
        var result = CanaryJudge.Score(Config(("a", 50)), Verdicts("a:Pass b:Pass b:High c:NoData"));
        Assert.Equal(new Dictionary<string, double> { ["a"] = 100, ["b"] = 50 }, result.GroupScores);
        Assert.Contains("c: no data, counts as 100 × 25%", result.Reason);
    }

    [Fact]
    public void Critical_failure_forces_zero_and_is_named()
    {
        // WeightedSumScorer.scala:80-82, :93-96: any critical metric that is not a Pass zeroes the score.
        var verdicts = Verdicts("a:Pass a:Pass a:Pass");
        verdicts.Add(V("errors", ["a"], High, critical: true));
        var result = CanaryJudge.Score(Config(), verdicts);
        Assert.Equal((JudgeOutcome.Fail, 0.0), (result.Outcome, result.Score));
        Assert.Contains("critical metric failed: errors (High)", result.Reason);
        Assert.Contains("would be 75", result.Reason);
    }

    [Theory]
    // WeightedSumScorer.scala:84-88: NoData (only NoData, not NodataFailMetric) on 50 % or more (≥) of the scored
    // metrics zeroes the score.
    // 2 of 4 is exactly 50 % → 0.
    [InlineData("a:Pass a:Pass b:NoData b:NoData", 0, "2 of 4 scored metrics have no data, 50% or more")]
    // 1 of 3 → scored: a = 100, b (no data) counts 100 → 100.
    [InlineData("a:Pass a:Pass b:NoData", 100, null)]
    // NoDataFailure is not counted as NoData here: 0 of 3 → scored, 1 of 3 pass → 33.33.
    [InlineData("a:Pass a:NoDataFailure a:NoDataFailure", 33.33, null)]
    // muted metrics are not in the denominator (ScoringHelper.scala:38): 1 NoData of 2 scored = 50 % → 0.
    [InlineData("a:Pass b:NoData a:Pass~ a:Pass~", 0, "1 of 2 scored metrics have no data")]
    public void Too_much_missing_data_forces_zero(string verdicts, double score, string? reason)
    {
        var result = CanaryJudge.Score(Config(), Verdicts(verdicts));
        Assert.Equal(score, result.Score);
        if (reason is not null) Assert.Contains(reason, result.Reason);
    }

    [Fact]
    public void Nothing_left_to_score_is_a_score_of_zero()
    {
        // Every metric muted: Kayenta's scorer sees no result, no group, and a summary of 0 (the NoData share is 0/0, not ≥ 50).
        var result = CanaryJudge.Score(Config(), Verdicts("a:High~ b:Pass~"));
        Assert.Equal((JudgeOutcome.Fail, 0.0), (result.Outcome, result.Score));
        Assert.Contains("no metric is scored", result.Reason);
        Assert.Contains("2 muted metrics not scored", result.Reason);
    }

    [Fact]
    public void Custom_thresholds()
    {
        var result = CanaryJudge.Score(Config() with { PassThreshold = 60, MarginalThreshold = 40 }, Verdicts("a:Pass a:Pass a:High"));
        Assert.Equal((JudgeOutcome.Pass, 66.67), (result.Outcome, result.Score));
    }

    [Fact]
    public void Judge_runs_every_stage_from_samples()
    {
        double[] low = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] high = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];
        var config = new JudgeConfig
        {
            Metrics =
            [
                new JudgeMetric { Name = "latency", Groups = ["perf"], Direction = MetricDirection.Increase },
                new JudgeMetric { Name = "throughput", Groups = ["perf"], Direction = MetricDirection.Decrease },
                new JudgeMetric { Name = "errors", Groups = ["errors"] },
                new JudgeMetric { Name = "absent", Groups = ["errors"] },
                new JudgeMetric { Name = "cpu", Groups = ["perf", "errors"], Muted = true },
            ],
            GroupWeights = new Dictionary<string, double> { ["errors"] = 70 },
        };
        var samples = new Dictionary<string, (IReadOnlyList<double> Baseline, IReadOnlyList<double> Canary)>
        {
            ["latency"] = (low, high),     // High on an Increase metric: fails
            ["throughput"] = (low, high),  // higher throughput on a Decrease metric: passes
            ["errors"] = (low, low),       // identical: passes
            ["cpu"] = (low, high),         // High, but muted: shown, not scored
        };

        var result = CanaryJudge.Judge(config, samples);

        Assert.Equal([High, Pass, Pass, NoData, High], result.Metrics.Select(m => m.Classification));
        Assert.True(result.Metrics[4].Muted);
        Assert.Equal(new Dictionary<string, double> { ["perf"] = 50, ["errors"] = 100 }, result.GroupScores);
        Assert.Equal(85, result.Score); // 100 × 70% + 50 × 30%
        Assert.Equal(JudgeOutcome.Marginal, result.Outcome);
    }

    [Fact]
    public void Judge_rejects_an_invalid_config()
    {
        var config = new JudgeConfig
        {
            Metrics = [new JudgeMetric { Name = "a" }, new JudgeMetric { Name = "a", Confidence = 1.5, OutlierFactor = 0, Groups = ["x", "x"] }],
            GroupWeights = new Dictionary<string, double> { ["x"] = 80, ["y"] = 30 },
            MarginalThreshold = 99,
        };
        var error = Assert.Throws<ArgumentException>(() => CanaryJudge.Judge(config, new Dictionary<string, (IReadOnlyList<double>, IReadOnlyList<double>)>()));
        Assert.Contains("metrics[1].name: 'a' is declared twice", error.Message);
        Assert.Contains("metrics[1].confidence", error.Message);
        Assert.Contains("metrics[1].outlierFactor", error.Message);
        Assert.Contains("metrics[1].groups: names a group twice", error.Message);
        Assert.Contains("groupWeights: must not sum to more than 100", error.Message);
        Assert.Contains("marginalThreshold", error.Message);
    }
}
