using System.Formats.Tar;
using System.IO.Compression;

namespace Deploy.Engine.Agent.Artifacts;

/// <summary>
/// Unpacks a tar.gz or zip into a fresh directory via a temp directory and a rename, so a release directory either
/// holds the whole archive or does not exist. Refused (<see cref="ArchiveRefusedException"/>, nothing left behind):
/// '..' or absolute names, links resolving outside, devices and fifos, and an expanded size past the limit
/// (counted from the bytes actually written, not from the headers).
/// </summary>
public static class ArchiveUnpacker
{
    private const UnixFileMode SafeModeBits = (UnixFileMode)0x1FF; // rwxrwxrwx: setuid/setgid/sticky are dropped

    public static void Unpack(string archivePath, string destination, long maxUnpackedBytes)
    {
        if (Directory.Exists(destination)) throw new IOException($"'{destination}' already exists");
        var parent = Path.GetDirectoryName(Path.GetFullPath(destination))!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, ".unpack-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(temp);
        try
        {
            var writer = new TreeWriter(temp, maxUnpackedBytes);
            if (IsZip(archivePath)) ReadZip(archivePath, writer);
            else ReadTarGz(archivePath, writer);
            writer.Finish();
            Directory.Move(temp, destination);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static bool IsZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] is 3 or 5 && magic[3] is 4 or 6;
    }

    private static void ReadTarGz(string path, TreeWriter writer)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        try
        {
            while (reader.GetNextEntry() is { } entry)
            {
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        writer.MakeDirectory(entry.Name, entry.Mode);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        writer.WriteFile(entry.Name, entry.DataStream, entry.Mode);
                        break;
                    case TarEntryType.SymbolicLink:
                        writer.SymbolicLink(entry.Name, entry.LinkName);
                        break;
                    case TarEntryType.HardLink:
                        writer.HardLink(entry.Name, entry.LinkName);
                        break;
                    case TarEntryType.GlobalExtendedAttributes:
                        break;
                    case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                        throw new ArchiveRefusedException($"entry '{entry.Name}' is a {entry.EntryType}: devices and fifos are refused");
                    default:
                        throw new ArchiveRefusedException($"entry '{entry.Name}' has unsupported type {entry.EntryType}");
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new ArchiveRefusedException("not a valid tar.gz: " + e.Message);
        }
    }

    private static void ReadZip(string path, TreeWriter writer)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                var name = entry.FullName.Replace('\\', '/');
                var unixMode = (entry.ExternalAttributes >> 16) & 0xFFFF;
                var type = unixMode & 0xF000;
                var mode = unixMode == 0 ? (UnixFileMode?)null : (UnixFileMode)(unixMode & 0x1FF);
                switch (type)
                {
                    case 0x1000 or 0x2000 or 0x6000 or 0xC000:
                        throw new ArchiveRefusedException($"entry '{name}' is a device, fifo or socket: refused");
                    case 0xA000:
                        using (var s = entry.Open())
                        using (var r = new StreamReader(s))
                        {
                            var target = new string(r.ReadToEnd().Take(4097).ToArray());
                            writer.SymbolicLink(name, target);
                        }

                        break;
                    default:
                        if (name.EndsWith('/') || type == 0x4000) writer.MakeDirectory(name, mode);
                        else
                        {
                            using var s = entry.Open();
                            writer.WriteFile(name, s, mode);
                        }

                        break;
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new ArchiveRefusedException("not a valid zip: " + e.Message);
        }
    }

    /// <summary>
    /// Writes files and directories as they come; links are held back and created last, after every link has
    /// been resolved against the others, so no write ever goes through a link.
    /// </summary>
    private sealed class TreeWriter(string root, long maxBytes)
    {
        private readonly Dictionary<string, string> symlinks = new(StringComparer.Ordinal);
        private readonly List<(string Path, string Target)> hardlinks = [];
        private readonly HashSet<string> files = new(StringComparer.Ordinal);
        private long written;

        public void MakeDirectory(string name, UnixFileMode? mode)
        {
            var segments = Segments(name);
            if (segments.Length == 0) return;
            var path = PathOf(segments);
            System.IO.Directory.CreateDirectory(path);
            if (mode is { } m) System.IO.File.SetUnixFileMode(path, (m & SafeModeBits) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        public void WriteFile(string name, Stream? data, UnixFileMode? mode)
        {
            var segments = Segments(name);
            if (segments.Length == 0) throw new ArchiveRefusedException($"entry '{name}' has no name");
            var key = string.Join('/', segments);
            if (symlinks.ContainsKey(key)) throw new ArchiveRefusedException($"entry '{name}' is both a link and a file");
            var path = PathOf(segments);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                if (data is not null) Copy(data, output, name);
            }

            files.Add(key);
            if (mode is { } m) System.IO.File.SetUnixFileMode(path, (m & SafeModeBits) | UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        public void SymbolicLink(string name, string target)
        {
            var segments = Segments(name);
            if (segments.Length == 0) throw new ArchiveRefusedException($"entry '{name}' has no name");
            if (target.StartsWith('/')) throw new ArchiveRefusedException($"link '{name}' points to an absolute path");
            symlinks[string.Join('/', segments)] = target;
        }

        public void HardLink(string name, string target)
        {
            var segments = Segments(name);
            var (targetSegments, refusal) = ArchivePathRules.Normalize(target);
            if (targetSegments is null || targetSegments.Length == 0)
                throw new ArchiveRefusedException($"hard link '{name}' points outside the release: {refusal ?? target}");
            hardlinks.Add((string.Join('/', segments), string.Join('/', targetSegments)));
        }

        public void Finish()
        {
            foreach (var (link, target) in symlinks)
            {
                if (ArchivePathRules.ResolveLink(link.Split('/'), target, symlinks) is null)
                    throw new ArchiveRefusedException($"link '{link}' -> '{target}' resolves outside the release");
            }

            foreach (var (link, target) in hardlinks)
            {
                // A hard link is materialized as a copy of a file the archive already wrote (never of a link).
                if (!files.Contains(target)) throw new ArchiveRefusedException($"hard link '{link}' -> '{target}' names no file of the archive");
                var to = PathOf(link.Split('/'));
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                using (var from = System.IO.File.OpenRead(PathOf(target.Split('/'))))
                using (var output = new FileStream(to, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    Copy(from, output, link);
                }

                System.IO.File.SetUnixFileMode(to, System.IO.File.GetUnixFileMode(PathOf(target.Split('/'))));
            }

            foreach (var (link, target) in symlinks)
            {
                var path = PathOf(link.Split('/'));
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                if (System.IO.File.Exists(path) || System.IO.Directory.Exists(path))
                    throw new ArchiveRefusedException($"link '{link}' collides with a file of the archive");
                System.IO.File.CreateSymbolicLink(path, target);
            }
        }

        private void Copy(Stream from, Stream to, string name)
        {
            var buffer = new byte[81920];
            int n;
            while ((n = from.Read(buffer)) > 0)
            {
                written += n;
                if (written > maxBytes)
                    throw new ArchiveRefusedException($"archive expands past MaxUnpackedBytes ({maxBytes} bytes) at entry '{name}'");
                to.Write(buffer, 0, n);
            }
        }

        private static string[] Segments(string name)
        {
            var (segments, refusal) = ArchivePathRules.Normalize(name);
            return segments ?? throw new ArchiveRefusedException(refusal!);
        }

        private string PathOf(IEnumerable<string> segments) => Path.Combine([root, .. segments]);
    }
}

public sealed class ArchiveRefusedException(string message) : Exception(message);
