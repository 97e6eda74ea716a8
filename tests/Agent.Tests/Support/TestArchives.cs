using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Deploy.Engine.Agent.Tests.Support;

/// <summary>Builds small tar.gz and zip archives in memory, including the hostile entries the unpacker must refuse.</summary>
public static class TestArchives
{
    public sealed record Entry(string Name, TarEntryType Type = TarEntryType.RegularFile, string? Content = null, string? LinkName = null, UnixFileMode? Mode = null, long? ZeroBytes = null);

    public static byte[] TarGz(params Entry[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                var entry = new PaxTarEntry(e.Type, e.Name);
                if (e.Mode is { } m) entry.Mode = m;
                if (e.LinkName is not null) entry.LinkName = e.LinkName;
                if (e.Content is not null) entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(e.Content));
                if (e.ZeroBytes is { } n) entry.DataStream = new MemoryStream(new byte[n]);
                tar.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    public static byte[] Zip(params (string Name, string Content)[] entries) => Zip(entries.Select(e => (e.Name, Encoding.UTF8.GetBytes(e.Content), 0)).ToArray());

    public static byte[] Zip(params (string Name, byte[] Content, int UnixMode)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.SmallestSize);
                if (mode != 0) entry.ExternalAttributes = mode << 16;
                using var s = entry.Open();
                s.Write(content);
            }
        }

        return buffer.ToArray();
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Write(string directory, string name, byte[] bytes)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}

/// <summary>A fresh directory under /tmp, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agent-tests-" + Guid.NewGuid().ToString("N")[..10]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
