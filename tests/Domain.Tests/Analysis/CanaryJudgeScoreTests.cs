using Deploy.Engine.Domain.Analysis;
using static Deploy.Engine.Domain.Analysis.MetricClassification;

namespace Deploy.Engine.Domain.Tests.Analysis;

public class CanaryJudgeScoreTests
{
    private static MetricVerdict V(string name, string? group, MetricClassification label, bool critical = false) =>
        new(name, group, label, critical, 10, 10, null, null, null, null, null, $"{name}: {label}");

    /// <summary>Verdicts written as "group:Label", e.g. "a:Pass b:High", named m0, m1, … in order.</summary>
    private static List<MetricVerdict> Verdicts(string spec) =>
        spec.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((s, i) =>
        {
            var parts = s.Split(':');
            return V("m" + i, parts[0], Enum.Parse<MetricClassification>(parts[1]));
        }).ToList();

    private static JudgeConfig Config(params (string Group, double Weight)[] weights) => new()
    {
        Metrics = [],
        GroupWeights = weights.ToDictionary(w => w.Group, w => w.Weight),
    };

    public static TheoryData<string, string, double, JudgeOutcome> Scores => new()
    {
        // verdicts, explicit weights ("group=weight,…"), score, outcome
        { "a:Pass a:Pass", "", 100, JudgeOutcome.Pass },
        // a = 100 (explicit 50), b = 50 and c = 0 share the other 50 → 50 + 12.5 + 0.
        { "a:Pass b:Pass b:High c:Low", "a=50", 62.5, JudgeOutcome.Fail },
        // no weights: three groups share 100 → 33.33…% each: (100 + 50 + 100) / 3 = 83.33.
        { "a:Pass b:Pass b:High c:Pass", "", 83.33, JudgeOutcome.Marginal },
        // 2 of 3 → 66.666… rounds to 66.67.
        { "a:Pass a:Pass a:High", "", 66.67, JudgeOutcome.Fail },
        // thresholds: 19/20 = 95 passes (≥), 15/20 = 75 is marginal (≥), 14/20 = 70 fails.
        { string.Join(' ', Enumerable.Repeat("a:Pass", 19)) + " a:High", "", 95, JudgeOutcome.Pass },
        { string.Join(' ', Enumerable.Repeat("a:Pass", 15)) + " a:High a:High a:Low a:High a:Low", "", 75, JudgeOutcome.Marginal },
        { string.Join(' ', Enumerable.Repeat("a:Pass", 14)) + " a:High a:High a:Low a:High a:Low a:High", "", 70, JudgeOutcome.Fail },
        // NoData is left out of its group; NoDataFailure counts as a failure.
        { "a:Pass a:Pass a:NoData", "", 100, JudgeOutcome.Pass },
        { "a:Pass a:NoDataFailure", "", 50, JudgeOutcome.Fail },
        // a group with no data drops out and its weight is not handed on (Kayenta): 100 × 50% only.
        { "a:Pass b:NoData", "", 50, JudgeOutcome.Fail },
        // explicit weights on every group, summing below 100: the rest is simply lost.
        { "a:Pass b:Pass", "a=40,b=40", 80, JudgeOutcome.Marginal },
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

    [Fact]
    public void Group_scores_are_reported_for_groups_with_data()
    {
        var result = CanaryJudge.Score(Config(("a", 50)), Verdicts("a:Pass b:Pass b:High c:NoData"));
        Assert.Equal(new Dictionary<string, double> { ["a"] = 100, ["b"] = 50 }, result.GroupScores);
        Assert.Contains("c: no data", result.Reason);
    }

    [Fact]
    public void Critical_failure_forces_zero_and_is_named()
    {
        var verdicts = Verdicts("a:Pass a:Pass a:Pass");
        verdicts.Add(V("errors", "a", High, critical: true));
        var result = CanaryJudge.Score(Config(), verdicts);
        Assert.Equal((JudgeOutcome.Fail, 0.0), (result.Outcome, result.Score));
        Assert.Contains("critical metric failed: errors (High)", result.Reason);
        Assert.Contains("would be 75", result.Reason);
    }

    [Theory]
    // 2 of 3 without data > 0.5 → 0; 1 of 2 is exactly 0.5, not more → scored normally (50: group b drops out).
    [InlineData("a:Pass b:NoData b:NoDataFailure", 0.5, 0, "2 of 3 metrics have no data")]
    [InlineData("a:Pass b:NoData", 0.5, 50, null)]
    [InlineData("a:Pass b:NoData", 0.4, 0, "1 of 2 metrics have no data")]
    public void Too_much_missing_data_forces_zero(string verdicts, double maxShare, double score, string? reason)
    {
        var result = CanaryJudge.Score(Config() with { MaxNoDataShare = maxShare }, Verdicts(verdicts));
        Assert.Equal(score, result.Score);
        if (reason is not null) Assert.Contains(reason, result.Reason);
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
                new JudgeMetric { Name = "latency", Group = "perf", Direction = MetricDirection.Increase },
                new JudgeMetric { Name = "throughput", Group = "perf", Direction = MetricDirection.Decrease },
                new JudgeMetric { Name = "errors", Group = "errors" },
                new JudgeMetric { Name = "absent", Group = "errors" },
            ],
            GroupWeights = new Dictionary<string, double> { ["errors"] = 70 },
        };
        var samples = new Dictionary<string, (IReadOnlyList<double> Baseline, IReadOnlyList<double> Canary)>
        {
            ["latency"] = (low, high),     // High on an Increase metric: fails
            ["throughput"] = (low, high),  // higher throughput on a Decrease metric: passes
            ["errors"] = (low, low),       // identical: passes
        };

        var result = CanaryJudge.Judge(config, samples);

        Assert.Equal([High, Pass, Pass, NoData], result.Metrics.Select(m => m.Classification));
        Assert.Equal(new Dictionary<string, double> { ["perf"] = 50, ["errors"] = 100 }, result.GroupScores);
        Assert.Equal(85, result.Score); // 100 × 70% + 50 × 30%
        Assert.Equal(JudgeOutcome.Marginal, result.Outcome);
    }

    [Fact]
    public void Judge_rejects_an_invalid_config()
    {
        var config = new JudgeConfig
        {
            Metrics = [new JudgeMetric { Name = "a" }, new JudgeMetric { Name = "a", Confidence = 1.5 }],
            GroupWeights = new Dictionary<string, double> { ["x"] = 80, ["y"] = 30 },
            MarginalThreshold = 99,
        };
        var error = Assert.Throws<ArgumentException>(() => CanaryJudge.Judge(config, new Dictionary<string, (IReadOnlyList<double>, IReadOnlyList<double>)>()));
        Assert.Contains("metrics[1].name: 'a' is declared twice", error.Message);
        Assert.Contains("metrics[1].confidence", error.Message);
        Assert.Contains("groupWeights: must not sum to more than 100", error.Message);
        Assert.Contains("marginalThreshold", error.Message);
    }
}
