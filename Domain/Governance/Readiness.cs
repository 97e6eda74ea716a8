namespace Deploy.Engine.Domain.Governance;

/// <summary>One sign-off of a readiness checklist item.</summary>
public sealed record ReadinessSignOff(string Item, string SignedOffBy, DateTimeOffset At, string? Note);

/// <summary>Complete, or the items still missing (in the checklist's order).</summary>
public sealed record ReadinessEvaluation(bool Complete, IReadOnlyList<string> Missing, IReadOnlyList<string> Signed)
{
    public string Describe() => Complete
        ? "readiness review complete"
        : $"readiness review incomplete: no sign-off yet for {string.Join(", ", Missing)}";
}

/// <summary>A readiness review is complete when every item of the checklist (from configuration) has a sign-off.</summary>
public static class ReadinessChecklist
{
    public static ReadinessEvaluation Evaluate(IReadOnlyList<string> items, IReadOnlyList<ReadinessSignOff> signOffs)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(signOffs);
        var signed = items.Where(i => signOffs.Any(s => string.Equals(s.Item, i, StringComparison.OrdinalIgnoreCase))).ToList();
        var missing = items.Where(i => !signed.Contains(i)).ToList();
        return new ReadinessEvaluation(missing.Count == 0, missing, signed);
    }
}
