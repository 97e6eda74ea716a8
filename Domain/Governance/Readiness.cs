namespace Deploy.Engine.Domain.Governance;

/// <summary>One sign-off of a readiness checklist item; <paramref name="SignedOffBy"/> is the key that recorded it.</summary>
public sealed record ReadinessSignOff(string Item, string SignedOffBy, DateTimeOffset At, string? Note);

/// <summary>Complete, or the items still missing (in the checklist's order).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The items signed off, as the API names them; not the integer sense")]
public sealed record ReadinessEvaluation(bool Complete, IReadOnlyList<string> Missing, IReadOnlyList<string> Signed)
{
    public string Describe() => Complete
        ? "readiness review complete"
        : $"readiness review incomplete: no sign-off yet for {string.Join(", ", Missing)}";
}

/// <summary>
/// A readiness review is complete when every item of the checklist (from configuration) is signed off by a different
/// person, none of whom authored the change (submitted or deployed the release). One person who signed every item
/// counts for one item: the review needs as many distinct signers as it has items. Items are matched to signers by
/// augmenting paths (a maximum bipartite matching), so the order sign-offs came in does not matter.
/// </summary>
public static class ReadinessChecklist
{
    public static ReadinessEvaluation Evaluate(IReadOnlyList<string> items, IReadOnlyList<ReadinessSignOff> signOffs, ChangeAuthors? authors = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(signOffs);
        var signersOf = items.Select(i => signOffs
                .Where(s => string.Equals(s.Item, i, StringComparison.OrdinalIgnoreCase) && authors?.RoleOf(s.SignedOffBy) is null)
                .Select(s => s.SignedOffBy).Distinct(StringComparer.Ordinal).ToList())
            .ToList();
        var itemOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            Augment(i, signersOf, itemOf, new HashSet<string>(StringComparer.Ordinal));
        }

        var matched = itemOf.Values.ToHashSet();
        var signed = items.Where((_, i) => matched.Contains(i)).ToList();
        var missing = items.Where((_, i) => !matched.Contains(i)).ToList();
        return new ReadinessEvaluation(missing.Count == 0, missing, signed);
    }

    private static bool Augment(int item, List<List<string>> signersOf, Dictionary<string, int> itemOf, HashSet<string> seen)
    {
        foreach (var signer in signersOf[item])
        {
            if (!seen.Add(signer)) continue;
            if (!itemOf.TryGetValue(signer, out var other) || Augment(other, signersOf, itemOf, seen))
            {
                itemOf[signer] = item;
                return true;
            }
        }

        return false;
    }
}
