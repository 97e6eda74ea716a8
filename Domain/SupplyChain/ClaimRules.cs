namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>
/// What a release claims against what its evidence shows. A release that names a commit must name the commit its
/// provenance attests: the full hash, or an abbreviation of at least 7 characters that begins it (compared
/// case-insensitively); a release that names none claims nothing.
/// Example: release rel-1 claims commit 0a1b…, its provenance attests 9f8e… → "release rel-1 claims commit 0a1b…, but
/// its provenance attests commit 9f8e…".
/// </summary>
public static class ClaimRules
{
    public static string? CommitMismatch(string releaseId, string? releaseCommit, string? attestedCommit) =>
        string.IsNullOrEmpty(releaseCommit) || string.Equals(releaseCommit, attestedCommit, StringComparison.OrdinalIgnoreCase)
            || (releaseCommit.Length >= 7 && attestedCommit?.StartsWith(releaseCommit, StringComparison.OrdinalIgnoreCase) == true)
            ? null
            : attestedCommit is null
                ? $"release {releaseId} claims commit {releaseCommit}, but its provenance attests no commit"
                : $"release {releaseId} claims commit {releaseCommit}, but its provenance attests commit {attestedCommit}";
}
