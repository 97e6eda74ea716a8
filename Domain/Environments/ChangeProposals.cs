using System.Globalization;
using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Environments;

/// <summary>Where a proposed change stands: pending until an authority rejects it or enough approve it.</summary>
public enum ProposalState
{
    Pending = 0,
    Approved = 1,
    Rejected = 2,
}

/// <summary>What the rule did with one decision. The first three refuse it and change nothing.</summary>
public enum ChangeVerdict
{
    /// <summary>The change was approved or rejected before: nothing changes.</summary>
    AlreadyDecided,

    /// <summary>The proposer tried to decide their own change (four eyes).</summary>
    OwnChange,

    /// <summary>An approval of a change proposed against a version that is no longer current.</summary>
    Stale,

    /// <summary>An approval kept, below the count required: nothing applies yet.</summary>
    Voted,

    /// <summary>The approval that reached the count: the change applies now.</summary>
    Applied,

    /// <summary>An authority rejected the change: it never applies.</summary>
    Rejected,
}

/// <summary>
/// What a proposal changes, as the rule's sentences name it: the change ("declaration change"), the thing it replaces
/// ("declaration") and that thing's verb ("is").
/// </summary>
public sealed record ChangeSubject(string Change, string Target, string Verb)
{
    public static readonly ChangeSubject Declaration = new("declaration change", "declaration", "is");

    public static readonly ChangeSubject Parameters = new("parameter change", "parameters", "are");
}

/// <summary>
/// A proposal as the rule sees it. <paramref name="ApprovalsRequired"/> is the count fixed when it was proposed (0: a
/// proposal stored before the count was recorded); <paramref name="ApprovedBy"/> the approvals kept so far, in order.
/// </summary>
public sealed record ChangeProposal(
    string Id, ProposalState State, string ProposedBy, long ProposedAgainst, int ApprovalsRequired, IReadOnlyList<string> ApprovedBy, string? DecidedBy);

/// <summary>
/// A decision on a proposal: the verdict, the reason a person reads (the refusal, or what happened), the approvers after
/// it, how many of them count (distinct, never the proposer) and the count it needed.
/// </summary>
public sealed record ChangeDecision(ChangeVerdict Verdict, string Reason, IReadOnlyList<string> ApprovedBy, int Approvals, int Required)
{
    /// <summary>Whether the decision was refused (nothing is written).</summary>
    public bool Refused => Verdict is ChangeVerdict.AlreadyDecided or ChangeVerdict.OwnChange or ChangeVerdict.Stale;
}

/// <summary>
/// The one change-proposal rule of production-tier and protected environments (issue 14), for their declarations and
/// for their parameters and secrets alike: a change is proposed, and applies only once the required number of distinct
/// change authorities other than the proposer approve it, onto the very version it was proposed against.
/// <list type="number">
/// <item>A change already approved or rejected is not decided again.</item>
/// <item>The proposer never decides their own change (approve or reject), whatever roles their key holds.</item>
/// <item>An approval of a change proposed against an older version is refused: it could never apply.</item>
/// <item>Any rejection by an authority rejects the change.</item>
/// <item>An approval is kept; the same approver twice counts once. The change applies with the approval that brings the
/// distinct approvers other than the proposer to the count required.</item>
/// </list>
/// The count is <c>Governance:EnvironmentChangeApprovals:{env}</c>, else <c>Governance:DeclarationChangeApprovals</c>
/// (default 1), fixed when the change is proposed and raised, never lowered, by a later setting.
/// Example (required 2, alice proposes against version 3, the current version): carol approves → voted (1 of 2);
/// carol again → voted (1 of 2); alice approves → refused (her own); dave approves → applied, approved by carol, dave.
/// </summary>
public static class ChangeProposals
{
    /// <summary>The most approvals a change may be set to need: more than a handful is a process nobody can meet.</summary>
    public const int MaxApprovals = 10;

    /// <summary>
    /// Who must approve, as the reason for approval ends. Examples: 1 → "(a change authority other than the proposer
    /// approves it)"; 2 → "(2 change authorities other than the proposer approve it)".
    /// </summary>
    public static string WhoApproves(int required) => required <= 1
        ? "(a change authority other than the proposer approves it)"
        : $"({required.ToString(CultureInfo.InvariantCulture)} change authorities other than the proposer approve it)";

    /// <summary>
    /// The count a pending change needs: the one fixed when it was proposed, or the setting now if that was raised since
    /// (a change stored before the count was recorded reads as 0 and needs the setting). Examples: (1, 2) → 2; (2, 1) → 2;
    /// (0, 1) → 1.
    /// </summary>
    public static int Required(int proposedWith, int configured) => Math.Max(1, Math.Max(proposedWith, configured));

    /// <summary>
    /// How many more approvals a change needs: <paramref name="required"/> less the distinct approvers other than the
    /// proposer (the proposer's own vote never counts; the same approver twice counts once), never below 0.
    /// Examples (required 2, proposer alice): [] → 2; [bob] → 1; [bob, bob] → 1; [bob, alice] → 1; [bob, carol] → 0.
    /// </summary>
    public static int ApprovalsStillNeeded(string proposer, IReadOnlyCollection<string> approvers, int required)
    {
        ArgumentNullException.ThrowIfNull(approvers);
        return Math.Max(0, required - Counted(proposer, approvers));
    }

    /// <summary>The approvals that count: distinct approvers other than the proposer. Example (alice): [bob, bob, alice, carol] → 2.</summary>
    public static int Counted(string proposer, IEnumerable<string> approvers) =>
        approvers.Where(a => !string.Equals(a, proposer, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).Count();

    /// <summary>
    /// Four eyes: the proposer never decides their own change, whatever roles their key holds; reuses
    /// <see cref="SeparationOfDuties"/>'s wording. Null when <paramref name="actor"/> may decide.
    /// Example: alice's declaration change dc-1, alice approves → "'alice' proposed declaration change dc-1 and cannot
    /// approve it: no self-approval (four eyes)".
    /// </summary>
    public static string? DecisionRefusal(ChangeSubject subject, string proposer, string actor, string changeId, Authorisation act)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return SeparationOfDuties.Refusal(new ChangeAuthors(proposer, []), actor, changeId, act)
            ?.Replace("submitted release", "proposed " + subject.Change, StringComparison.Ordinal);
    }

    /// <summary>
    /// An approval applies the change only onto the version it was proposed against; null when <paramref name="current"/>
    /// is still <paramref name="proposedAgainst"/> (0: proposed before anything was stored). Example: the declaration of
    /// 'prod', proposed against 3, now 4 → "the declaration of 'prod' is at version 4, not version 3 that change dc-1 was
    /// proposed against: nothing was applied; propose the change again against the current declaration".
    /// </summary>
    public static string? StaleRefusal(ChangeSubject subject, string environment, string changeId, long proposedAgainst, long current)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return proposedAgainst == current
            ? null
            : $"the {subject.Target} of '{environment}' {subject.Verb} at version {current.ToString(CultureInfo.InvariantCulture)}, not version " +
              $"{proposedAgainst.ToString(CultureInfo.InvariantCulture)} that change {changeId} was proposed against: nothing was applied; " +
              $"propose the change again against the current {subject.Target}";
    }

    /// <summary>
    /// Decides <paramref name="actor"/>'s approval (or rejection) of <paramref name="proposal"/>, the steps of the class
    /// comment in order; <paramref name="current"/> is the version stored now, <paramref name="configured"/> the count the
    /// setting asks now. Pure: the caller writes what it says (the approvers and count; on
    /// <see cref="ChangeVerdict.Applied"/> the change) and publishes it.
    /// </summary>
    public static ChangeDecision Decide(
        ChangeSubject subject, string environment, ChangeProposal proposal, string actor, bool approve, long current, int configured)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(proposal);
        var id = proposal.Id;
        var required = Required(proposal.ApprovalsRequired, configured);
        ChangeDecision Keep(ChangeVerdict verdict, string reason) =>
            new(verdict, reason, proposal.ApprovedBy, Counted(proposal.ProposedBy, proposal.ApprovedBy), required);

        if (proposal.State != ProposalState.Pending)
        {
            return Keep(ChangeVerdict.AlreadyDecided,
                $"{subject.Change} {id} was already {proposal.State.ToString().ToLowerInvariant()} by {proposal.DecidedBy}");
        }

        if (DecisionRefusal(subject, proposal.ProposedBy, actor, id, approve ? Authorisation.Approve : Authorisation.Reject) is { } own)
        {
            return Keep(ChangeVerdict.OwnChange, own);
        }

        if (approve && StaleRefusal(subject, environment, id, proposal.ProposedAgainst, current) is { } stale)
        {
            return Keep(ChangeVerdict.Stale, stale);
        }

        if (!approve)
        {
            return Keep(ChangeVerdict.Rejected, $"{actor} rejected {subject.Change} {id} proposed by {proposal.ProposedBy}");
        }

        var approvers = proposal.ApprovedBy.Append(actor).Distinct(StringComparer.Ordinal).ToList();
        var counted = Counted(proposal.ProposedBy, approvers);
        var missing = Math.Max(0, required - counted);
        if (missing > 0)
        {
            var tally = $"{counted.ToString(CultureInfo.InvariantCulture)} of {required.ToString(CultureInfo.InvariantCulture)}";
            return new(ChangeVerdict.Voted,
                $"{actor} approved {subject.Change} {id} ({tally} approvals); it applies once {missing.ToString(CultureInfo.InvariantCulture)} " +
                $"more change authorit{(missing == 1 ? "y approves" : "ies approve")}",
                approvers, counted, required);
        }

        return new(ChangeVerdict.Applied, $"{subject.Change} {id} proposed by {proposal.ProposedBy}, approved by {string.Join(", ", approvers)}",
            approvers, counted, required);
    }
}
