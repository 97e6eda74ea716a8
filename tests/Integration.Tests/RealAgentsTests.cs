using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// Real host agents (three processes) deploy the real sample service through the engine on Azurite. Every outcome is
/// checked by calling the deployed service over HTTP on each host, not only through the engine's state.
/// </summary>
public sealed class RealAgentsTests : IAsyncLifetime
{
    private const string AgentKey = "agents-key";
    private const int Agents = 3;

    private static readonly string[] Environments = ["agents-a", "agents-b", "agents-c", "agents-d", "agents-e", "agents-f", "agents-g"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "deploy-engine-agents-" + Guid.NewGuid().ToString("n")[..8]);
    private readonly List<AgentProcess> _agents = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private AzuriteProcess _azurite = null!;
    private EngineHost.Settings _settings = null!;
    private EngineHost _engine = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _azurite = await AzuriteProcess.StartAsync();
        _settings = EngineHost.Settings.For(_azurite) with
        {
            HttpPort = EngineHost.FreePort(),
            Extra = new Dictionary<string, string>
            {
                ["Auth:Keys:1:Name"] = "agents",
                ["Auth:Keys:1:Key"] = AgentKey,
                ["Auth:Keys:1:Roles"] = "agent",
                ["Auth:Keys:1:Environments"] = string.Join(',', Environments),
            },
        };
        _engine = new EngineHost(_settings);
        _api = _engine.Client();
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        await _engine.DisposeAsync();
        await _azurite.DisposeAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_release_deploys_to_every_host_and_one_failing_ValidateService_rolls_back_to_the_previous_version_everywhere()
    {
        var env = await Fleet("agents-a");
        await Deploy(env, "1.0.0");
        await Deploy(env, "2.0.0");
        await AssertServing("sample", "2.0.0");

        var bad = await Release("sample", "3.0.0", "fail-validate");
        var rollout = await StartRollout(bad, env, new { preset = "OneAtATime" });
        var done = await WaitTerminal(rollout);
        Assert.Equal("RolledBack", (string?)done["status"]);
        await AssertServing("sample", "2.0.0");

        // The failing host says which step failed, with its exit code and output.
        var failed = (string)done["failures"]!.AsObject().Single().Key;
        var host = await _api.GetAsync($"/v1/hosts/{failed}").Expect(HttpStatusCode.OK);
        var steps = host["services"]!["sample"]!["lastSteps"]!.AsArray();
        var validate = steps.Single(s => (string?)s!["name"] == "ValidateService")!;
        Assert.False((bool)validate["succeeded"]!);
        Assert.NotEqual(0, (int?)validate["exitCode"]);
        Assert.Equal("2.0.0", (string?)host["services"]!["sample"]!["currentVersion"]);
        Assert.Equal("2.0.0", (string?)(await _api.GetAsync($"/v1/environments/{env}").Expect(HttpStatusCode.OK))["services"]!["sample"]!["version"]);
    }

    [Fact]
    public async Task A_tampered_artifact_and_hostile_archives_never_run_and_the_hosts_keep_serving()
    {
        // The agents reach the engine through a man in the middle that alters one artifact's bytes in transit.
        await using var proxy = new TamperingProxy(_engine.Url);
        var env = await Fleet("agents-b", via: proxy.Url);
        await Deploy(env, "1.0.0");

        var (digest, path) = await SampleArtifacts.Package("6.6.6", "ok", Path.Combine(_root, "tampered"));
        await Upload(path, digest);
        proxy.TamperWith = digest;
        var tampered = await ReleaseOf("sample", "6.6.6", digest);
        var done = await WaitTerminal(await StartRollout(tampered, env, new { preset = "AllAtOnce" }));
        Assert.NotEqual("Succeeded", (string?)done["status"]);
        Assert.All(done["failures"]!.AsObject(), f => Assert.StartsWith($"artifact verification failed: expected {digest}, got sha256:", (string?)f.Value, StringComparison.Ordinal));
        await AssertServing("sample", "1.0.0");
        Assert.All(_agents, a => Assert.Empty(ReleaseDirs(a, "sample", "6.6.6")));

        // Archives that escape their directory or expand past the limit are refused before anything runs.
        var bad = Path.Combine(_root, "bad");
        await SampleArtifacts.BadArchives(bad);
        foreach (var (name, version) in new[] { ("traversal.tar.gz", "7.0.1"), ("symlink-out.tar.gz", "7.0.2"), ("bomb.tar.gz", "7.0.3") })
        {
            var archive = Path.Combine(bad, name);
            var hostile = SampleArtifacts.DigestOf(archive);
            await Upload(archive, hostile);
            var result = await WaitTerminal(await StartRollout(await ReleaseOf("sample", version, hostile), env, new { preset = "AllAtOnce" }));
            Assert.NotEqual("Succeeded", (string?)result["status"]);
            Assert.NotEmpty(result["failures"]!.AsObject());
            await AssertServing("sample", "1.0.0");
            Assert.All(_agents, a => Assert.Empty(ReleaseDirs(a, "sample", version)));
        }

        Assert.False(File.Exists("/tmp/deploy-engine-symlink-escape.txt"));
        Assert.All(_agents, a => Assert.False(File.Exists(Path.Combine(a.Directory, "escape.txt"))));
        Assert.All(_agents, a => Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(a.Directory)!, "escape.txt"))));
    }

    [Fact]
    public async Task An_agent_killed_mid_apply_finishes_after_a_restart_and_installs_once()
    {
        var env = await Fleet("agents-c");
        await Deploy(env, "1.0.0");

        var slow = await Release("sample", "2.0.0", "ok", installDelaySeconds: 6);
        var rollout = await StartRollout(slow, env, new { preset = "AllAtOnce" });
        var victim = _agents[0];
        await WaitUntil(() => InstallLog(victim, "2.0.0").Contains("started 2.0.0", StringComparison.Ordinal), "the victim's AfterInstall to start");
        victim.Kill();
        await Task.Delay(1000);
        victim.Start();

        var done = await WaitTerminal(rollout, TimeSpan.FromMinutes(3));
        Assert.Equal("Succeeded", (string?)done["status"]);
        await AssertServing("sample", "2.0.0");
        // The others installed once. The victim re-ran the step it was killed in (the orphaned hook may finish too), and
        // nothing after it twice: never a third run.
        foreach (var agent in _agents.Skip(1))
        {
            Assert.Equal(1, CountLines(InstallLog(agent, "2.0.0"), "finished 2.0.0"));
        }

        Assert.Equal(2, CountLines(InstallLog(victim, "2.0.0"), "started 2.0.0"));
        Assert.InRange(CountLines(InstallLog(victim, "2.0.0"), "finished 2.0.0"), 1, 2);
    }

    [Fact]
    public async Task The_engine_restarted_while_agents_apply_finishes_the_rollout_and_no_host_installs_twice()
    {
        var env = await Fleet("agents-d");
        await Deploy(env, "1.0.0");

        var slow = await Release("sample", "2.0.0", "ok", installDelaySeconds: 5);
        var rollout = await StartRollout(slow, env, new { preset = "AllAtOnce" });
        await WaitUntil(() => _agents.All(a => InstallLog(a, "2.0.0").Contains("started 2.0.0", StringComparison.Ordinal)), "every AfterInstall to start");

        await _engine.DisposeAsync();
        await Task.Delay(3000);
        _engine = new EngineHost(_settings);
        _api = _engine.Client();

        var done = await WaitTerminal(rollout, TimeSpan.FromMinutes(3));
        Assert.Equal("Succeeded", (string?)done["status"]);
        await AssertServing("sample", "2.0.0");
        Assert.All(_agents, a => Assert.Equal(1, CountLines(InstallLog(a, "2.0.0"), "started 2.0.0")));
    }

    [Fact]
    public async Task Two_services_rolled_out_on_the_same_hosts_at_once_both_serve_their_new_versions_and_a_rollback_of_one_leaves_the_other()
    {
        var env = await Fleet("agents-e", inventory: true);
        await Deploy(env, "1.0.0");
        await Deploy(env, "5.0.0", service: "inventory");

        var sample = await StartRollout(await Release("sample", "2.0.0", "ok"), env, new { preset = "OneAtATime" });
        var inventory = await StartRollout(await Release("inventory", "6.0.0", "ok"), env, new { preset = "HalfAtATime" });
        Assert.Equal("Succeeded", (string?)(await WaitTerminal(sample))["status"]);
        Assert.Equal("Succeeded", (string?)(await WaitTerminal(inventory))["status"]);
        await AssertServing("sample", "2.0.0");
        await AssertServing("inventory", "6.0.0");

        await _api.PostJson($"/v1/rollouts/{sample}/rollback", new { reason = "drill" }).Expect(HttpStatusCode.OK);
        await _api.WaitFor($"/v1/rollouts/{sample}", r => (string?)r["status"] == "RolledBack", TimeSpan.FromMinutes(2));
        await AssertServing("sample", "1.0.0");
        await AssertServing("inventory", "6.0.0");
        var services = (await _api.GetAsync($"/v1/environments/{env}").Expect(HttpStatusCode.OK))["services"]!;
        Assert.Equal("6.0.0", (string?)services["inventory"]!["version"]);
    }

    [Fact]
    public async Task A_canary_with_a_high_real_error_rate_is_rolled_back_by_its_trigger()
    {
        var env = await Fleet("agents-f");
        await Deploy(env, "1.0.0");

        var noisy = await Release("sample", "2.0.0", "errors");
        var rollout = await StartRollout(noisy, env, new
        {
            type = "canary",
            steps = new object[] { new { setWeight = 34 }, new { analysis = new { durationSeconds = 20 } } },
            rollbackTriggers = new object[] { new { metric = "errorRatePercent", threshold = 5 } },
        });
        var done = await WaitTerminal(rollout, TimeSpan.FromMinutes(2));
        Assert.Equal("RolledBack", (string?)done["status"]);
        Assert.Contains("errorRatePercent", (string?)done["statusReason"], StringComparison.Ordinal);
        await AssertServing("sample", "1.0.0");
    }

    private async Task<string> Fleet(string env, bool inventory = false, Uri? via = null)
    {
        await _api.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        for (var i = 0; i < Agents; i++)
        {
            var ports = new Dictionary<string, int> { ["sample"] = EngineHost.FreePort() };
            if (inventory)
            {
                ports["inventory"] = EngineHost.FreePort();
            }

            var agent = AgentProcess.Create(via ?? _engine.Url, AgentKey, env, $"{env}-host-{i + 1}", _root, ports,
                new Dictionary<string, string> { ["region"] = i % 2 == 0 ? "eu-west" : "us-east" }, maxUnpackedBytes: 32L * 1024 * 1024);
            _agents.Add(agent);
            agent.Start();
        }

        await WaitUntil(async () => (int)(await _api.GetAsync($"/v1/hosts?environment={env}").Expect(HttpStatusCode.OK))["total"]! == Agents,
            "every agent to register");
        return env;
    }

    private async Task Deploy(string env, string version, string service = "sample")
    {
        var rollout = await StartRollout(await Release(service, version, "ok"), env, new { preset = "AllAtOnce" });
        var done = await WaitTerminal(rollout, TimeSpan.FromMinutes(2));
        Assert.True((string?)done["status"] == "Succeeded", done.ToJsonString() + Logs());
        await AssertServing(service, version);
    }

    private async Task<string> Release(string service, string version, string mode, int? installDelaySeconds = null)
    {
        var (digest, path) = await SampleArtifacts.Package(version, mode, Path.Combine(_root, "artifacts", $"{mode}-{installDelaySeconds}"),
            installDelaySeconds is { } delay ? new Dictionary<string, string> { ["SAMPLE_INSTALL_DELAY_SECONDS"] = delay.ToString(System.Globalization.CultureInfo.InvariantCulture) } : null);
        await Upload(path, digest);
        return await ReleaseOf(service, version, digest);
    }

    private async Task Upload(string path, string digest)
    {
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(path));
        var response = await _api.PutAsync($"/v1/artifacts/{digest}", content);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> ReleaseOf(string service, string version, string digest) =>
        (string)(await _api.PostJson("/v1/releases", new { service, version, artifact = digest, commit = "0a1b2c3" }).Expect(HttpStatusCode.Created))["id"]!;

    private async Task<string> StartRollout(string release, string env, object strategy) =>
        (string)(await _api.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy }).Expect(HttpStatusCode.Created))["id"]!;

    private async Task<JsonNode> WaitTerminal(string rollout, TimeSpan? timeout = null)
    {
        try
        {
            return await _api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] is "Succeeded" or "RolledBack" or "Failed" or "Aborted",
                timeout ?? TimeSpan.FromMinutes(2));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException(e.Message + Logs(), e);
        }
    }

    /// <summary>Every agent of this test's environment serves <paramref name="version"/> of the service, asked over HTTP.</summary>
    private async Task AssertServing(string service, string version)
    {
        foreach (var agent in _agents.Where(a => a.Ports.ContainsKey(service) && !a.HasExited))
        {
            var served = await _http.GetStringAsync($"http://127.0.0.1:{agent.Ports[service]}/version");
            Assert.True((string?)JsonNode.Parse(served)!["version"] == version, $"{agent.HostId} serves {served} for {service}, expected {version}{Logs()}");
        }
    }

    private static IEnumerable<string> ReleaseDirs(AgentProcess agent, string service, string version)
    {
        var dir = Path.Combine(agent.Directory, "releases", service);
        return Directory.Exists(dir) ? Directory.EnumerateDirectories(dir, version + "-*") : [];
    }

    private static string InstallLog(AgentProcess agent, string version)
    {
        var dir = Path.Combine(agent.Directory, "releases", "sample");
        if (!Directory.Exists(dir))
        {
            return string.Empty;
        }

        return string.Concat(Directory.EnumerateDirectories(dir, version + "-*")
            .Select(d => Path.Combine(d, "markers", "after-install.log"))
            .Where(File.Exists)
            .Select(File.ReadAllText));
    }

    private static int CountLines(string text, string line) =>
        text.Split('\n').Count(l => string.Equals(l.Trim(), line, StringComparison.Ordinal));

    private static async Task WaitUntil(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        await WaitUntil(() => Task.FromResult(condition()), what, timeout);

    private static async Task WaitUntil(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"timed out waiting for {what}");
    }

    private string Logs() => string.Concat(_agents.Select(a => $"\n--- {a.HostId}{(a.HasExited ? " (exited)" : string.Empty)}:\n{a.RecentOutput}"));
}
