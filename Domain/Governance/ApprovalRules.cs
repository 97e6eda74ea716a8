namespace Deploy.Engine.Domain.Governance;

public enum VoteDecision
{
    Approve,
    Reject,
}

/// <summary>One approver's decision about a release in one environment, with the groups they hold now.</summary>
public sealed record ApprovalVote(string Approver, IReadOnlyList<string> Groups, VoteDecision Decision, DateTimeOffset At, string? Reason);

public enum ApprovalState
{
    Satisfied,
    Pending,
    Rejected,
}

/// <summary>
/// The outcome: <paramref name="Missing"/> says what is still needed ("needs 1 more approval from group cab");
/// <paramref name="Counted"/> lists who counted; <paramref name="Ignored"/> says whose votes did not count and why.
/// </summary>
public sealed record ApprovalEvaluation(
    ApprovalState State,
    string Summary,
    string? Missing,
    IReadOnlyList<string> Counted,
    IReadOnlyList<string> Ignored,
    string? RejectedBy = null,
    string? RejectionReason = null);

/// <summary>
/// Decides whether the approvals given satisfy an <see cref="ApprovalRequirement"/>.
/// <list type="number">
/// <item>Only each approver's latest vote counts (an approver may change their mind).</item>
/// <item>The submitter's own vote never counts (no self-approval), nor the vote of a key that deployed the release
/// (created one of its rollouts): <see cref="SeparationOfDuties"/>.</item>
/// <item>A rejection from anyone else rejects, with their reason, whatever else was given.</item>
/// <item>An approval older than <c>expiry</c> at <c>now</c> no longer counts.</item>
/// <item>An approval counts when the approver holds one of the required groups; distinct approvers are counted,
/// and each group of <see cref="ApprovalRequirement.MustInclude"/> needs at least one of them.</item>
/// </list>
/// Example: critical = 2 from cab or executive including one executive; approvals from alice (cab) and bob (cab)
/// → pending, "needs 1 more approval from group executive"; add carol (executive) → satisfied.
/// </summary>
public static class ApprovalRules
{
    public static ApprovalEvaluation Evaluate(
        ApprovalRequirement requirement, IReadOnlyList<ApprovalVote> votes, string submitter, DateTimeOffset now, TimeSpan expiry) =>
        Evaluate(requirement, votes, new ChangeAuthors(submitter, []), now, expiry);

    public static ApprovalEvaluation Evaluate(
        ApprovalRequirement requirement, IReadOnlyList<ApprovalVote> votes, ChangeAuthors authors, DateTimeOffset now, TimeSpan expiry)
    {
        ArgumentNullException.ThrowIfNull(authors);
        ArgumentNullException.ThrowIfNull(requirement);
        ArgumentNullException.ThrowIfNull(votes);
        var ignored = new List<string>();
        var latest = new Dictionary<string, ApprovalVote>(StringComparer.Ordinal);
        foreach (var vote in votes.OrderBy(v => v.At))
        {
            if (authors.RoleOf(vote.Approver) is { } role)
            {
                ignored.Add(role == "submitted"
                    ? $"{vote.Approver}: the submitter cannot approve their own release"
                    : $"{vote.Approver}: deployed the release (created its rollout) and cannot approve it");
                continue;
            }

            latest[vote.Approver] = vote;
        }

        if (latest.Values.Where(v => v.Decision == VoteDecision.Reject).OrderByDescending(v => v.At).FirstOrDefault() is { } rejection)
        {
            var why = string.IsNullOrWhiteSpace(rejection.Reason) ? "no reason given" : rejection.Reason;
            return new ApprovalEvaluation(ApprovalState.Rejected, $"rejected by {rejection.Approver}: {why}", null, [], ignored,
                rejection.Approver, rejection.Reason);
        }

        var counted = new List<ApprovalVote>();
        foreach (var vote in latest.Values.OrderBy(v => v.At))
        {
            if (now - vote.At > expiry)
            {
                ignored.Add($"{vote.Approver}: approval expired at {(vote.At + expiry).ToString("u", System.Globalization.CultureInfo.InvariantCulture)}");
            }
            else if (!vote.Groups.Any(g => requirement.Groups.Contains(g, StringComparer.Ordinal) || requirement.MustInclude.Contains(g, StringComparer.Ordinal)))
            {
                ignored.Add($"{vote.Approver}: holds {(vote.Groups.Count == 0 ? "no approver group" : ApprovalRequirement.GroupWords(vote.Groups))}, not {ApprovalRequirement.GroupWords(requirement.Groups.Concat(requirement.MustInclude).Distinct(StringComparer.Ordinal).ToList())}");
            }
            else
            {
                counted.Add(vote);
            }
        }

        var names = counted.Select(v => v.Approver).ToList();
        if (!requirement.Required)
        {
            return new ApprovalEvaluation(ApprovalState.Satisfied, "no approval required at this risk level", null, names, ignored);
        }

        var mustMissing = requirement.MustInclude
            .Where(g => !counted.Any(v => v.Groups.Contains(g, StringComparer.Ordinal)))
            .ToList();
        var more = Math.Max(requirement.Count - counted.Count, mustMissing.Count);
        if (more == 0)
        {
            return new ApprovalEvaluation(ApprovalState.Satisfied, $"approved by {string.Join(", ", names)}", null, names, ignored);
        }

        var plural = more == 1 ? "approval" : "approvals";
        string missing;
        if (mustMissing.Count >= more)
        {
            missing = $"needs {more} more {plural} from {ApprovalRequirement.GroupWords(mustMissing)}";
        }
        else
        {
            missing = $"needs {more} more {plural} from {ApprovalRequirement.GroupWords(requirement.Groups)}";
            if (mustMissing.Count > 0) missing += $", including one from {ApprovalRequirement.GroupWords(mustMissing)}";
        }

        if (counted.Count > 0) missing += $" (approved so far by {string.Join(", ", names)})";
        return new ApprovalEvaluation(ApprovalState.Pending, missing, missing, names, ignored);
    }
}
