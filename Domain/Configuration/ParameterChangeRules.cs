using Deploy.Engine.Domain.Environments;

namespace Deploy.Engine.Domain.Configuration;

/// <summary>
/// The change process for the parameters and secrets of production-tier and protected environments (issue 14): the
/// keys that deploy there (pipeline, operator) cannot rewrite what production runs with. A replacement is proposed and
/// decided by <see cref="ChangeProposals"/>, the rule declaration changes share: it applies once as many change
/// authorities other than the proposer approve it as a declaration change of that environment needs, onto the very
/// version it was proposed against.
/// </summary>
public static class ParameterChangeRules
{
    /// <summary>
    /// Why replacing <paramref name="environment"/>'s parameters needs approval, or null when it may be applied directly;
    /// <paramref name="approvals"/> change authorities must approve, as for its declaration.
    /// Examples: a protected 'prod' → "environment 'prod' is production tier or protected: ..."; 'dev' → null.
    /// </summary>
    public static string? ApprovalNeeded(string environment, bool isProtected, int approvals = 1) => isProtected
        ? $"environment '{environment}' is production tier or protected: its parameters and secrets change only through an approved " +
          "parameter change " + ChangeProposals.WhoApproves(approvals)
        : null;

    /// <summary>
    /// What a replacement changes, by name in name order: <c>values.x</c> with the value before and after, and
    /// <c>secrets.x</c> with only "set" (a secret's value is never shown; a secret sent again counts as replaced, since
    /// protected payloads cannot be compared). Example: values {a=1} → {a=2, b=3}, secrets {} → {k} gives
    /// secrets.k: (none) → set; values.a: 1 → 2; values.b: (none) → 3.
    /// </summary>
    public static IReadOnlyList<FieldDifference> Diff(
        IReadOnlyDictionary<string, string> valuesBefore, IReadOnlyCollection<string> secretsBefore,
        IReadOnlyDictionary<string, string> valuesAfter, IReadOnlyCollection<string> secretsAfter)
    {
        ArgumentNullException.ThrowIfNull(valuesBefore);
        ArgumentNullException.ThrowIfNull(secretsBefore);
        ArgumentNullException.ThrowIfNull(valuesAfter);
        ArgumentNullException.ThrowIfNull(secretsAfter);
        var differences = new List<FieldDifference>();
        foreach (var name in valuesBefore.Keys.Union(valuesAfter.Keys).Order(StringComparer.Ordinal))
        {
            var before = valuesBefore.GetValueOrDefault(name);
            var after = valuesAfter.GetValueOrDefault(name);
            if (!string.Equals(before, after, StringComparison.Ordinal)) differences.Add(new FieldDifference("values." + name, before, after));
        }

        foreach (var name in secretsBefore.Union(secretsAfter).Order(StringComparer.Ordinal))
        {
            var had = secretsBefore.Contains(name);
            var has = secretsAfter.Contains(name);
            differences.Add(new FieldDifference("secrets." + name, had ? "set" : null, has ? (had ? "replaced" : "set") : null));
        }

        return differences.OrderBy(d => d.Field, StringComparer.Ordinal).ToList();
    }
}
