using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Environments;

/// <summary>
/// Issue 14: "every control holds against the key it constrains". Declaration changes and parameter/secret changes of
/// a governed environment are decided by one rule: an environment set to need two change authorities lets no single
/// authority (with a proposer) change its declaration, its parameters or its secrets.
/// </summary>
public class ChangeProposalsTests
{
    private static ChangeSubject SubjectOf(string name) => name == "parameters" ? ChangeSubject.Parameters : ChangeSubject.Declaration;

    /// <summary>
    /// The class comment's worked example and its neighbours. alice proposes against version 3; "approvals" are kept
    /// before this decision; the actor approves (+) or rejects (-); the stored version is 3 unless a row says otherwise.
    /// </summary>
    [Theory]
    // subject, required (stored, configured), approvals so far, actor, current version → verdict, approvers after, reason
    [InlineData("declaration", 2, 2, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved declaration change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    [InlineData("parameters", 2, 2, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    [InlineData("parameters", 2, 2, "carol", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    [InlineData("parameters", 2, 2, "carol", "+alice", 3, ChangeVerdict.OwnChange, "carol", "'alice' proposed parameter change c-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("parameters", 2, 2, "carol", "+dave", 3, ChangeVerdict.Applied, "carol,dave", "parameter change c-1 proposed by alice, approved by carol, dave")]
    [InlineData("declaration", 2, 2, "carol", "+dave", 3, ChangeVerdict.Applied, "carol,dave", "declaration change c-1 proposed by alice, approved by carol, dave")]
    [InlineData("parameters", 3, 3, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 3 approvals); it applies once 2 more change authorities approve")]
    // One approval where one is required: applied at once (what every environment without the setting keeps).
    [InlineData("parameters", 1, 1, "", "+carol", 3, ChangeVerdict.Applied, "carol", "parameter change c-1 proposed by alice, approved by carol")]
    // The setting raised since the proposal counts; lowered, the proposal keeps its count.
    [InlineData("parameters", 1, 2, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    [InlineData("parameters", 2, 1, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    // A parameter change stored before the count was recorded (0) needs the setting.
    [InlineData("parameters", 0, 2, "", "+carol", 3, ChangeVerdict.Voted, "carol", "carol approved parameter change c-1 (1 of 2 approvals); it applies once 1 more change authority approves")]
    // Any rejection by an authority rejects, whatever approvals were kept; the proposer cannot reject either.
    [InlineData("parameters", 2, 2, "carol", "-dave", 3, ChangeVerdict.Rejected, "carol", "dave rejected parameter change c-1 proposed by alice")]
    [InlineData("declaration", 2, 2, "", "-alice", 3, ChangeVerdict.OwnChange, "", "'alice' proposed declaration change c-1 and cannot reject it: no self-approval (four eyes)")]
    // An approval onto another version is refused (a rejection is not).
    [InlineData("declaration", 2, 2, "carol", "+dave", 4, ChangeVerdict.Stale, "carol", "the declaration of 'prod' is at version 4, not version 3 that change c-1 was proposed against: nothing was applied; propose the change again against the current declaration")]
    [InlineData("parameters", 1, 1, "", "+carol", 4, ChangeVerdict.Stale, "", "the parameters of 'prod' are at version 4, not version 3 that change c-1 was proposed against: nothing was applied; propose the change again against the current parameters")]
    [InlineData("parameters", 1, 1, "", "-carol", 4, ChangeVerdict.Rejected, "", "carol rejected parameter change c-1 proposed by alice")]
    public void A_pending_change_applies_only_at_the_required_count_of_distinct_authorities_other_than_the_proposer(
        string subject, int stored, int configured, string approvals, string act, long current, ChangeVerdict verdict, string approversAfter, string reason)
    {
        var proposal = new ChangeProposal("c-1", ProposalState.Pending, "alice", 3, stored, Split(approvals), DecidedBy: null);

        var decision = ChangeProposals.Decide(SubjectOf(subject), "prod", proposal, act[1..], approve: act[0] == '+', current, configured);

        Assert.Equal(verdict, decision.Verdict);
        Assert.Equal(reason, decision.Reason);
        Assert.Equal(Split(approversAfter), decision.ApprovedBy);
        Assert.Equal(Split(approversAfter).Length, decision.Approvals);
        Assert.Equal(verdict is ChangeVerdict.AlreadyDecided or ChangeVerdict.OwnChange or ChangeVerdict.Stale, decision.Refused);
    }

    [Theory]
    [InlineData(ProposalState.Approved, true, "parameter change c-1 was already approved by carol")]
    [InlineData(ProposalState.Rejected, true, "parameter change c-1 was already rejected by carol")]
    [InlineData(ProposalState.Rejected, false, "parameter change c-1 was already rejected by carol")]
    public void A_decided_change_is_not_decided_again(ProposalState state, bool approve, string reason)
    {
        var proposal = new ChangeProposal("c-1", state, "alice", 3, 1, ["carol"], "carol");

        var decision = ChangeProposals.Decide(ChangeSubject.Parameters, "prod", proposal, "dave", approve, 3, 1);

        Assert.Equal(ChangeVerdict.AlreadyDecided, decision.Verdict);
        Assert.Equal(reason, decision.Reason);
    }

    [Theory]
    // the doc comment's examples: required 2, proposer alice
    [InlineData(2, "", 2)]
    [InlineData(2, "bob", 1)]
    [InlineData(2, "bob,bob", 1)]
    [InlineData(2, "bob,alice", 1)]
    [InlineData(2, "bob,carol", 0)]
    [InlineData(1, "bob", 0)]
    [InlineData(1, "alice", 1)]
    public void Only_distinct_approvers_other_than_the_proposer_count(int required, string approvers, int missing)
    {
        Assert.Equal(missing, ChangeProposals.ApprovalsStillNeeded("alice", Split(approvers), required));
        Assert.Equal(required - missing, ChangeProposals.Counted("alice", Split(approvers)));
    }

    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(2, 1, 2)]
    [InlineData(0, 1, 1)]
    [InlineData(0, 0, 1)]
    public void The_count_is_fixed_when_proposed_and_raised_never_lowered_by_the_setting(int proposedWith, int configured, int required) =>
        Assert.Equal(required, ChangeProposals.Required(proposedWith, configured));

    [Theory]
    [InlineData(1, "(a change authority other than the proposer approves it)")]
    [InlineData(2, "(2 change authorities other than the proposer approve it)")]
    public void The_reason_for_approval_names_how_many_authorities_approve(int required, string words) =>
        Assert.Equal(words, ChangeProposals.WhoApproves(required));

    [Theory]
    [InlineData("declaration", "admin", "admin", Authorisation.Approve, "'admin' proposed declaration change dc-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("declaration", "dana", "dana", Authorisation.Reject, "'dana' proposed declaration change dc-1 and cannot reject it: no self-approval (four eyes)")]
    [InlineData("parameters", "dana", "dana", Authorisation.Approve, "'dana' proposed parameter change dc-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("parameters", "alice", "carol", Authorisation.Approve, null)]
    public void The_proposer_never_decides_their_own_change(string subject, string proposer, string actor, Authorisation act, string? refusal) =>
        Assert.Equal(refusal, ChangeProposals.DecisionRefusal(SubjectOf(subject), proposer, actor, "dc-1", act));

    [Theory]
    [InlineData("declaration", 3, 3, null)]
    [InlineData("declaration", 3, 4, "the declaration of 'prod' is at version 4, not version 3 that change dc-1 was proposed against: nothing was applied; propose the change again against the current declaration")]
    [InlineData("parameters", 3, 4, "the parameters of 'prod' are at version 4, not version 3 that change dc-1 was proposed against: nothing was applied; propose the change again against the current parameters")]
    public void An_approval_applies_only_onto_the_version_the_change_was_proposed_against(string subject, long proposedAgainst, long current, string? refusal) =>
        Assert.Equal(refusal, ChangeProposals.StaleRefusal(SubjectOf(subject), "prod", "dc-1", proposedAgainst, current));

    private static string[] Split(string names) => names.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
