using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

public class RiskClassifierTests
{
    private static RiskSignals Signals(
        string env = "staging", bool prot = false, double share = 0, bool customer = false, Visibility visibility = Visibility.None,
        SchemaChange schema = SchemaChange.None, bool migration = false, bool first = false, int failures = 0) =>
        new(env, prot, share, customer, visibility, schema, migration, first, failures);

    public static TheoryData<string, RiskSignals, int, RiskLevel> WorkedExamples => new()
    {
        // The examples of RiskClassifier's doc comment.
        { "staging, 20%, nothing declared", Signals(share: 0.2), 1, RiskLevel.Low },
        { "prod, all hosts", Signals("prod", prot: true, share: 1), 5, RiskLevel.Medium },
        { "prod, all hosts, customer-facing", Signals("prod", prot: true, share: 1, customer: true), 7, RiskLevel.High },
        { "prod 5%, everything risky", Signals("prod", true, 0.05, true, Visibility.High, SchemaChange.Breaking, true), 12, RiskLevel.Critical },
        { "staging, first deploy, 5 failures", Signals(share: 1, first: true, failures: 5), 6, RiskLevel.High },
        // Boundaries of the level bands and of each signal.
        { "nothing at all", Signals(), 0, RiskLevel.Low },
        { "just under 10%", Signals(share: 0.099), 0, RiskLevel.Low },
        { "exactly 50%", Signals(share: 0.5), 2, RiskLevel.Low },
        { "compatible schema", Signals(share: 0.5, schema: SchemaChange.Compatible), 3, RiskLevel.Medium },
        { "low visibility, migration", Signals(visibility: Visibility.Low, migration: true, share: 0.5), 5, RiskLevel.Medium },
        { "breaking schema alone", Signals(schema: SchemaChange.Breaking), 3, RiskLevel.Medium },
        { "protected, 3 failures, migration", Signals("prod", prot: true, failures: 3, migration: true, first: true), 9, RiskLevel.Critical },
        { "negative failures are none", Signals(failures: -2), 0, RiskLevel.Low },
    };

    [Theory]
    [MemberData(nameof(WorkedExamples))]
    public void Scores_and_levels(string example, RiskSignals signals, int score, RiskLevel level)
    {
        var assessment = RiskClassifier.Classify(signals);
        Assert.True(score == assessment.Score, $"{example}: score {assessment.Score}, expected {score}");
        Assert.Equal(level, assessment.Level);
        Assert.Equal(score, assessment.Reasons.Sum(r => r.Points));
    }

    [Fact]
    public void Every_point_carries_its_reason()
    {
        var assessment = RiskClassifier.Classify(Signals("prod", true, 1, true, Visibility.High, SchemaChange.Breaking, true, true, 2));
        Assert.Equal(
        [
            "3: environment 'prod' is protected",
            "2: changes 100% of the environment's hosts",
            "2: customer-facing service",
            "2: high visibility to users",
            "3: schema change that is not backward-compatible",
            "2: data migration",
            "1: first deploy to this environment: no previous artifact to roll back to",
            "2: 2 failed or rolled-back rollouts of the service recently",
        ], assessment.Reasons.Select(r => $"{r.Points}: {r.Reason}"));
    }

    [Theory]
    [InlineData(0, RiskLevel.High, RiskLevel.High)]
    [InlineData(2, RiskLevel.Medium, RiskLevel.Medium)]
    [InlineData(12, RiskLevel.High, RiskLevel.Critical)]
    [InlineData(1, RiskLevel.Low, RiskLevel.Low)]
    public void A_class_minimum_raises_the_level_and_says_so(int failures, RiskLevel minimum, RiskLevel expected)
    {
        var signals = failures > 3 ? Signals("prod", true, 1, true, Visibility.High, SchemaChange.Breaking) : Signals(failures: failures);
        var assessment = RiskClassifier.Classify(signals, minimum);
        Assert.Equal(expected, assessment.Level);
        Assert.Equal(RiskClassifier.LevelOf(assessment.Score) < minimum, assessment.Reasons.Any(r => r.Reason.Contains("class's minimum", StringComparison.Ordinal)));
    }
}
