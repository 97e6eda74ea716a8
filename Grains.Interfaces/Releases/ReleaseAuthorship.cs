using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>A release's authors and sign-offs as the Domain's separation-of-duties rules read them.</summary>
public static class ReleaseAuthorship
{
    /// <summary>The key that submitted the release and the keys that created its rollouts.</summary>
    public static ChangeAuthors Authors(this ReleaseSnapshot release) => new(release.SubmittedBy, release.DeployedBy);

    /// <summary>Readiness sign-offs by the key that recorded each (the signedOffBy a caller names is shown, never counted).</summary>
    public static IReadOnlyList<ReadinessSignOff> SignOffs(this ReleaseSnapshot release) =>
        release.Readiness.Select(r => new ReadinessSignOff(r.Item, string.IsNullOrEmpty(r.RecordedBy) ? r.SignedOffBy : r.RecordedBy, r.At, r.Note)).ToList();
}
