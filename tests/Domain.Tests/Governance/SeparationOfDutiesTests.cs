using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

public class SeparationOfDutiesTests
{
    private static readonly ChangeAuthors Authors = new("ci", ["dana"]);

    [Theory]
    [InlineData("ci", Authorisation.Approve, "'ci' submitted release rel-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("dana", Authorisation.Approve, "'dana' deployed release rel-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("dana", Authorisation.Waive, "'dana' deployed release rel-1 and cannot waive a finding of it: no self-approval (four eyes)")]
    [InlineData("ci", Authorisation.Except, "'ci' submitted release rel-1 and cannot grant a freeze exception for it: no self-approval (four eyes)")]
    [InlineData("ci", Authorisation.SignOff, "'ci' submitted release rel-1 and cannot sign off the readiness of it: no self-approval (four eyes)")]
    [InlineData("carol", Authorisation.Approve, null)]
    [InlineData("CI", Authorisation.Approve, null)]
    public void Nobody_authorises_their_own_change(string actor, Authorisation act, string? refusal) =>
        Assert.Equal(refusal, SeparationOfDuties.Refusal(Authors, actor, "rel-1", act));

    [Theory]
    [InlineData("carol:operations", "carol", "operations", null)]
    [InlineData("carol:operations", "carol", "OPERATIONS", null)]
    [InlineData("carol:operations", "carol", "security", "'carol' already signed off readiness item 'operations' of release rel-1; each item needs a different person")]
    [InlineData("bob:operations", "carol", "security", null)]
    public void One_person_signs_one_readiness_item(string existing, string actor, string item, string? refusal)
    {
        var signOffs = existing.Split(',').Select(s => s.Split(':')).Select(p => new ReadinessSignOff(p[1], p[0], DateTimeOffset.UnixEpoch, null)).ToList();
        Assert.Equal(refusal, SeparationOfDuties.ReadinessRefusal(signOffs, actor, item, "rel-1"));
    }

    [Theory]
    [InlineData("olga:operations olga:security olga:business", "security,business")]
    [InlineData("olga:operations olga:security bob:operations", "business")]
    [InlineData("olga:operations olga:security bob:operations eve:business", "")]
    [InlineData("ci:operations bob:security eve:business", "operations")]
    [InlineData("dana:operations bob:security eve:business", "operations")]
    [InlineData("bob:operations bob:operations eve:business", "security")]
    public void A_readiness_review_needs_a_different_person_per_item_and_none_of_the_authors(string signed, string missing)
    {
        var signOffs = signed.Split(' ').Select(s => s.Split(':')).Select(p => new ReadinessSignOff(p[1], p[0], DateTimeOffset.UnixEpoch, null)).ToList();
        var evaluation = ReadinessChecklist.Evaluate(GovernancePolicy.DefaultReadinessItems, signOffs, Authors);
        Assert.Equal(missing, string.Join(",", evaluation.Missing));
        Assert.Equal(missing.Length == 0, evaluation.Complete);
    }

    [Fact]
    public void A_deployers_vote_is_ignored_whenever_it_was_given()
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        var votes = new List<ApprovalVote>
        {
            new("dana", ["cab"], VoteDecision.Approve, now.AddMinutes(-5), null),
        };
        var evaluation = ApprovalRules.Evaluate(new ApprovalRequirement(1, ["cab"], []), votes, Authors, now, TimeSpan.FromHours(1));
        Assert.Equal(ApprovalState.Pending, evaluation.State);
        Assert.Equal("dana: deployed the release (created its rollout) and cannot approve it", Assert.Single(evaluation.Ignored));
    }
}
