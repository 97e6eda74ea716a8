using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// The engine as a real operating-system process (<c>dotnet Deploy.Engine.Silo.dll</c>, as deploy/cluster.sh and the
/// systemd units start it), in Azure mode against a real Azurite, on free loopback ports: a silo serving the API
/// (<c>Engine:Role=Silo</c>) or an API-only node (<c>Engine:Role=Api</c>) connected through the silos' gateways.
/// Processes built from the same <see cref="Cluster"/> form one cluster. <see cref="Kill"/> is kill -9;
/// <see cref="StopAsync"/> is SIGTERM, a graceful shutdown.
/// </summary>
public sealed class EngineProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Dictionary<string, string> _settings;
    private Process? _process;

    private EngineProcess(string name, Dictionary<string, string> settings, int apiPort)
    {
        Name = name;
        _settings = settings;
        ApiPort = apiPort;
    }

    public string Name { get; }

    public int ApiPort { get; }

    public Uri Url => new($"http://127.0.0.1:{ApiPort}");

    /// <summary>The silo port (0 for an API-only node): the port in the silo's address in Orleans' membership.</summary>
    public int SiloPort => int.Parse(_settings.GetValueOrDefault("Orleans__SiloPort", "0"), System.Globalization.CultureInfo.InvariantCulture);

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public bool HasExited => _process?.HasExited ?? true;

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return _output.Length > 8000 ? _output.ToString(_output.Length - 8000, 8000) : _output.ToString();
            }
        }
    }

    /// <summary>The shared settings of one cluster: storage, ids, keys, fast failure detection.</summary>
    public sealed record Cluster(string ConnectionString, string ClusterId)
    {
        /// <summary>More configuration for every process (budgets, limits), as Section:Key = value.</summary>
        public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

        /// <summary>Where the engine runs from: the Silo project's build output, unless a test gives another copy of it.</summary>
        public string Binaries { get; init; } = Path.Combine(RepoPaths.Root, "Silo", "bin", RepoPaths.Configuration, "net10.0");

        public static Cluster For(AzuriteProcess azurite) => new(azurite.ConnectionString, "proc-" + Guid.NewGuid().ToString("n")[..8]);
    }

    /// <summary>A silo process with its own silo, gateway and API ports (started by <see cref="Start"/>).</summary>
    public static EngineProcess Silo(Cluster cluster, string name, string? binaries = null) =>
        Create(cluster, name, "Silo", EngineHost.FreePort(), EngineHost.FreePort(), binaries);

    /// <summary>An API-only node: an Orleans client of the cluster, serving the HTTP API.</summary>
    public static EngineProcess ApiNode(Cluster cluster, string name) => Create(cluster, name, "Api", null, null, null);

    private static EngineProcess Create(Cluster cluster, string name, string role, int? siloPort, int? gatewayPort, string? binaries)
    {
        var api = EngineHost.FreePort();
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_NOLOGO"] = "1",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{api}",
            ["Engine__Role"] = role,
            ["Engine__StorageMode"] = "Azure",
            ["Engine__Rollouts__ReconcileInterval"] = "00:00:01",
            ["Engine__ShutdownTimeout"] = "00:00:45",
            ["Storage__ConnectionString"] = cluster.ConnectionString,
            ["Audit__Key"] = EngineHost.AuditKey,
            ["Secrets__KeyRingKey"] = EngineHost.KeyRingKey,
            ["Orleans__ClusterId"] = cluster.ClusterId,
            ["Orleans__ServiceId"] = cluster.ClusterId,
            // A killed silo is declared dead within seconds rather than the production default of about half a minute
            // (probes not much shorter: on a loaded 2-core machine a live silo can take a second to answer).
            ["Orleans__Membership__ProbeTimeout"] = "00:00:02",
            ["Orleans__Membership__NumMissedProbesLimit"] = "3",
            ["Orleans__Membership__NumVotesForDeathDeclaration"] = "1",
            ["Orleans__Membership__TableRefreshTimeout"] = "00:00:02",
            ["Orleans__Membership__IAmAliveTablePublishTimeout"] = "00:00:02",
            ["Orleans__Gateway__GatewayListRefreshPeriod"] = "00:00:02",
            ["Auth__Keys__0__Name"] = "integration",
            ["Auth__Keys__0__Key"] = EngineHost.Key,
            ["Auth__Keys__0__Roles"] = "pipeline,operator,viewer",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        if (siloPort is { } silo) settings["Orleans__SiloPort"] = silo.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (gatewayPort is { } gateway) settings["Orleans__GatewayPort"] = gateway.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["ENGINE_BINARIES"] = binaries ?? cluster.Binaries;
        foreach (var (key, value) in cluster.Extra)
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return new EngineProcess(name, settings, api);
    }

    /// <summary>Starts the process (again, after a stop or a kill: the same ports and configuration, the same silo to the cluster's eyes but a new generation).</summary>
    public void Start()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException($"{Name} is running");
        var binaries = _settings["ENGINE_BINARIES"];
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = binaries,
        };
        info.ArgumentList.Add(Path.Combine(binaries, "Deploy.Engine.Silo.dll"));

        // Only what the test sets: no engine setting leaks in from the environment of the test run.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.Contains("__", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in _settings.Where(s => s.Key != "ENGINE_BINARIES"))
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        Append($"--- start {Name} ({_settings["Engine__Role"]}) from {binaries}");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>Waits until <c>/readyz</c> answers 200: the API listens and storage answers through a grain call.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (DateTime.UtcNow < deadline)
        {
            if (HasExited)
            {
                Assert.Fail($"{Name} exited ({ExitCode}) before it was ready:\n{RecentOutput}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Url, "/readyz"));
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        Assert.Fail($"{Name} not ready within {timeout ?? TimeSpan.FromSeconds(120)}:\n{RecentOutput}");
    }

    /// <summary>An HTTP client on this process's API with the test's key.</summary>
    public HttpClient Client()
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", EngineHost.Key);
        return client;
    }

    /// <summary>kill -9: no shutdown, no goodbye to the membership table; the others must notice.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM and wait for the exit: a graceful shutdown hands grains and reminders over and leaves the membership table.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process is not { HasExited: false } p) return;
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            Assert.Fail($"{Name} did not stop within {timeout ?? TimeSpan.FromSeconds(60)} of SIGTERM:\n{RecentOutput}");
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
