using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Flags;

/// <summary>
/// A flag change in a protected environment is a production change and takes the change process like any other
/// (issue 18): someone proposes it, other people approve it, and only then does it apply. Pure: the flag set grain
/// feeds it the votes and the clock.
/// <list type="number">
/// <item>The approval needed is the policy's authority for a medium-risk change (a flag changes behaviour for some
/// users, with no deploy behind it); when the policy asks nothing for medium risk, the first level that asks
/// something; when no level asks anything, none (the change applies at once, as a release would).</item>
/// <item>The proposer's own vote never counts (four eyes, <see cref="SeparationOfDuties"/>); the rest is
/// <see cref="ApprovalRules"/>: latest vote per approver, any rejection rejects, approvals expire, groups count.</item>
/// <item>Turning a flag off (the kill switch) is never held: stopping a feature must not wait for a meeting. It is
/// audited like every change.</item>
/// </list>
/// Example (default policy, medium = 1 from team): carol (cab, team) proposes; her own approval is ignored; bob
/// (team) approves → satisfied, the change applies.
/// </summary>
public static class FlagChangeRules
{
    public static ApprovalRequirement Requirement(GovernancePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        foreach (var level in new[] { RiskLevel.Medium, RiskLevel.High, RiskLevel.Critical })
        {
            if (policy.ApprovalAuthority.TryGetValue(level, out var requirement) && requirement.Required) return requirement;
        }

        return ApprovalRequirement.None;
    }

    public static ApprovalEvaluation Evaluate(
        ApprovalRequirement requirement, IReadOnlyList<ApprovalVote> votes, string proposer, DateTimeOffset now, TimeSpan expiry) =>
        ApprovalRules.Evaluate(requirement, votes, new ChangeAuthors(proposer, []), now, expiry);
}
