namespace Deploy.Engine.Domain.Governance;

/// <summary>Whether an approval waits for one key, and why (or why not) in words a person reads.</summary>
public sealed record ApprovalWait(bool Waits, string Reason);

/// <summary>
/// An approver's inbox: of the releases waiting for an approval in an environment, those this key's vote would move.
/// <list type="number">
/// <item>Four eyes first: a key that submitted the release or created one of its rollouts never approves it
/// (<see cref="SeparationOfDuties"/>).</item>
/// <item>Only a pending approval waits: one already satisfied or rejected waits for nobody.</item>
/// <item>A key whose approval already counts has done its part.</item>
/// <item>The key must hold a group whose vote still helps: while the missing approvals are all owed by
/// <see cref="ApprovalRequirement.MustInclude"/> groups, only those; otherwise any group of the requirement.</item>
/// </list>
/// Example: critical = 2 from cab or executive including one executive. Before any vote, erin (executive) and carol
/// (cab) are both waited for; once bob (cab) approved, only erin is ("needs 1 more approval from group executive"):
/// carol's vote would not move it.
/// </summary>
public static class ApprovalInbox
{
    public static ApprovalWait For(
        string actor,
        IReadOnlyList<string> actorGroups,
        ApprovalRequirement requirement,
        IReadOnlyList<ApprovalVote> votes,
        ChangeAuthors authors,
        string releaseId,
        DateTimeOffset now,
        TimeSpan expiry)
    {
        ArgumentNullException.ThrowIfNull(actorGroups);
        ArgumentNullException.ThrowIfNull(requirement);
        ArgumentNullException.ThrowIfNull(votes);
        if (SeparationOfDuties.Refusal(authors, actor, releaseId, Authorisation.Approve) is { } refusal)
        {
            return new ApprovalWait(false, refusal);
        }

        if (!requirement.Required)
        {
            return new ApprovalWait(false, "no approval is required");
        }

        var evaluation = ApprovalRules.Evaluate(requirement, votes, authors, now, expiry);
        if (evaluation.State != ApprovalState.Pending)
        {
            return new ApprovalWait(false, evaluation.Summary);
        }

        if (evaluation.Counted.Contains(actor, StringComparer.Ordinal))
        {
            return new ApprovalWait(false, $"'{actor}' already approved; it {evaluation.Missing}");
        }

        // The groups of the approvals that count, as the evaluation saw them (each approver's latest vote).
        var countedGroups = votes
            .Where(v => evaluation.Counted.Contains(v.Approver, StringComparer.Ordinal))
            .SelectMany(v => v.Groups)
            .ToHashSet(StringComparer.Ordinal);
        var mustMissing = requirement.MustInclude.Where(g => !countedGroups.Contains(g)).ToList();
        var more = Math.Max(requirement.Count - evaluation.Counted.Count, mustMissing.Count);
        var useful = mustMissing.Count >= more
            ? mustMissing
            : requirement.Groups.Concat(requirement.MustInclude).Distinct(StringComparer.Ordinal).ToList();
        if (!actorGroups.Any(g => useful.Contains(g, StringComparer.Ordinal)))
        {
            return new ApprovalWait(false, actorGroups.Count == 0
                ? $"'{actor}' holds no approver group; it {evaluation.Missing}"
                : $"'{actor}' holds {ApprovalRequirement.GroupWords(actorGroups)}; it {evaluation.Missing}");
        }

        return new ApprovalWait(true, $"it {evaluation.Missing}; an approval from '{actor}' counts");
    }
}
