using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Environments;

/// <summary>
/// Between the stored change snapshots (declaration and parameter changes alike) and the one change rule,
/// <see cref="ChangeProposals"/>: the grains ask it, then write and publish what it decided.
/// </summary>
internal static class ChangeProposalExtensions
{
    public static ChangeProposal ToProposal(this IChangeProposalSnapshot change) => new(
        change.Id,
        change.State switch
        {
            DeclarationChangeState.Approved => ProposalState.Approved,
            DeclarationChangeState.Rejected => ProposalState.Rejected,
            _ => ProposalState.Pending,
        },
        change.ProposedBy, change.ProposedAgainst, change.ApprovalsRequired, change.ApprovedBy, change.DecidedBy);

    /// <summary>
    /// A refused decision as the command's answer, nothing written: decided before → invalid transition (409), the
    /// proposer's own → refused by policy (422), onto another version → conflict (409).
    /// </summary>
    public static CommandResult<T> Refusal<T>(this ChangeDecision decision)
        where T : class => CommandResult<T>.Fail(
        decision.Verdict switch
        {
            ChangeVerdict.AlreadyDecided => ErrorKind.InvalidTransition,
            ChangeVerdict.OwnChange => ErrorKind.PolicyRefused,
            _ => ErrorKind.Conflict,
        },
        decision.Reason);

    /// <summary>Decided changes kept for reading back (pending ones are always kept).</summary>
    public const int DecidedChangesKept = 50;

    /// <summary>Keeps every pending change and the last <see cref="DecidedChangesKept"/> decided ones, oldest first.</summary>
    public static void Trim<T>(this List<T> changes)
        where T : IChangeProposalSnapshot
    {
        var decided = changes.Count(c => c.State != DeclarationChangeState.Pending);
        for (var i = 0; i < changes.Count && decided > DecidedChangesKept; i++)
        {
            if (changes[i].State == DeclarationChangeState.Pending) continue;
            changes.RemoveAt(i--);
            decided--;
        }
    }
}
