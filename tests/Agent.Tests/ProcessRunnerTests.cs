using Deploy.Engine.Agent.Lifecycle;
using Deploy.Engine.Agent.Releases;
using Deploy.Engine.Agent.Tests.Support;

namespace Deploy.Engine.Agent.Tests;

public sealed class ProcessRunnerTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task HookTimeoutKillsTheWholeTreeAndReportsTheExit()
    {
        // The hook starts a grandchild that would outlive it, then hangs.
        File.WriteAllText(temp["hook.sh"], "sleep 300 &\necho $! > child.pid\necho waiting\nwait\n");

        var result = await ProcessRunner.RunShellAsync("hook.sh", temp.Path, new Dictionary<string, string>(), TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.True(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.Equal(137, result.ExitCode); // 128 + SIGKILL
        Assert.Contains("waiting", result.Output, StringComparison.Ordinal);
        Assert.Contains("timeout", result.Output, StringComparison.Ordinal);
        var child = int.Parse(File.ReadAllText(temp["child.pid"]).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Wait.Until(() => !Native.IsAlive(child), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HookGetsItsEnvironmentAndExitCodeAndOnlyTheOutputTail()
    {
        File.WriteAllText(temp["hook.sh"], "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done\necho \"event=$DEPLOY_LIFECYCLE_EVENT\" >&2\nexit 3\n");

        var result = await ProcessRunner.RunShellAsync("hook.sh", temp.Path, new Dictionary<string, string> { ["DEPLOY_LIFECYCLE_EVENT"] = "BeforeInstall" }, TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.TimedOut);
        Assert.True(result.Output.Length <= ProcessRunner.OutputTail);
        Assert.Contains("event=BeforeInstall", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("line-0\n", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigFilesAreWrittenOwnerOnly()
    {
        var written = ConfigWriter.Write(temp.Path, "config", new Dictionary<string, string> { ["app.json"] = "{\"secret\":\"s3cr3t\"}", ["nested/db.ini"] = "x=1" });

        Assert.Equal(2, written.Count);
        foreach (var file in written) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal("{\"secret\":\"s3cr3t\"}", File.ReadAllText(temp["config/app.json"]));
        Assert.Throws<InvalidDataException>(() => ConfigWriter.Write(temp.Path, "config", new Dictionary<string, string> { ["../escape"] = "x" }));
        Assert.False(File.Exists(temp["escape"]));
    }
}
