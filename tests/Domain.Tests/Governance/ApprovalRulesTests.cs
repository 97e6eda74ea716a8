using Deploy.Engine.Domain.Governance;
using Microsoft.Extensions.Time.Testing;

namespace Deploy.Engine.Domain.Tests.Governance;

public class ApprovalRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Expiry = TimeSpan.FromHours(24);

    private static readonly ApprovalRequirement Team = new(1, ["team"], []);
    private static readonly ApprovalRequirement Cab = new(1, ["cab"], []);
    private static readonly ApprovalRequirement Critical = new(2, ["cab", "executive"], ["executive"]);

    private static readonly Dictionary<string, string[]> Groups = new()
    {
        ["alice"] = ["team"],
        ["bob"] = ["cab"],
        ["carol"] = ["cab"],
        ["erin"] = ["executive"],
        ["pat"] = ["team", "cab"],
        ["ci"] = ["cab"],
    };

    /// <summary>"alice+", "bob-", "alice+@30" (30 hours after T0): who, approve or reject, when.</summary>
    private static List<ApprovalVote> Votes(string script) => script.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((v, i) =>
    {
        var at = v.Split('@');
        var hours = at.Length > 1 ? double.Parse(at[1], System.Globalization.CultureInfo.InvariantCulture) : 24 + (i * 0.01);
        var name = at[0][..^1];
        return new ApprovalVote(name, Groups.GetValueOrDefault(name, []), at[0][^1] == '+' ? VoteDecision.Approve : VoteDecision.Reject,
            T0 + TimeSpan.FromHours(hours), at[0][^1] == '-' ? "not tested under load" : null);
    }).ToList();

    public static TheoryData<string, ApprovalRequirement, string, ApprovalState, string> Table => new()
    {
        { "nobody needed", ApprovalRequirement.None, "", ApprovalState.Satisfied, "no approval required at this risk level" },
        { "nothing yet", Team, "", ApprovalState.Pending, "needs 1 more approval from group team" },
        { "one team approver", Team, "alice+", ApprovalState.Satisfied, "approved by alice" },
        { "wrong group does not count", Cab, "alice+", ApprovalState.Pending, "needs 1 more approval from group cab" },
        { "member of several groups", Cab, "pat+", ApprovalState.Satisfied, "approved by pat" },
        { "self-approval does not count", Cab, "ci+", ApprovalState.Pending, "needs 1 more approval from group cab" },
        { "a rejection wins", Team, "alice+ bob-", ApprovalState.Rejected, "rejected by bob: not tested under load" },
        { "the submitter's rejection does not count", Team, "ci- alice+", ApprovalState.Satisfied, "approved by alice" },
        { "latest vote of an approver wins", Cab, "bob- bob+", ApprovalState.Satisfied, "approved by bob" },
        { "critical: two cab, no executive", Critical, "bob+ carol+", ApprovalState.Pending, "needs 1 more approval from group executive (approved so far by bob, carol)" },
        { "critical: executive alone", Critical, "erin+", ApprovalState.Pending, "needs 1 more approval from groups cab or executive (approved so far by erin)" },
        { "critical: nothing", Critical, "", ApprovalState.Pending, "needs 2 more approvals from groups cab or executive, including one from group executive" },
        { "critical: cab and executive", Critical, "bob+ erin+", ApprovalState.Satisfied, "approved by bob, erin" },
        { "critical: one approver twice is one", Critical, "erin+ erin+", ApprovalState.Pending, "needs 1 more approval from groups cab or executive (approved so far by erin)" },
        { "expired approval", Team, "alice+@0", ApprovalState.Pending, "needs 1 more approval from group team" },
        { "fresh approval", Team, "alice+@10", ApprovalState.Satisfied, "approved by alice" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Evaluates(string example, ApprovalRequirement requirement, string votes, ApprovalState state, string summary)
    {
        var clock = new FakeTimeProvider(T0);
        clock.Advance(TimeSpan.FromHours(25));
        var evaluation = ApprovalRules.Evaluate(requirement, Votes(votes), "ci", clock.GetUtcNow(), Expiry);
        Assert.True(state == evaluation.State, $"{example}: {evaluation.State} ({evaluation.Summary})");
        Assert.Equal(summary, evaluation.Summary);
    }

    [Fact]
    public void Ignored_votes_say_why()
    {
        var evaluation = ApprovalRules.Evaluate(Cab, Votes("ci+ alice+@30 bob+@0"), "ci", T0 + TimeSpan.FromHours(31), Expiry);
        Assert.Equal(ApprovalState.Pending, evaluation.State);
        Assert.Equal(
        [
            "ci: the submitter cannot approve their own release",
            "bob: approval expired at 2026-03-02 09:00:00Z",
            "alice: holds group team, not group cab",
        ], evaluation.Ignored);
    }

    [Fact]
    public void An_approval_expires_exactly_after_the_expiry()
    {
        var clock = new FakeTimeProvider(T0);
        var votes = Votes("bob+@0");
        clock.Advance(Expiry);
        Assert.Equal(ApprovalState.Satisfied, ApprovalRules.Evaluate(Cab, votes, "ci", clock.GetUtcNow(), Expiry).State);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ApprovalState.Pending, ApprovalRules.Evaluate(Cab, votes, "ci", clock.GetUtcNow(), Expiry).State);
    }
}
