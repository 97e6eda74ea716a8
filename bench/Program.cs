using Deploy.Engine.Bench;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;

// Deploy.Engine benchmark harness. Every figure is reported against a baseline measured in this same process
// and run, after warm-up, as the median of several repetitions with its spread. Writes results.md and
// results.json to --out (default .data/bench).
var options = Options.Parse(args);
var report = new Report();
var scenarios = new Scenarios(options, report);
Console.WriteLine($"Deploy.Engine bench: {Environment.ProcessorCount} cores, {options}");

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
        var transitions = await scenarios.HostTransitions(local.Grains, options.Hosts, "local");
        report.Add(new Comparison($"rolling rollout over {options.Hosts:N0} simulated hosts, zero latency (Local storage)",
            transitions, "raw no-op grain calls", raw, HigherIsBetter: true, 0.4, "≥ 0.4×"));
        var floor = await scenarios.PersistedFanOutRate(local.Grains, options.Hosts);
        report.Add(new Comparison($"rolling rollout over {options.Hosts:N0} simulated hosts, against grains that each persist one small state",
            transitions, $"fan-out to {options.Hosts:N0} grains + one write each", floor, HigherIsBetter: true, 0.4, "≥ 0.4× (extra baseline)",
            "a host update is a command in, one persisted write, a report out, in batches of 10 %"));
    }

    foreach (var size in options.Runs("rollback") ? options.RollbackSizes : [])
    {
        await scenarios.RollbackTimeToSafe(local.Grains, size);
    }

    if (options.Runs("admission")) await scenarios.Admission(local.Grains, options.Hosts);
    if (options.Runs("api")) await scenarios.Api(local);
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
        await scenarios.Memory(local.Grains, options.MemoryHosts);
    }

    foreach (var silo in more)
    {
        await silo.DisposeAsync();
    }
}

if (!options.SkipAzure && options.Runs("azure"))
{
    Console.WriteLine("[Azure storage on Azurite]");
    await using var azurite = await AzuriteProcess.StartAsync();
    var writes = await scenarios.RawTableWrites(azurite.ConnectionString);
    await using var azure = await EngineApp.Start(StorageMode.Azure, azurite.ConnectionString);
    var transitions = await scenarios.HostTransitions(azure.Grains, options.AzureHosts, "azure");
    report.Add(new Comparison($"rolling rollout over {options.AzureHosts:N0} simulated hosts, zero latency (Azurite)",
        transitions, "raw Azure Table writes", writes, HigherIsBetter: true, 0.8, "≥ 0.8×",
        "each host update is one table write; each step of 100 hosts also writes the rollout's blob and publishes its events on Azure queues (10–90 ms a publish on Azurite here)"));
}

await report.Write(options.Out, new Dictionary<string, string>
{
    ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["silos"] = options.Silos.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["date"] = DateTimeOffset.UtcNow.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
    ["options"] = options.ToString(),
});
