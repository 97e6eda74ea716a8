using Deploy.Engine.Agent.Artifacts;

namespace Deploy.Engine.Agent.Releases;

/// <summary>
/// Writes rendered configuration into the release's config directory. Every file is created with mode 0600 (never
/// readable by others, not even for an instant) through a temp file and a rename. Contents are never logged.
/// </summary>
public static class ConfigWriter
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static IReadOnlyList<string> Write(string releaseDirectory, string configDirectory, IReadOnlyDictionary<string, string> files)
    {
        var (dirSegments, dirRefusal) = ArchivePathRules.Normalize(configDirectory);
        if (dirSegments is null) throw new InvalidDataException("config directory: " + dirRefusal);
        var root = Path.Combine([releaseDirectory, .. dirSegments]);
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, OwnerOnly | UnixFileMode.UserExecute);
        var written = new List<string>();
        foreach (var (name, text) in files)
        {
            var (segments, refusal) = ArchivePathRules.Normalize(name);
            if (segments is null || segments.Length == 0) throw new InvalidDataException($"config file '{name}': {refusal ?? "empty name"}");
            var path = Path.Combine([root, .. segments]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
            }))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
            }

            File.SetUnixFileMode(temp, OwnerOnly); // the umask can only remove bits; make the mode exact
            File.Move(temp, path, overwrite: true);
            written.Add(path);
        }

        return written;
    }
}
