using System.Text;

namespace Deploy.Engine.Agent.Releases;

/// <summary>
/// The data directory's layout, in one place: <c>downloads/</c>, <c>releases/&lt;service&gt;/&lt;version&gt;-&lt;12 hex&gt;/</c>
/// with <c>releases/&lt;service&gt;/current</c> the symlink to the running one, <c>journal/&lt;service&gt;.json</c>,
/// <c>logs/&lt;service&gt;.log</c> and <c>run/&lt;service&gt;.pid</c>.
/// </summary>
public sealed class AgentPaths(string dataDirectory)
{
    public string Root { get; } = Path.GetFullPath(dataDirectory);

    public string Downloads => Path.Combine(Root, "downloads");

    public string Journals => Path.Combine(Root, "journal");

    public string Logs => Path.Combine(Root, "logs");

    public string Run => Path.Combine(Root, "run");

    public string ServiceReleases(string service) => Path.Combine(Root, "releases", Safe(service));

    public string Current(string service) => Path.Combine(ServiceReleases(service), "current");

    public string Journal(string service) => Path.Combine(Journals, Safe(service) + ".json");

    public string Log(string service) => Path.Combine(Logs, Safe(service) + ".log");

    public string PidFile(string service) => Path.Combine(Run, Safe(service) + ".pid");

    /// <summary>"releases/sample/1.4.0-0123456789ab" for version 1.4.0 of sha256:0123456789ab…</summary>
    public string ReleaseDirectory(string service, string? version, string digest) =>
        Path.Combine(ServiceReleases(service), ReleaseName(version, digest));

    public static string ReleaseName(string? version, string digest)
    {
        var hex = Artifacts.ArtifactDownloader.HexOf(digest);
        return $"{Safe(version ?? "unversioned")}-{hex[..Math.Min(12, hex.Length)]}";
    }

    public void EnsureCreated()
    {
        foreach (var d in new[] { Root, Downloads, Journals, Logs, Run, Path.Combine(Root, "releases") }) Directory.CreateDirectory(d);
    }

    /// <summary>Keeps names to letters, digits, '.', '-', '_', '+' so no name can climb or hide.</summary>
    public static string Safe(string name)
    {
        var b = new StringBuilder(name.Length);
        foreach (var c in name) b.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+' ? c : '_');
        var s = b.ToString();
        return s is "" or "." or ".." ? "_" + s : s;
    }
}
