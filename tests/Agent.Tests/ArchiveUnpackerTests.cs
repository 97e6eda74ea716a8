using System.Formats.Tar;
using Deploy.Engine.Agent.Artifacts;
using Deploy.Engine.Agent.Tests.Support;
using E = Deploy.Engine.Agent.Tests.Support.TestArchives.Entry;

namespace Deploy.Engine.Agent.Tests;

public sealed class ArchiveUnpackerTests : IDisposable
{
    private readonly TempDir temp = new();

    private string Releases => temp["releases"];

    private string Target => Path.Combine(Releases, "1.0.0-0123456789ab");

    public void Dispose() => temp.Dispose();

    [Fact]
    public void TarGzUnpacksFilesDirectoriesModesAndInsideLinks()
    {
        var archive = TestArchives.Write(temp.Path, "a.tar.gz", TestArchives.TarGz(
            new E("manifest.json", Content: "{}"),
            new E("bin", TarEntryType.Directory),
            new E("bin/run.sh", Content: "echo hi", Mode: (UnixFileMode)0x1ED), // 0755
            new E("lib/libx.so.1", Content: "elf"),
            new E("lib/libx.so", TarEntryType.SymbolicLink, LinkName: "libx.so.1"),
            new E("bin/lib", TarEntryType.SymbolicLink, LinkName: "../lib"),
            new E("bin/copy.sh", TarEntryType.HardLink, LinkName: "bin/run.sh")));

        ArchiveUnpacker.Unpack(archive, Target, 1 << 20);

        Assert.Equal("{}", File.ReadAllText(Path.Combine(Target, "manifest.json")));
        Assert.True(File.GetUnixFileMode(Path.Combine(Target, "bin/run.sh")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("elf", File.ReadAllText(Path.Combine(Target, "bin/lib/libx.so")));
        Assert.Equal("echo hi", File.ReadAllText(Path.Combine(Target, "bin/copy.sh")));
        Assert.Equal([Target], Directory.GetDirectories(Releases)); // the temp directory was renamed, not left
    }

    [Fact]
    public void ZipUnpacks()
    {
        var archive = TestArchives.Write(temp.Path, "a.zip", TestArchives.Zip(("manifest.json", "{}"), ("hooks/x.sh", "exit 0"), ("dir/", "")));

        ArchiveUnpacker.Unpack(archive, Target, 1 << 20);

        Assert.Equal("exit 0", File.ReadAllText(Path.Combine(Target, "hooks/x.sh")));
        Assert.True(Directory.Exists(Path.Combine(Target, "dir")));
    }

    public static TheoryData<string, E[]> HostileTars => new()
    {
        { "climbs", [new E("ok.txt", Content: "x"), new E("../x", Content: "evil")] },
        { "climbs", [new E("a/../../x", Content: "evil")] },
        { "absolute", [new E("/tmp/agent-tests-evil", Content: "evil")] },
        { "outside", [new E("link", TarEntryType.SymbolicLink, LinkName: "../../etc")] },
        { "absolute", [new E("link", TarEntryType.SymbolicLink, LinkName: "/etc/passwd")] },
        { "outside", [new E("p", TarEntryType.SymbolicLink, LinkName: "."), new E("x", TarEntryType.SymbolicLink, LinkName: "p/..")] },
        { "outside", [new E("hard", TarEntryType.HardLink, LinkName: "../../etc/passwd")] },
        { "Fifo", [new E("pipe", TarEntryType.Fifo)] },
        { "CharacterDevice", [new E("null", TarEntryType.CharacterDevice)] },
        { "BlockDevice", [new E("sda", TarEntryType.BlockDevice)] },
        { "MaxUnpackedBytes", [new E("a", ZeroBytes: 600_000), new E("b", ZeroBytes: 600_000)] },
    };

    [Theory]
    [MemberData(nameof(HostileTars))]
    public void HostileTarIsRefusedAndLeavesNothingBehind(string reason, E[] entries)
    {
        var archive = TestArchives.Write(temp.Path, "evil.tar.gz", TestArchives.TarGz(entries));

        var refused = Assert.Throws<ArchiveRefusedException>(() => ArchiveUnpacker.Unpack(archive, Target, 1_000_000));

        Assert.Contains(reason, refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Releases));
        Assert.False(File.Exists("/tmp/agent-tests-evil"));
    }

    [Fact]
    public void ZipBombPastTheLimitIsRefusedAndLeavesNothingBehind()
    {
        // 20 MB of zeros compresses to a few KB: the headers look harmless, the bytes written do not.
        var archive = TestArchives.Write(temp.Path, "bomb.zip", TestArchives.Zip(("manifest.json", "{}"u8.ToArray(), 0), ("zeros.bin", new byte[20_000_000], 0)));
        Assert.True(new FileInfo(archive).Length < 100_000);

        var refused = Assert.Throws<ArchiveRefusedException>(() => ArchiveUnpacker.Unpack(archive, Target, 5_000_000));

        Assert.Contains("MaxUnpackedBytes", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Releases));
    }

    [Theory]
    [InlineData("../evil", 0x81A4)]
    [InlineData("/abs/evil", 0x81A4)]
    [InlineData("fifo", 0x11A4)]
    [InlineData("dev", 0x21A4)]
    public void HostileZipEntryIsRefused(string name, int mode)
    {
        var archive = TestArchives.Write(temp.Path, "evil.zip", TestArchives.Zip((name, "x"u8.ToArray(), mode)));

        Assert.Throws<ArchiveRefusedException>(() => ArchiveUnpacker.Unpack(archive, Target, 1 << 20));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Releases));
    }

    [Fact]
    public void ZipSymlinkOutsideIsRefused()
    {
        var archive = TestArchives.Write(temp.Path, "evil.zip", TestArchives.Zip(("link", "../../../etc"u8.ToArray(), 0xA1FF)));

        Assert.Throws<ArchiveRefusedException>(() => ArchiveUnpacker.Unpack(archive, Target, 1 << 20));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Releases));
    }
}
