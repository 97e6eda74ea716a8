namespace Deploy.Engine.Agent.Releases;

/// <summary>
/// The release directories of each service and the <c>current</c> symlink. The switch is atomic: a new symlink
/// <c>current.tmp</c> is renamed over <c>current</c>, so a crash leaves either the old or the new target.
/// </summary>
public sealed class ReleaseStore(AgentPaths paths)
{
    /// <summary>The release directory <c>current</c> points to, or null when there is none.</summary>
    public string? Current(string service)
    {
        var link = paths.Current(service);
        var info = new FileInfo(link);
        if (info.LinkTarget is not { } target) return null;
        var full = Path.GetFullPath(target, paths.ServiceReleases(service));
        return Directory.Exists(full) ? full : null;
    }

    public void Switch(string service, string releaseDirectory)
    {
        var dir = paths.ServiceReleases(service);
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, "current.tmp");
        if (File.Exists(temp) || new FileInfo(temp).LinkTarget is not null) File.Delete(temp);
        File.CreateSymbolicLink(temp, Path.GetFileName(releaseDirectory));
        Lifecycle.Native.Rename(temp, paths.Current(service)); // atomic: readers see the old link or the new one
    }

    private const string DigestSuffix = ".digest";

    /// <summary>Records the full digest a release directory was verified against (beside it, not inside it).</summary>
    public static void WriteDigest(string releaseDirectory, string digest)
    {
        var temp = releaseDirectory + DigestSuffix + ".tmp";
        File.WriteAllText(temp, digest);
        File.Move(temp, releaseDirectory + DigestSuffix, overwrite: true);
    }

    /// <summary>The digest a release directory was verified against, or null when unknown.</summary>
    public static string? ReadDigest(string releaseDirectory)
    {
        var path = releaseDirectory + DigestSuffix;
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Removes <c>current</c> (a first release that failed: nothing safe to point at).</summary>
    public void Clear(string service)
    {
        var link = paths.Current(service);
        if (new FileInfo(link).LinkTarget is not null) File.Delete(link);
    }

    /// <summary>A release directory of the service for the artifact (any version with the digest's 12 hex), or null.</summary>
    public string? Find(string service, string? version, string digest)
    {
        var exact = paths.ReleaseDirectory(service, version, digest);
        if (Directory.Exists(exact)) return exact;
        var dir = paths.ServiceReleases(service);
        if (!Directory.Exists(dir)) return null;
        var suffix = "-" + AgentPaths.ReleaseName(null, digest).Split('-')[^1];
        return Directory.EnumerateDirectories(dir)
            .Where(d => Path.GetFileName(d).EndsWith(suffix, StringComparison.Ordinal) && !Path.GetFileName(d).StartsWith('.'))
            .Where(d => new DirectoryInfo(d).LinkTarget is null)
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }

    /// <summary>Marks a release as just activated: pruning removes the least recently activated first.</summary>
    public static void Touch(string releaseDirectory, DateTime utcNow) => Directory.SetLastWriteTimeUtc(releaseDirectory, utcNow);

    /// <summary>
    /// Deletes the oldest release directories past <paramref name="keep"/>, never one of <paramref name="protect"/>
    /// (current and the one before it), and any unpack leftovers.
    /// </summary>
    public IReadOnlyList<string> Prune(string service, int keep, IEnumerable<string?> protect)
    {
        var dir = paths.ServiceReleases(service);
        if (!Directory.Exists(dir)) return [];
        var kept = new HashSet<string>(protect.OfType<string>().Select(Path.GetFullPath), StringComparer.Ordinal);
        var releases = Directory.EnumerateDirectories(dir)
            .Where(d => new DirectoryInfo(d).LinkTarget is null && !Path.GetFileName(d).StartsWith('.'))
            .OrderByDescending(Directory.GetLastWriteTimeUtc) // see Touch: the most recently activated first
            .ToList();
        var deleted = new List<string>();
        var remaining = releases.Count;
        foreach (var release in releases.AsEnumerable().Reverse())
        {
            if (remaining <= keep) break;
            if (kept.Contains(Path.GetFullPath(release))) continue;
            Artifacts.ArchiveUnpacker.TryDelete(release);
            Artifacts.ArtifactDownloader.TryDeleteFile(release + DigestSuffix);
            deleted.Add(release);
            remaining--;
        }

        foreach (var leftover in Directory.EnumerateDirectories(dir, ".unpack-*")) Artifacts.ArchiveUnpacker.TryDelete(leftover);
        return deleted;
    }
}
