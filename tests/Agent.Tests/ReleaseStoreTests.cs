using Deploy.Engine.Agent.Releases;
using Deploy.Engine.Agent.Tests.Support;

namespace Deploy.Engine.Agent.Tests;

public sealed class ReleaseStoreTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void SwitchIsASymlinkRenameAndPruneKeepsCurrentAndPrevious()
    {
        var paths = new AgentPaths(temp.Path);
        var store = new ReleaseStore(paths);
        var start = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var dirs = Enumerable.Range(1, 5).Select(i => paths.ReleaseDirectory("web", $"{i}.0.0", "sha256:" + new string((char)('0' + i), 64))).ToList();
        for (var i = 0; i < dirs.Count; i++)
        {
            Directory.CreateDirectory(dirs[i]);
            ReleaseStore.Touch(dirs[i], start.AddMinutes(i));
        }

        store.Switch("web", dirs[0]);
        store.Switch("web", dirs[1]);
        Assert.Equal(dirs[1], store.Current("web"));
        Assert.False(File.Exists(Path.Combine(paths.ServiceReleases("web"), "current.tmp")));

        // The oldest two are current (1.0.0, say after a revert) and previous (2.0.0): they stay; 3.0.0 and 4.0.0 go.
        var deleted = store.Prune("web", keep: 3, protect: [dirs[0], dirs[1]]);

        Assert.Equal([dirs[2], dirs[3]], deleted.Order());
        Assert.Equal([dirs[0], dirs[1], dirs[4]], Directory.GetDirectories(paths.ServiceReleases("web")).Where(d => !d.EndsWith("current", StringComparison.Ordinal)).Order());
    }
}
