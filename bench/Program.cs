using Deploy.Engine.Bench;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;

// Deploy.Engine benchmark harness. Every figure is reported against a baseline measured in this same process
// and run, after warm-up, as the median of several repetitions with its spread, with what limits it and the machine's
// load while it was measured. Writes results.md and results.json to --out (default .data/bench).
var options = Options.Parse(args);
var report = new Report();
var scenarios = new Scenarios(options, report);
Console.WriteLine($"Deploy.Engine bench: {Environment.ProcessorCount} cores, {options}");
report.Machine($"at start: {MachineLoad.Snapshot()}");
await using var whole = LoadMonitor.Start();

// Measures one scenario and stamps the machine's load over it on the comparisons it added. A scenario that fails
// (a storage timeout on an overloaded machine) is reported as failed; the others still run and the file is written.
async Task Measured(Func<Task> scenario)
{
    var from = report.Count;
    await using var monitor = LoadMonitor.Start();
    try
    {
        await scenario();
    }
    catch (Exception e) when (e is not OutOfMemoryException)
    {
        report.Machine($"a scenario FAILED after {report.Count - from} of its figures: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
    }

    report.StampLoad(from, await monitor.Stop());

    // The file so far, after every scenario: a run cut short still leaves every figure it measured.
    await report.Write(options.Out, Settings("partial: written after each scenario"));
}

Dictionary<string, string> Settings(string state) => new()
{
    ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["silos"] = options.Silos.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["date"] = DateTimeOffset.UtcNow.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
    ["options"] = options.ToString(),
    ["run"] = state,
};

await using (var local = await EngineApp.Start(StorageMode.Local, null))
{
    // More silos join the first through localhost clustering; grains spread over all of them.
    var more = new List<EngineApp>();
    for (var i = 1; i < options.Silos; i++)
    {
        more.Add(await EngineApp.Start(StorageMode.Local, null, local.Join));
    }

    Console.WriteLine($"[Local storage, {options.Silos} silo(s)]");
    var raw = await scenarios.RawCalls(local.Grains, "Local");
    if (options.Runs("rolling"))
    {
        await Measured(async () =>
        {
            var (transitions, floor, ratios) = await scenarios.HostTransitionsAgainstFloor(local.Grains, options.Hosts);
            report.Figure($"rolling rollout ÷ floor, {options.Hosts:N0} hosts (Local storage), per interleaved repetition (ratio; min is the worst repetition)", ratios);
            report.Add(new Comparison($"rolling rollout over {options.Hosts:N0} simulated hosts, zero latency (Local storage)",
                transitions, $"fan-out to {options.Hosts:N0} grains + one write each", floor, HigherIsBetter: true, 0.6, "≥ 0.6×",
                "A host update is a command in, one persisted write of the host's whole state (2.7 KB with a full ten-entry history and ten rollout origins, written packed: about 2.3 µs and 2.7 KB allocated per write, against 4.0 µs and 6.7 KB when each entry was an object of its own) and a report out, against the floor's one call and an 8-byte write; every report reaches the one rollout activation (timed inside it at 10,000 hosts: 2,000–7,000 report turns of 1–2 µs each, and per batch of 1,000 a state write of 1.0–1.9 ms, its host list packed, and 2–7 ms sending the next 1,000 commands, all in its one turn); a 10 % rolling rollout keeps at most 1,000 hosts changing and starts the next batch's hosts in halves as the window frees (each start a write of the rollout's whole state first), where the floor fans out to every grain at once."));
            var inTurn = await scenarios.PersistedInTurnFanOut(local.Grains, options.Hosts);
            report.Add(new Comparison($"rolling rollout over {options.Hosts:N0} simulated hosts, zero latency (Local storage), against the floor written as the hosts write",
                transitions, $"fan-out to {options.Hosts:N0} grains + one write each, in the grain's own turn", inTurn, HigherIsBetter: true, 0.6, "≥ 0.6×",
                "The floor above writes through Orleans' [PersistentState] bridge, which yields before every write; the engine's hosts write in their own turn (TurnState), and so does this floor (measured after the interleaved runs, not between them)."));
            report.Add(new Comparison($"rolling rollout over {options.Hosts:N0} simulated hosts, against raw no-op grain calls",
                transitions, "raw no-op grain calls", raw, HigherIsBetter: true, 0, "reported (was ≥ 0.4×; replaced by the persisted floor above)",
                "A raw call is one request/response with no state; the raw-call rate itself moves by half from run to run on this machine.")
            { HasTarget = false });
        });
    }

    foreach (var size in options.Runs("rollback") ? options.RollbackSizes : [])
    {
        await Measured(() => scenarios.RollbackTimeToSafe(local.Grains, size, "Local",
            "Time-to-safe is the decision write, one one-way revert command per host, one persisted write per host, every host's report into the one rollout activation (which counts them and writes itself when the last arrives), and the final events; the floor is only the call and the write per grain, from one grain."));
    }

    if (options.Runs("admission")) await Measured(() => scenarios.Admission(local.Grains, options.Hosts));
    if (options.Runs("api"))
    {
        await Measured(() => scenarios.Api(local,
            "The bare endpoint writes fixed bytes; the engine also authenticates the key, authorises the role and scope, calls the host grain and serialises its JSON. The load generator runs in the same process and takes a large share of the two cores, so either side's rate is bounded by the generator as much as by the server."));
    }

    if (options.Only?.Contains("agents") == true)
    {
        // Real agent processes: run only when asked (--only agents), as it packages and ships 10 MB artifacts.
        await new AgentScenarios(options, report).Run(local);
    }

    if (options.Only?.Contains("ui") == true)
    {
        // A real chromium drawing the dashboard's host map: run only when asked (--only ui).
        await new UiScenarios(options, report).Run(local);
    }

    if (options.Runs("memory") && options.MemoryHosts > 0 && options.Silos == 1)
    {
        await Measured(() => scenarios.Memory(local.Grains, options.MemoryHosts));
    }

    foreach (var silo in more)
    {
        await silo.DisposeAsync();
    }
}

if (!options.SkipAzure && options.Runs("azure"))
{
    Console.WriteLine("[Azure storage on Azurite]");
    await using var azurite = await AzuriteProcess.StartAsync(inMemoryPersistence: options.AzuriteInMemory);
    await using var azure = await EngineApp.Start(StorageMode.Azure, azurite.ConnectionString);
    await Measured(async () =>
    {
        var (transitions, writes, ratios) = await scenarios.HostTransitionsAgainstRawWrites(azure.Grains, azurite.ConnectionString, options.AzureHosts, azurite.ProcessId);
        report.Figure($"rolling rollout ÷ raw writes, {options.AzureHosts:N0} hosts (Azure mode on Azurite), per interleaved repetition (ratio; min is the worst repetition)", ratios);
        await scenarios.RawTableWrites(azurite.ConnectionString, payload: 4_000);
        await scenarios.BlobUploadCost(azurite.ConnectionString, azurite.ProcessId);
        report.Add(new Comparison($"rolling rollout over {options.AzureHosts:N0} simulated hosts, zero latency (Azure mode on Azurite)",
            transitions, "raw Azure Table writes (64 concurrent, same Azurite, sampled in turn)", writes, HigherIsBetter: true, 0.8, "≥ 0.8×",
            "One Node process (Azurite) serves every table, blob and queue request and is busy through nearly all of both sides' samples, so the ratio is about Azurite's CPU per raw table write over its CPU per host update (the CPU figures below). A host update is one table update of a 4.3 KB entity, which costs Azurite about what a raw write does (a scratch client found no resolved difference between the two kinds of write, nor between 450-byte and 3,200-byte entities); but a 1,000-host rollout also uploads about 50 blobs (counted in Azurite's debug log and in the engine's storage pipeline: the rollout's state 22 times, at each step and each refill of its window, as it persists every decision before acting; its event history 15; the audit log, the environment and the catalogs the rest), and one blob upload costs Azurite as much as several table writes, whatever its size (the blob upload figures below). At most 10 % of the hosts (100) write at once, the window refilled in halves, against the baseline's 64 writers that never wait. This process's CPU per host update (the engine on top of the Azure SDK) is reported too: it shares the two cores with Azurite, but with idle thread-pool workers sleeping instead of spinning it leaves Azurite its core."));
    });
    foreach (var size in options.AzureRollbackSizes ?? [])
    {
        await Measured(() => scenarios.RollbackTimeToSafe(azure.Grains, size, "Azurite",
            "Both sides are bounded by Azurite's table writes (one Node process on the same two cores): the floor is one entity write per grain; time-to-safe adds the rollout's blob write for the decision, the hosts' reports and their events on Azure queues, and the final write."));
    }
}

if (options.Runs("processes") && (!options.SkipAzure || options.ProcessesLocal))
{
    await Measured(() => new ProcessScenarios(options, report).Run());
}

report.Machine($"at end: {MachineLoad.Snapshot()}");
report.Machine($"over the whole run: {await whole.Stop()}");
await report.Write(options.Out, Settings("complete"));
