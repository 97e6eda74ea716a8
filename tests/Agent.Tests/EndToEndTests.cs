using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Tests.Support;

namespace Deploy.Engine.Agent.Tests;

/// <summary>The whole agent against a fake engine: apply, apply, a failing apply that rolls back, a revert from disk, a corrupt download.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task ApplyRevertRollbackAndVerification()
    {
        await using var engine = new FakeEngine();
        await engine.StartAsync();
        var v1 = SampleArtifacts.WebServer("1.0.0");
        var v2 = SampleArtifacts.WebServer("2.0.0");
        var v3 = SampleArtifacts.WebServer("3.0.0", healthPath: "/missing");
        var (d1, d2, d3) = (TestArchives.Digest(v1), TestArchives.Digest(v2), TestArchives.Digest(v3));
        engine.Artifacts[d1] = v1;
        engine.Artifacts[d2] = v2;
        engine.Artifacts[d3] = v3;
        engine.Configs["rel-2.0.0"] = new ConfigResponse { Files = new Dictionary<string, string> { ["app.json"] = "{\"password\":\"hunter2\"}" }, Hash = "cfg-2" };
        var port = AgentRun.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var data = temp["agent"];
        await using var agent = await AgentRun.StartAsync(engine, data, new Dictionary<string, int> { ["web"] = port });

        // 1. First apply: every step recorded, the digest the agent computed echoed, the service serving.
        engine.SetDesired(FakeEngine.Command("web", d1, "1.0.0", "n1"));
        var r1 = await engine.ReportFor("n1");
        Assert.True(r1.Succeeded, r1.Message);
        Assert.Equal(d1, r1.ComputedDigest);
        Assert.Equal("ro-n1", r1.Rollout);
        Assert.Equal(["download", "verify", "unpack", "config", "BeforeInstall", "stop", "switch", "start", "health", "ValidateService"], r1.Steps.Select(s => s.Name));
        Assert.All(r1.Steps, s => Assert.True(s.Succeeded));
        Assert.Contains("installing 1.0.0 for web (BeforeInstall)", r1.Steps.Single(s => s.Name == "BeforeInstall").Output, StringComparison.Ordinal);
        Assert.Equal("1.0.0", await http.GetStringAsync("/index.html"));

        // 2. Second apply, with configuration: written 0600, never reported.
        engine.SetDesired(FakeEngine.Command("web", d2, "2.0.0", "n2"));
        var r2 = await engine.ReportFor("n2");
        Assert.True(r2.Succeeded, r2.Message);
        Assert.Equal("2.0.0", await http.GetStringAsync("/index.html"));
        var release2 = Path.Combine(data, "releases/web/2.0.0-" + d2[7..19]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(release2, "config/app.json")));
        Assert.DoesNotContain(r2.Steps, s => s.Output?.Contains("hunter2", StringComparison.Ordinal) == true);
        Assert.Equal(release2, new DirectoryInfo(Path.Combine(data, "releases/web/current")).ResolveLinkTarget(false)!.FullName);

        // 3. A release that never gets healthy: the failure names the step, and 2.0.0 is back and serving.
        engine.SetDesired(FakeEngine.Command("web", d3, "3.0.0", "n3"));
        var r3 = await engine.ReportFor("n3");
        Assert.False(r3.Succeeded);
        Assert.StartsWith("health failed", r3.Message, StringComparison.Ordinal);
        Assert.True(r3.Healthy);
        Assert.Contains(r3.Steps, s => s.Name == "health" && !s.Succeeded);
        Assert.Contains(r3.Steps, s => s.Name == "rollback" && s.Succeeded);
        Assert.Equal("2.0.0", await http.GetStringAsync("/index.html"));

        // 4. Revert to 1.0.0: still on disk, so no download; step "revert" and its duration reported.
        var downloads = engine.ArtifactRequests;
        engine.SetDesired(FakeEngine.Command("web", d1, "1.0.0", "n4", CommandKind.Revert));
        var r4 = await engine.ReportFor("n4");
        Assert.True(r4.Succeeded, r4.Message);
        Assert.Equal(["revert", "health"], r4.Steps.Select(s => s.Name));
        Assert.Equal(d1, r4.ComputedDigest);
        Assert.True(r4.DurationMs > 0);
        Assert.Equal(downloads, engine.ArtifactRequests);
        Assert.Equal("1.0.0", await http.GetStringAsync("/index.html"));

        // 5. Bytes that do not hash to the digest: refused before anything is unpacked or run.
        var claimed = "sha256:" + new string('a', 64);
        engine.Artifacts[claimed] = v2;
        engine.SetDesired(FakeEngine.Command("web", claimed, "4.0.0", "n5"));
        var r5 = await engine.ReportFor("n5");
        Assert.False(r5.Succeeded);
        Assert.Equal($"artifact verification failed: expected {claimed}, got {d2}", r5.Message);
        Assert.Equal(d2, r5.ComputedDigest);
        Assert.Equal(["download", "verify"], r5.Steps.Select(s => s.Name));
        Assert.False(Directory.Exists(Path.Combine(data, "releases/web/4.0.0-aaaaaaaaaaaa")));
        Assert.Equal("1.0.0", await http.GetStringAsync("/index.html"));

        // Each command was reported exactly once; metrics and facts flowed meanwhile.
        Assert.All(new[] { "n1", "n2", "n3", "n4", "n5" }, n => Assert.Single(engine.Reports, r => r.Nonce == n));
        await Wait.Until(() => engine.Metrics.Any(m => m.Service == "web" && m.Requests > 0), TimeSpan.FromSeconds(10), "metrics");
        await Wait.Until(() => !engine.Facts.IsEmpty, TimeSpan.FromSeconds(10), "facts");
    }

    [Fact]
    public async Task ARestartedAgentAdoptsTheRunningServiceInsteadOfRestartingIt()
    {
        await using var engine = new FakeEngine();
        await engine.StartAsync();
        var artifact = SampleArtifacts.Sleeper();
        var digest = TestArchives.Digest(artifact);
        engine.Artifacts[digest] = artifact;
        var data = temp["agent"];
        await using var first = await AgentRun.StartAsync(engine, data);
        engine.SetDesired(FakeEngine.Command("sleeper", digest, "1.0.0", "s1"));
        Assert.True((await engine.ReportFor("s1")).Succeeded);
        var pid = first.Supervisor.PidOf("sleeper")!.Value;
        await first.StopAgentAsync();
        Assert.True(Lifecycle.Native.IsAlive(pid)); // the agent stopping does not stop its services

        await using var second = await AgentRun.StartAsync(engine, data);
        await Wait.Until(() => second.Supervisor.PidOf("sleeper") is not null, TimeSpan.FromSeconds(10), "adoption");
        Assert.Equal(pid, second.Supervisor.PidOf("sleeper"));
        await Wait.Until(() => engine.Registrations.Count >= 2, TimeSpan.FromSeconds(10), "re-registration");
        Assert.Equal(digest, engine.Registrations.Last().Services["sleeper"].Artifact);
        await second.Supervisor.StopAsync("sleeper", CancellationToken.None);
        Assert.False(Lifecycle.Native.IsAlive(pid));
    }
}
