namespace Deploy.Engine.Domain.Governance;

/// <summary>The contributing factors one filed review named.</summary>
public sealed record ReviewFactors(string ReviewId, IReadOnlyList<string> Factors);

/// <summary>A contributing factor and the reviews that named it.</summary>
public sealed record RecurringFactor(string Factor, int Count, IReadOnlyList<string> Reviews);

/// <summary>What an approver decided about a proposed checklist item.</summary>
public enum ProposalDecision
{
    Proposed,
    Adopted,
    Dismissed,
}

/// <summary>A readiness-checklist item the engine proposes from a recurring factor, and its state.</summary>
public sealed record ChecklistProposal(string Item, RecurringFactor Factor, ProposalDecision Decision);

/// <summary>
/// Learning from blameless post-mortems: contributing factors are short labels (<c>config-drift</c>,
/// <c>no-canary</c>), compared case-insensitively with spaces and underscores as hyphens, and counted once per review
/// that names them. A factor named by at least <c>threshold</c> reviews is proposed as a readiness-checklist item of
/// the same name, unless an approver already adopted or dismissed it (a decision stands). Worked example (the tests
/// reuse it): reviews A {config drift, no-alert}, B {Config_Drift}, C {config-drift, no-alert}, D {slow-db}, threshold 2 →
/// config-drift 3 (A, B, C), no-alert 2 (A, C), slow-db 1; proposals config-drift and no-alert, most frequent first.
/// </summary>
public static class PostmortemLearning
{
    public const int DefaultThreshold = 2;

    /// <summary>The canonical form of a factor: trimmed, lower-case, runs of spaces, underscores and hyphens as one hyphen.</summary>
    public static string Normalise(string factor)
    {
        ArgumentNullException.ThrowIfNull(factor);
        var parts = factor.Trim().ToLowerInvariant().Split([' ', '_', '-', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return string.Join('-', parts);
    }

    /// <summary>A factor label is 1-64 characters of letters, digits, spaces, '-' and '_' with at least one letter or digit.</summary>
    public static bool IsValid(string? factor) =>
        factor is { Length: > 0 and <= 64 } && factor.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '-' or '_') && factor.Any(char.IsAsciiLetterOrDigit);

    public static IReadOnlyList<RecurringFactor> Count(IEnumerable<ReviewFactors> reviews)
    {
        ArgumentNullException.ThrowIfNull(reviews);
        return reviews
            .SelectMany(r => r.Factors.Select(Normalise).Distinct(StringComparer.Ordinal).Select(f => (Factor: f, r.ReviewId)))
            .GroupBy(x => x.Factor, StringComparer.Ordinal)
            .Select(g => new RecurringFactor(g.Key, g.Count(), g.Select(x => x.ReviewId).Order(StringComparer.Ordinal).ToList()))
            .OrderByDescending(f => f.Count).ThenBy(f => f.Factor, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Every factor at or over the threshold as a proposal, with the decision already taken on it, if any.</summary>
    public static IReadOnlyList<ChecklistProposal> Propose(
        IReadOnlyList<RecurringFactor> factors, IReadOnlyDictionary<string, ProposalDecision> decided, int threshold = DefaultThreshold) =>
        factors.Where(f => f.Count >= threshold)
            .Select(f => new ChecklistProposal(f.Factor, f, decided.GetValueOrDefault(f.Factor, ProposalDecision.Proposed)))
            .ToList();
}
