namespace Deploy.Engine.Domain.Governance;

/// <summary>
/// Who made a change: the key that submitted the release and the keys that created its rollouts (deployed it).
/// None of them may authorise it: approve or reject it, waive one of its findings, grant it a freeze exception or
/// sign off its readiness review.
/// </summary>
public sealed record ChangeAuthors(string Submitter, IReadOnlyCollection<string> Deployers)
{
    /// <summary>"submitted" or "deployed" when <paramref name="actor"/> authored the change; null otherwise.</summary>
    public string? RoleOf(string actor) =>
        string.Equals(actor, Submitter, StringComparison.Ordinal) ? "submitted"
        : Deployers.Contains(actor, StringComparer.Ordinal) ? "deployed"
        : null;
}

/// <summary>What an authorisation is, for the refusal's words.</summary>
public enum Authorisation
{
    Approve,
    Reject,
    Waive,
    Except,
    SignOff,
}

/// <summary>
/// Four eyes: nobody authorises their own change. Each rule answers null (allowed) or the reason a person reads.
/// Example: carol created the rollout of rel-1 to prod, so her approval of rel-1 is refused with
/// "'carol' deployed release rel-1 and cannot approve it: no self-approval (four eyes)".
/// </summary>
public static class SeparationOfDuties
{
    public static string? Refusal(ChangeAuthors authors, string actor, string releaseId, Authorisation act)
    {
        ArgumentNullException.ThrowIfNull(authors);
        return authors.RoleOf(actor) is { } role
            ? $"'{actor}' {role} release {releaseId} and cannot {Words(act)} it: no self-approval (four eyes)"
            : null;
    }

    /// <summary>
    /// A readiness review needs a different person per item: <paramref name="actor"/> may sign <paramref name="item"/>
    /// unless they already signed another item of the same release (re-signing the same item is allowed).
    /// </summary>
    public static string? ReadinessRefusal(IReadOnlyList<ReadinessSignOff> signOffs, string actor, string item, string releaseId)
    {
        ArgumentNullException.ThrowIfNull(signOffs);
        var other = signOffs.FirstOrDefault(s => string.Equals(s.SignedOffBy, actor, StringComparison.Ordinal)
            && !string.Equals(s.Item, item, StringComparison.OrdinalIgnoreCase));
        return other is null
            ? null
            : $"'{actor}' already signed off readiness item '{other.Item}' of release {releaseId}; each item needs a different person";
    }

    private static string Words(Authorisation act) => act switch
    {
        Authorisation.Approve => "approve",
        Authorisation.Reject => "reject",
        Authorisation.Waive => "waive a finding of",
        Authorisation.Except => "grant a freeze exception for",
        _ => "sign off the readiness of",
    };
}
