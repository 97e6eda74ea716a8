using System.Diagnostics;
using System.Globalization;
using System.Net;
using Azure.Data.Tables;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.Configuration;

namespace Deploy.Engine.Bench;

/// <summary>
/// The engine as separate operating-system processes: N silo processes (<c>dotnet Deploy.Engine.Silo.dll</c>, as
/// deploy/cluster.sh starts them) on loopback, in Azure mode on one Azurite, driven from this process through an Orleans
/// client connected to their gateways. The same figures with 1 process and with <see cref="Options.Processes"/>, each
/// on a fresh Azurite and cluster. On a machine with fewer cores than processes this measures the cost of spreading
/// grains over processes (more messages cross a socket and are serialized), not scale.
/// With <c>--processes-storage local</c> (<see cref="Options.ProcessesLocal"/>) the silos run in Local mode instead,
/// joined through localhost clustering, for a machine without Node (bench/device.sh): each process keeps the states of
/// the grains it hosts, which holds while no grain moves between processes (none is stopped during these figures), and
/// the figures leave out storage altogether. <c>DEPLOY_BENCH_SILO</c> names a silo executable to start instead of
/// <c>dotnet Silo/bin/Release/net10.0/Deploy.Engine.Silo.dll</c> (a self-contained publish).
/// </summary>
public sealed class ProcessScenarios(Options options, Report report)
{
    private const int AdmissionHosts = 200, Decisions = 1_000, Submitters = 250, RollbackHosts = 500;

    public async Task Run()
    {
        var sizes = new[] { 1, options.Processes };
        var admission = new Dictionary<int, Stat>();
        var rollback = new Dictionary<int, Stat>();
        foreach (var n in sizes)
        {
            Console.WriteLine($"[{n} silo process(es), {Mode}]");
            await using var azurite = options.ProcessesLocal ? null : await AzuriteProcess.StartAsync();
            var clusterId = "bench-proc-" + Guid.NewGuid().ToString("n")[..8];
            var silos = new List<SiloProcess>();
            for (var i = 1; i <= n; i++)
            {
                // In Local mode every silo after the first joins the first through its silo port.
                silos.Add(new SiloProcess(azurite?.ConnectionString, clusterId, $"silo-{i}", i == 1 ? 0 : silos[0].SiloPort));
            }

            try
            {
                // One at a time: the first creates the membership table (or is the primary silo), the others join it.
                foreach (var silo in silos)
                {
                    silo.Start();
                    await silo.WaitReady(TimeSpan.FromMinutes(3));
                }

                using var host = await Client(azurite?.ConnectionString, clusterId, silos.Select(s => s.GatewayPort).ToArray());
                var grains = host.Services.GetRequiredService<IClusterClient>();
                admission[n] = await Admission(grains, n);
                rollback[n] = await Rollback(grains, n);
            }
            finally
            {
                // Silos before Azurite, or their shutdown hangs on the membership table.
                await Task.WhenAll(silos.Select(s => s.Stop()));
            }
        }

        var many = options.Processes;
        var cores = Environment.ProcessorCount;
        var few = cores < 2 * many;
        var target = few ? $"reported (overhead, not scale, on {cores} cores)" : $"reported ({cores} cores)";
        var why = few
            ? $"Reported, no target: on this {cores}-core machine the processes share the same cores with {(options.ProcessesLocal ? "each other" : "Azurite")} and the bench, so this measures the overhead of spreading grains over processes (calls between grains cross a socket and are serialized), not scale."
            : $"Reported, no target: {cores} cores for {many} silo processes and the bench; calls between grains on different processes cross a socket and are serialized{(options.ProcessesLocal ? "; Local mode, so no storage in either figure" : ", and every process writes to the one Azurite (one Node process)")}.";
        report.Add(new Comparison($"admission decisions, {many} silo processes vs 1 ({Submitters} concurrent submitters through the Orleans client; request + release; {AdmissionHosts:N0} hosts; {Mode})",
            admission[many], "1 silo process", admission[1], HigherIsBetter: true, 0, target, why) { HasTarget = false });
        report.Add(new Comparison($"rollback time-to-safe, {RollbackHosts:N0} hosts, {many} silo processes vs 1 ({Mode})",
            rollback[many], "1 silo process", rollback[1], HigherIsBetter: false, 0, target, why) { HasTarget = false });
    }

    private string Mode => options.ProcessesLocal ? "Local mode" : "Azure mode";

    private async Task<Stat> Admission(IGrainFactory grains, int processes)
    {
        var name = $"proc-admission-{processes}";
        await Scenarios.CreateFleet(grains, name, AdmissionHosts, chunk: 200);
        var env = grains.GetGrain<IEnvironmentGrain>(name);
        await env.Configure(new EnvironmentSpec { ConcurrencyLimit = 50 });
        var stat = await Measure.Repeat("decisions/s", Math.Min(1, options.Warmup), Math.Min(2, options.Repetitions), settle: false, sample: r => Measure.Throughput(Decisions / 2, Submitters, async i =>
        {
            var id = $"rel-proc{r + 10}{i}.{name}";
            await env.RequestSlot(id, "svc-" + (i % 100));
            await env.ReleaseSlot(id);
        }).ContinueWith(t => t.Result * 2, TaskScheduler.Default));
        report.Figure($"admission decisions, {processes} silo process(es), {Mode}", stat);
        return stat;
    }

    private async Task<Stat> Rollback(IGrainFactory grains, int processes)
    {
        var env = $"proc-rollback-{processes}";
        await Scenarios.CreateFleet(grains, env, RollbackHosts, chunk: 200);
        var safe = new List<double>();
        for (var r = -Math.Min(1, options.Warmup); r < Math.Min(2, options.Repetitions); r++)
        {
            var rolloutId = await Scenarios.StartRollout(grains, env, new RolloutStrategySpec { Preset = "AllAtOnce" }, $"{900 + processes}{r + 10}");
            var done = await Scenarios.WaitTerminal(grains, rolloutId, TimeSpan.FromMinutes(20));
            if (done.Status != RolloutStatus.Succeeded) throw new InvalidOperationException($"rollout ended {done.Status}: {done.StatusReason}");
            var stopwatch = Stopwatch.StartNew();
            var result = await grains.GetGrain<IRolloutGrain>(rolloutId).Rollback(new OperatorAction { Actor = "bench", Reason = "time-to-safe" });
            if (!result.Ok) throw new InvalidOperationException(result.Detail);
            var final = await Scenarios.WaitTerminal(grains, rolloutId, TimeSpan.FromMinutes(20), poll: TimeSpan.FromMilliseconds(5));
            if (final.Status != RolloutStatus.RolledBack || final.Hosts.RolledBack != RollbackHosts)
                throw new InvalidOperationException($"rollback ended {final.Status}: {final.StatusReason}");
            if (r >= 0) safe.Add(stopwatch.Elapsed.TotalSeconds);
        }

        var stat = new Stat("s", safe);
        report.Figure($"rollback time-to-safe, {RollbackHosts:N0} hosts, {processes} silo process(es), {Mode}", stat);
        return stat;
    }

    private static async Task<IHost> Client(string? connectionString, string clusterId, int[] gateways)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = clusterId;
            });
            if (connectionString is null)
            {
                client.UseLocalhostClustering(gateways, clusterId, clusterId);
            }
            else
            {
                client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connectionString));
            }

            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>
    /// One silo process serving the API, on free loopback ports, configured as deploy/cluster.sh configures one: in Azure
    /// mode on <paramref name="connectionString"/>, in Local mode (null) joining the silo on <paramref name="primarySiloPort"/>
    /// (0: this one is the first).
    /// </summary>
    private sealed class SiloProcess(string? connectionString, string clusterId, string name, int primarySiloPort)
    {
        private readonly int _api = EngineApp.FreePort();
        private readonly System.Text.StringBuilder _output = new();
        private Process? _process;

        public int SiloPort { get; } = EngineApp.FreePort();

        public int GatewayPort { get; } = EngineApp.FreePort();

        public void Start()
        {
            var published = Environment.GetEnvironmentVariable("DEPLOY_BENCH_SILO");
            var binaries = published is { Length: > 0 } ? Path.GetDirectoryName(Path.GetFullPath(published))! : Path.Combine(RepoPaths.Root, "Silo", "bin", "Release", "net10.0");
            var info = new ProcessStartInfo(published is { Length: > 0 } ? Path.GetFullPath(published) : "dotnet")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = binaries,
            };
            if (published is not { Length: > 0 })
            {
                info.ArgumentList.Add(Path.Combine(binaries, "Deploy.Engine.Silo.dll"));
            }

            foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.Contains("__", StringComparison.Ordinal)).ToList())
            {
                info.Environment.Remove(key);
            }

            var settings = new Dictionary<string, string>
            {
                ["DOTNET_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{_api}",
                ["Engine__Role"] = "Silo",
                ["Engine__StorageMode"] = connectionString is null ? "Local" : "Azure",
                ["Audit__Key"] = "bench-audit-key-0123456789abcdef-0123456789",
                ["Secrets__KeyRingKey"] = "bench-keyring-key-0123456789abcdef-0123456789",
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__ServiceId"] = clusterId,
                ["Orleans__SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture),
                ["Auth__Keys__0__Name"] = "bench",
                ["Auth__Keys__0__Key"] = EngineApp.Key,
                ["Auth__Keys__0__Roles"] = "pipeline,operator,viewer",
                ["Logging__LogLevel__Default"] = "Warning",
                // A shared 2-core machine under a load of 30+ answers some storage calls late: 10 s rather than 3 s before
                // a call counts as failed (the same bound for 1 and for N processes).
                ["Storage__NetworkTimeout"] = "00:00:10",
            };
            if (connectionString is null)
            {
                settings["Orleans__PrimarySiloPort"] = primarySiloPort.ToString(CultureInfo.InvariantCulture);
            }
            else
            {
                settings["Storage__ConnectionString"] = connectionString;
            }

            foreach (var (key, value) in settings)
            {
                info.Environment[key] = value;
            }

            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
        }

        public async Task WaitReady(TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (_process is not { HasExited: false }) throw new InvalidOperationException($"{name} exited before it was ready:\n{Output()}");
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{_api}/readyz"));
                    if (response.StatusCode == HttpStatusCode.OK) return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet.
                }

                await Task.Delay(250);
            }

            throw new TimeoutException($"{name} not ready within {timeout}:\n{Output()}");
        }

        /// <summary>SIGTERM (a graceful shutdown), SIGKILL after a minute.</summary>
        public async Task Stop()
        {
            if (_process is not { HasExited: false } p) return;
            using (var term = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await p.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
            }

            p.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_output)
            {
                if (_output.Length > 20_000) _output.Remove(0, 10_000);
                _output.AppendLine(line);
            }
        }

        private string Output()
        {
            lock (_output) return _output.ToString();
        }
    }
}
