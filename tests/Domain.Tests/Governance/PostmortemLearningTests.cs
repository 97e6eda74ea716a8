using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

public class PostmortemLearningTests
{
    private static readonly ReviewFactors[] Example =
    [
        new("A", ["config drift", "no-alert"]), new("B", ["Config_Drift"]), new("C", ["config-drift", "no-alert"]), new("D", ["slow-db"]),
    ];

    [Theory]
    [InlineData("config drift", "config-drift")]
    [InlineData("  Config__Drift ", "config-drift")]
    [InlineData("no-alert", "no-alert")]
    [InlineData("Missing - Runbook", "missing-runbook")]
    public void Factors_compare_by_their_canonical_form(string factor, string expected) => Assert.Equal(expected, PostmortemLearning.Normalise(factor));

    [Theory]
    [InlineData("config drift", true)]
    [InlineData("", false)]
    [InlineData("---", false)]
    [InlineData("drift!", false)]
    [InlineData("a/b", false)]
    public void A_factor_is_a_short_label(string factor, bool valid) => Assert.Equal(valid, PostmortemLearning.IsValid(factor));

    [Fact]
    public void The_worked_example_counts_each_factor_once_per_review()
    {
        var counted = PostmortemLearning.Count(Example);

        Assert.Equal(["config-drift:3:A,B,C", "no-alert:2:A,C", "slow-db:1:D"], counted.Select(f => $"{f.Factor}:{f.Count}:{string.Join(",", f.Reviews)}"));
        Assert.Equal(1, PostmortemLearning.Count([new ReviewFactors("X", ["drift", "Drift"])]).Single().Count);
    }

    [Theory]
    // threshold, decisions → proposals (item:decision)
    [InlineData(2, "", "config-drift:Proposed,no-alert:Proposed")]
    [InlineData(3, "", "config-drift:Proposed")]
    [InlineData(2, "config-drift=Adopted", "config-drift:Adopted,no-alert:Proposed")]
    [InlineData(2, "no-alert=Dismissed", "config-drift:Proposed,no-alert:Dismissed")]
    [InlineData(4, "", "")]
    public void Recurring_factors_become_proposals_and_a_decision_stands(int threshold, string decisions, string expected)
    {
        var decided = decisions.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(d => d.Split('=')[0], d => Enum.Parse<ProposalDecision>(d.Split('=')[1]));

        var proposals = PostmortemLearning.Propose(PostmortemLearning.Count(Example), decided, threshold);

        Assert.Equal(expected, string.Join(",", proposals.Select(p => $"{p.Item}:{p.Decision}")));
    }
}
