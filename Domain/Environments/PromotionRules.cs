namespace Deploy.Engine.Domain.Environments;

/// <summary>The latest result a pipeline recorded for one gate of a release in one environment.</summary>
public sealed record GateOutcome(string Gate, bool Passed, DateTimeOffset RecordedAt, string? Details);

/// <summary>
/// Promotion: a release reaches an environment only after it succeeded in the environment declared before it
/// (<c>after</c>) and every gate the target declares has a passing latest result in that earlier environment (or,
/// for an environment first in its promotion order, in the target itself: gates run before the first deployment).
/// Each missing item is its own sentence, saying what is missing and what to do.
/// </summary>
/// <example>
/// production {after: staging, gates: [security-scan]}, release rel-1 not succeeded in staging, no results →
/// "release rel-1 has not succeeded in 'staging' (promotion order: staging → production); roll it out there first",
/// "gate 'security-scan' has no passing result for 'staging'; the pipeline posts one with POST /v1/releases/rel-1/gates".
/// </example>
public static class PromotionRules
{
    /// <param name="order">The promotion order ending in the target (e.g. [development, staging, production]).</param>
    /// <param name="succeededInPrevious">Whether the release's rollout in <paramref name="after"/> succeeded (ignored without one).</param>
    /// <param name="results">The latest result per gate name, recorded for the environment the gates are checked in.</param>
    public static IReadOnlyList<string> Missing(
        string releaseId, string target, string? after, IReadOnlyList<string> order, bool succeededInPrevious,
        IReadOnlyList<string> requiredGates, IReadOnlyDictionary<string, GateOutcome> results)
    {
        var missing = new List<string>();
        if (after is not null && !succeededInPrevious)
        {
            missing.Add($"release {releaseId} has not succeeded in '{after}' (promotion order: {string.Join(" → ", order)}); roll it out there first");
        }

        var where = after ?? target;
        foreach (var gate in requiredGates)
        {
            if (!results.TryGetValue(gate, out var result))
            {
                missing.Add($"gate '{gate}' has no passing result for '{where}'; the pipeline posts one with POST /v1/releases/{releaseId}/gates");
            }
            else if (!result.Passed)
            {
                var details = string.IsNullOrWhiteSpace(result.Details) ? string.Empty : $" ({result.Details})";
                missing.Add($"gate '{gate}' failed for '{where}' at {result.RecordedAt:u}{details}; a passing result must be recorded after it");
            }
        }

        return missing;
    }

    /// <summary>
    /// The promotion order ending in <paramref name="target"/>, following <c>after</c> links back (a link to an
    /// undeclared environment ends the chain; a cycle stops where it repeats).
    /// </summary>
    public static IReadOnlyList<string> Order(string target, Func<string, string?> afterOf)
    {
        var chain = new List<string> { target };
        var seen = new HashSet<string>(StringComparer.Ordinal) { target };
        for (var next = afterOf(target); next is not null && seen.Add(next); next = afterOf(next))
        {
            chain.Insert(0, next);
        }

        return chain;
    }
}
