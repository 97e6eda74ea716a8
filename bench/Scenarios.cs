using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Bench;

/// <summary>The measurements. Each method measures an engine figure and its baseline in the same run.</summary>
public sealed class Scenarios(Options options, Report report)
{

    private int _sequence;

    public static string Digest(string seed) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed))).ToLowerInvariant();

    /// <summary>
    /// Raw no-op grain calls/s: the ceiling any grain-driven figure is compared with. References are built the way the
    /// engine builds them (<see cref="GrainRefs.Ref{T}"/>), so neither side pays Orleans' per-call interface lookup.
    /// </summary>
    public async Task<Stat> RawCalls(IGrainFactory grains, string label)
    {
        const int count = 100_000, concurrency = 256;
        var stat = await Measure.Repeat("calls/s", options.Warmup, options.Repetitions, _ =>
            Measure.Throughput(count, concurrency, i => grains.Ref<INoOpGrain>("call-" + (i % 1000)).Ping()));
        report.Figure($"raw no-op grain calls ({label}, {concurrency} concurrent)", stat);
        return stat;
    }

    /// <summary>
    /// Grains per second that take a call and persist one small state, fanned out from one grain to <paramref name="count"/>
    /// of them: the floor of any design where every host persists its own change (the engine's hosts do).
    /// </summary>
    private static Func<int, Task<double>> PersistedFanOut(IGrainFactory grains, int count)
    {
        var fanout = grains.GetGrain<INoOpGrain>("persisted-rate-" + count);
        var prefix = $"rate-{count}-";
        return async _ => count / await Measure.Seconds(() => fanout.FanOutPersisted(prefix, count));
    }

    /// <summary>As <see cref="PersistedFanOut"/>, each grain writing in its own turn (<see cref="Deploy.Engine.Grains.TurnState{T}"/>), as the hosts write.</summary>
    public async Task<Stat> PersistedInTurnFanOut(IGrainFactory grains, int count)
    {
        var fanout = grains.GetGrain<INoOpGrain>("persisted-in-turn-rate-" + count);
        var prefix = $"turn-rate-{count}-";
        return await Measure.Repeat("grains/s", options.Warmup, options.Repetitions,
            async _ => count / await Measure.Seconds(() => fanout.FanOutPersistedInTurn(prefix, count)));
    }

    /// <summary>
    /// The local rolling figure against its floor (<see cref="PersistedFanOut"/>), one rollout and one fan-out per
    /// repetition in turn (<see cref="Measure.Interleaved"/>): both figures and each repetition's ratio.
    /// </summary>
    public async Task<(Stat Engine, Stat Floor, Stat Ratios)> HostTransitionsAgainstFloor(IGrainFactory grains, int hosts)
    {
        var rollout = await HostTransitionsRun(grains, hosts, "local");
        return await Measure.Interleaved("host updates/s", "grains/s", options.Warmup, options.Repetitions, rollout, PersistedFanOut(grains, hosts));
    }

    /// <summary>
    /// Creates the fleet; each call of the result runs one rolling rollout over it (maxUnavailable 10 %, no surge: a tenth
    /// of the hosts at a time, zero simulated latency) and gives its host updates per second.
    /// </summary>
    private async Task<Func<int, Task<double>>> HostTransitionsRun(IGrainFactory grains, int hosts, string label)
    {
        var env = $"transitions-{label}-{hosts}";
        await CreateFleet(grains, env, hosts, label == "azure" ? 500 : 5000);
        return async _ =>
        {
            var seconds = await Measure.Seconds(async () =>
            {
                var rollout = await StartRollout(grains, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "10%" });
                // Polled every millisecond, as the rollback's end is: at the default 20 ms a 10,000-host rollout of about 130 ms
                // could be counted up to 20 ms late. (Alternating 15-repetition runs did not resolve the difference: the
                // per-repetition ratio moved between 0.34× and 0.65× whichever the interval.)
                var done = await WaitTerminal(grains, rollout, TimeSpan.FromMinutes(20), poll: TimeSpan.FromMilliseconds(1));
                if (done.Status != RolloutStatus.Succeeded || done.Hosts.Updated != hosts)
                    throw new InvalidOperationException($"rollout ended {done.Status}: {done.StatusReason}");
            });
            return hosts / seconds;
        };
    }

    /// <summary>
    /// Rollback time-to-safe: from the operator's rollback call (the decision) to every host having persisted its
    /// revert and reported it (zero simulated latency, so acknowledged = done), against the same-run floor: a fan-out
    /// from one grain to as many grains, each persisting one small state (in Azure mode, one table entity each). A raw
    /// fan-out and the call's own return (decision persisted, commands sent one-way) are reported beside it.
    /// </summary>
    public async Task RollbackTimeToSafe(IGrainFactory grains, int hosts, string label, string? note)
    {
        var env = $"rollback-{label}-{hosts}";
        await CreateFleet(grains, env, hosts, label == "Azurite" ? 500 : 5000);
        var fanout = grains.GetGrain<INoOpGrain>($"fanout-{label}-{hosts}");
        var prefix = $"fan-{label}-{hosts}-";
        var azure = label == "Azurite";
        var big = hosts >= (azure ? 10_000 : 100_000);
        await fanout.FanOut(prefix, hosts); // activate the targets, as the hosts are active
        await fanout.FanOutPersisted(prefix, hosts); // and their states exist, as the hosts' do
        var baselineWarmup = big ? 0 : options.Warmup;
        var baselineReps = azure ? Math.Min(big ? 1 : 3, options.Repetitions) : options.Repetitions;
        var raw = await Measure.Repeat("s", baselineWarmup, options.Repetitions, _ => Measure.Seconds(() => fanout.FanOut(prefix, hosts)));
        Func<int, Task<double>> floor = _ => Measure.Seconds(() => fanout.FanOutPersisted(prefix, hosts));

        var decided = new List<double>();
        var repetitions = big ? Math.Min(azure ? 1 : 2, options.Repetitions) : azure ? Math.Min(3, options.Repetitions) : options.Repetitions;
        var warmup = big ? 0 : azure ? Math.Min(1, options.Warmup) : options.Warmup;
        async Task<double> TimeToSafe(int r)
        {
            var (call, toSafe) = await RollOutAndBack(grains, env, hosts);
            if (r >= 0) decided.Add(call);
            return toSafe;
        }

        Stat safe, persisted;
        Stat? ratios = null;
        if (big)
        {
            // A run of the largest sizes takes minutes: the floor gets its repetitions, the rollback as many as it can afford.
            persisted = await Measure.Repeat("s", baselineWarmup, baselineReps, floor);
            safe = await Measure.Repeat("s", warmup, repetitions, TimeToSafe);
        }
        else
        {
            (safe, persisted, ratios) = await Measure.Interleaved("s", "s", warmup, repetitions, TimeToSafe, floor);
        }

        var where = azure ? "Azure mode on Azurite" : "Local storage";
        var write = azure ? "one table entity per grain" : "one write per grain";
        report.Add(new Comparison($"rollback time-to-safe, {hosts:N0} hosts ({where}; decision → every host reverted and acknowledged)",
            safe, $"fan-out to {hosts:N0} grains + {write}", persisted, HigherIsBetter: false, 1.5, "≤ 1.5×", note));
        if (ratios is not null)
        {
            report.Figure($"rollback time-to-safe ÷ floor, {hosts:N0} hosts ({where}), per interleaved repetition (ratio; max is the worst repetition)", ratios);
        }

        report.Figure($"raw fan-out to {hosts:N0} grains, no write ({where})", raw);
        report.Figure($"rollback call returns ({where}; decision persisted, {hosts:N0} revert commands sent one-way)", new Stat("s", decided));

        // Last, so that a failure here (a write Azurite answers past the storage timeout) loses no figure above.
        // The floor's grains write through Orleans' storage bridge, which yields before every write; the hosts write in
        // their own turn (TurnState). The same fan-out written as the hosts write is the stricter floor.
        await fanout.FanOutPersistedInTurn(prefix, hosts);
        var inTurn = await Measure.Repeat("s", baselineWarmup, baselineReps, _ => Measure.Seconds(() => fanout.FanOutPersistedInTurn(prefix, hosts)));
        report.Add(new Comparison($"rollback time-to-safe, {hosts:N0} hosts ({where}), against the floor written as the hosts write",
            safe, $"fan-out to {hosts:N0} grains + {write}, each in the grain's own turn", inTurn, HigherIsBetter: false, 1.5, "≤ 1.5×",
            "The floor above writes through Orleans' [PersistentState] bridge, which yields before every write; the engine's hosts write in their own turn (TurnState), and so does this floor."));
    }

    /// <summary>
    /// One all-at-once rollout to every host, then the operator's rollback: seconds until the rollback call returned
    /// (decision persisted, commands sent) and until every host had reverted and reported.
    /// </summary>
    private async Task<(double Call, double Safe)> RollOutAndBack(IGrainFactory grains, string env, int hosts)
    {
        var rolloutId = await StartRollout(grains, env, new RolloutStrategySpec { Preset = "AllAtOnce" });
        var done = await WaitTerminal(grains, rolloutId, TimeSpan.FromMinutes(20));
        if (done.Status != RolloutStatus.Succeeded) throw new InvalidOperationException($"rollout ended {done.Status}: {done.StatusReason}");

        var stopwatch = Stopwatch.StartNew();
        var result = await grains.GetGrain<IRolloutGrain>(rolloutId).Rollback(new OperatorAction { Actor = "bench", Reason = "time-to-safe" });
        var call = stopwatch.Elapsed.TotalSeconds;
        if (!result.Ok) throw new InvalidOperationException(result.Detail);
        var final = await WaitTerminal(grains, rolloutId, TimeSpan.FromMinutes(20), poll: TimeSpan.FromMilliseconds(1));
        if (final.Status != RolloutStatus.RolledBack || final.Hosts.RolledBack != hosts)
            throw new InvalidOperationException($"rollback ended {final.Status}: {final.StatusReason}");
        return (call, stopwatch.Elapsed.TotalSeconds);
    }

    /// <summary>Managed heap per grain: N registered host grains against N empty activations.</summary>
    public async Task Memory(IGrainFactory grains, int hosts)
    {
        var before = Measure.Heap();
        await Task.WhenAll(Enumerable.Range(0, hosts).Chunk(10_000).Select(async chunk =>
        {
            foreach (var batch in chunk.Chunk(1000))
                await Task.WhenAll(batch.Select(i => grains.GetGrain<INoOpGrain>("empty-" + i).Ping()));
        }));
        var empty = (Measure.Heap() - before) / (double)hosts;

        before = Measure.Heap();
        await CreateFleet(grains, "memory", hosts);
        var perHost = (Measure.Heap() - before) / (double)hosts;

        var sample = await grains.GetGrain<IHostGrain>("memory-000001").Get();
        var stateBytes = JsonSerializer.SerializeToUtf8Bytes(sample).Length;
        var target = (2 * empty + stateBytes) / empty;
        report.Add(new Comparison($"memory per host grain at {hosts:N0} hosts (incl. its environment index entry)",
            new Stat("bytes", [perHost]), $"empty activation", new Stat("bytes", [empty]), HigherIsBetter: false, target,
            $"≤ 2× + state ({stateBytes} B) = {target:0.00}×"));
    }

    /// <summary>
    /// Admission decisions/s with 250 concurrent submitters against one environment of <paramref name="hosts"/> hosts
    /// (an admission must not cost more on a large fleet), and the single-grain ceiling.
    /// </summary>
    public async Task Admission(IGrainFactory grains, int hosts)
    {
        const int submitters = 250, decisions = 20_000;
        var name = $"admission-{hosts}";
        await CreateFleet(grains, name, hosts);
        var env = grains.GetGrain<IEnvironmentGrain>(name);
        await env.Configure(new EnvironmentSpec { ConcurrencyLimit = 50 });
        var single = grains.GetGrain<INoOpGrain>("single");
        var raw = await Measure.Repeat("calls/s", options.Warmup, options.Repetitions, _ => Measure.Throughput(decisions, submitters, _ => single.Ping()));
        var engine = await Measure.Repeat("decisions/s", options.Warmup, options.Repetitions, r => Measure.Throughput(decisions / 2, submitters, async i =>
        {
            var id = $"rel-adm{r + 10}{i}.{name}";
            await env.RequestSlot(id, "svc-" + (i % 100));
            await env.ReleaseSlot(id);
        }).ContinueWith(t => t.Result * 2, TaskScheduler.Default));
        report.Add(new Comparison($"environment admission decisions ({submitters} concurrent submitters; request + release; {hosts:N0} hosts in the environment)",
            engine, "raw calls to one no-op grain", raw, HigherIsBetter: true, 0.0, "reported (no target)",
            "Every decision is a call into the one environment grain (a single activation is the lock), whose turns run one at a time; the baseline is the same number of calls to one no-op grain.") { HasTarget = false });
    }

    /// <summary>API GET host state against a bare endpoint serving the same bytes, same generator and concurrency.</summary>
    public async Task Api(EngineApp engine, string? note)
    {
        const int concurrency = 32;
        var duration = TimeSpan.FromSeconds(options.ApiSeconds);
        await CreateFleet(engine.Grains, "api", 100);
        using var probe = new HttpClient();
        probe.DefaultRequestHeaders.Authorization = new("Bearer", EngineApp.Key);
        var body = await probe.GetStringAsync($"{engine.BaseAddress}/v1/hosts/api-000042");
        var (bare, bareUrl) = await EngineApp.StartBare(body);
        try
        {
            var bareRuns = new List<LoadGenerator.Result>();
            var engineRuns = new List<LoadGenerator.Result>();
            // Interleaved (bare, engine, bare, engine, ...) so both sides see the same machine; many short repetitions
            // because a shared 2-core machine moves either side by a third from one second to the next.
            for (var r = -options.Warmup; r < options.ApiRepetitions; r++)
            {
                var b = await LoadGenerator.Run(bareUrl, null, concurrency, duration);
                var e = await LoadGenerator.Run($"{engine.BaseAddress}/v1/hosts/api-000042", EngineApp.Key, concurrency, duration);
                if (e.Errors > 0) throw new InvalidOperationException($"{e.Errors} API errors");
                if (r < 0) continue;
                bareRuns.Add(b);
                engineRuns.Add(e);
            }

            report.Add(new Comparison($"API GET /v1/hosts/{{id}} ({concurrency} concurrent, {body.Length} B)",
                new Stat("req/s", engineRuns.Select(x => x.RequestsPerSecond).ToList()), "bare Kestrel endpoint, same bytes",
                new Stat("req/s", bareRuns.Select(x => x.RequestsPerSecond).ToList()), HigherIsBetter: true, 0.5, "≥ 0.5×", note));
            var ratios = engineRuns.Zip(bareRuns, (e, b) => e.RequestsPerSecond / b.RequestsPerSecond).ToList();
            report.Figure("API GET ÷ bare Kestrel, per interleaved repetition (ratio; min is the worst repetition)", new Stat("×", ratios));
            report.Add(new Comparison("API GET p99 latency",
                new Stat("ms", engineRuns.Select(x => x.P99Ms).ToList()), "bare endpoint p99",
                new Stat("ms", bareRuns.Select(x => x.P99Ms).ToList()), HigherIsBetter: false, 3.0, "≤ 3×"));
        }
        finally
        {
            await bare.StopAsync();
            await bare.DisposeAsync();
        }
    }

    /// <summary>
    /// Single-entity table writes/s to the same Azurite, at the concurrency the engine's hosts write with, each entity
    /// carrying <paramref name="payload"/> characters (600: the baseline of the Azure rolling figure; a host's stored
    /// state with a full ten-entry history and ten rollout origins is about 4,000 characters of JSON).
    /// </summary>
    public async Task<Stat> RawTableWrites(string connectionString, int payload = 600)
    {
        var stat = await Measure.Repeat("writes/s", Math.Min(1, options.Warmup), options.Repetitions, settle: false, sample: await RawTableWriteSample(connectionString, payload));
        report.Figure(RawTableWritesLabel(payload), stat);
        return stat;
    }

    private const int RawWriters = 64;

    private static string RawTableWritesLabel(int payload) => payload == 600
        ? $"raw Azure Table single-entity writes ({RawWriters} concurrent)"
        : $"raw Azure Table single-entity writes of {payload:N0} characters, a host's stored state with a full history ({RawWriters} concurrent)";

    private const int RawSampleWrites = 2000;

    /// <summary>One sample: <see cref="RawSampleWrites"/> upserts of new entities by <see cref="RawWriters"/> concurrent writers; gives writes/s.</summary>
    private static async Task<Func<int, Task<double>>> RawTableWriteSample(string connectionString, int payload)
    {
        var table = new TableServiceClient(connectionString).GetTableClient($"benchraw{payload}");
        await table.CreateIfNotExistsAsync();
        var data = new string('x', payload);
        var run = 0;
        return _ =>
        {
            var r = Interlocked.Increment(ref run);
            return Measure.Throughput(RawSampleWrites, RawWriters, i => table.UpsertEntityAsync(new TableEntity("p" + (i % 64), $"{r}-{i}") { ["Data"] = data }));
        };
    }

    private const int BlobSampleWrites = 300;

    /// <summary>
    /// What one blob upload costs Azurite, beside the table write's cost: the rollout's state, its event history, the audit
    /// log, the environment and the catalogs are blobs, written a few dozen times per rollout. Overwrites of a state's size
    /// (2,000 bytes) and of a 1,000-host rollout's (70,000 bytes), by 4 writers as the grains write them.
    /// </summary>
    public async Task BlobUploadCost(string connectionString, int? azuritePid)
    {
        var container = new Azure.Storage.Blobs.BlobServiceClient(connectionString).GetBlobContainerClient("benchrawblobs");
        await container.CreateIfNotExistsAsync();
        foreach (var size in new[] { 2_000, 70_000 })
        {
            var data = BinaryData.FromBytes(new byte[size]);
            var azurite = new List<double>();
            var sample = ProcessCpu.PerOperation(
                _ => Measure.Throughput(BlobSampleWrites, 4, i => container.GetBlobClient($"state-{size}-{i % 4}").UploadAsync(data, overwrite: true)),
                BlobSampleWrites, azuritePid, azurite);
            report.Figure($"raw blob uploads of {size:N0} bytes (4 concurrent, each overwriting one of 4 blobs)",
                await Measure.Repeat("uploads/s", Math.Min(1, options.Warmup), options.Repetitions, sample, settle: false));
            if (azurite.Count > 0)
            {
                report.Figure($"Azurite CPU per blob upload of {size:N0} bytes", new Stat("µs", azurite));
            }
        }
    }

    /// <summary>
    /// The Azure rolling figure: the rolling rollout and raw table writes to the same Azurite, sampled in turn. Measured
    /// as two blocks (the writes first, on a fresh Azurite), the baseline moved between 1,285 and 2,169 writes/s from
    /// run to run, and in three of four runs the 4,000-character writes measured after the rollouts beat the
    /// 600-character ones before them: the one Node process warms up while the engine runs.
    /// </summary>
    public async Task<(Stat Engine, Stat Raw, Stat Ratios)> HostTransitionsAgainstRawWrites(IGrainFactory grains, string connectionString, int hosts, int? azuritePid)
    {
        var rollout = await HostTransitionsRun(grains, hosts, "azure");
        var (azuriteEngine, ownEngine, azuriteRaw, ownRaw) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var result = await Measure.Interleaved("host updates/s", "writes/s", Math.Min(1, options.Warmup), options.Repetitions,
            ProcessCpu.PerOperation(rollout, hosts, azuritePid, azuriteEngine, ownEngine),
            ProcessCpu.PerOperation(await RawTableWriteSample(connectionString, 600), RawSampleWrites, azuritePid, azuriteRaw, ownRaw));
        report.Figure(RawTableWritesLabel(600) + ", sampled in turn with the rollouts", result.B);

        // Where the two sides' CPU goes: both Azurite and this process are busy, and together they fill the two cores.
        if (azuriteEngine.Count > 0)
        {
            report.Figure("Azurite CPU per host update (rolling rollout, Azure mode)", new Stat("µs", azuriteEngine));
            report.Figure("Azurite CPU per raw table write", new Stat("µs", azuriteRaw));
        }

        report.Figure("bench process CPU per host update (the engine with its Azure SDK calls)", new Stat("µs", ownEngine));
        report.Figure("bench process CPU per raw table write (the Azure SDK client alone)", new Stat("µs", ownRaw));
        return result;
    }

    /// <summary>Registers <paramref name="hosts"/> simulated hosts, <paramref name="chunk"/> at a time (each chunk is written concurrently).</summary>
    public static async Task CreateFleet(IGrainFactory grains, string env, int hosts, int chunk = 5000)
    {
        var environment = grains.GetGrain<IEnvironmentGrain>(env);
        await environment.Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        foreach (var part in Enumerable.Range(1, hosts).Chunk(chunk))
        {
            var results = await environment.RegisterHosts(part.Select(i => new HostEnrollment
            {
                HostId = $"{env}-{i:000000}",
                Registration = new HostRegistration
                {
                    Environment = env,
                    CurrentArtifact = Digest("0"),
                    CurrentVersion = "0",
                    Simulation = new SimulationProfile { StepLatencyMs = 0 },
                },
            }).ToList());
            if (results.Any(r => !r.Ok)) throw new InvalidOperationException(results.First(r => !r.Ok).Detail);
        }
    }

    private Task<string> StartRollout(IGrainFactory grains, string env, RolloutStrategySpec strategy) =>
        StartRollout(grains, env, strategy, Interlocked.Increment(ref _sequence).ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static async Task<string> StartRollout(IGrainFactory grains, string env, RolloutStrategySpec strategy, string sequence)
    {
        var version = $"1.{sequence}";
        var releaseId = $"rel-bench{sequence}";
        await grains.GetGrain<IReleaseGrain>(releaseId).Create(new ReleaseDraft { Service = "svc", Version = version, Artifact = Digest(version), SubmittedBy = "bench" });
        var result = await grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(releaseId, env)).Start(new RolloutDraft
        {
            ReleaseId = releaseId, Environment = env, Strategy = strategy, SubmittedBy = "bench",
        });
        if (!result.Ok) throw new InvalidOperationException(result.Detail);
        return result.Value!.Id;
    }

    public static async Task<RolloutSnapshot> WaitTerminal(IGrainFactory grains, string rolloutId, TimeSpan timeout, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var snapshot = await grains.GetGrain<IRolloutGrain>(rolloutId).Get();
            if (snapshot is not null && snapshot.Status.IsTerminal()) return snapshot;
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(20));
        }

        throw new TimeoutException($"rollout {rolloutId} did not finish in {timeout}");
    }
}
