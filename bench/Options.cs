using System.Globalization;

namespace Deploy.Engine.Bench;

public sealed record Options(
    int Hosts, IReadOnlyList<int> RollbackSizes, int MemoryHosts, int AzureHosts, int Repetitions, int ApiSeconds, bool SkipAzure, string Out, int Silos = 1, IReadOnlySet<string>? Only = null, int Warmup = 3,
    IReadOnlyList<int>? AzureRollbackSizes = null, int ApiRepetitions = 9, int Processes = 3, bool AzuriteInMemory = false, bool ProcessesLocal = false)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(10_000, [1_000, 10_000, 100_000], 100_000, 1_000, 3, 5, false, Path.Combine(".data", "bench"));
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--hosts" => o with { Hosts = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--rollback" => o with { RollbackSizes = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList() },
                "--memory-hosts" => o with { MemoryHosts = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--azure-hosts" => o with { AzureHosts = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--reps" => o with { Repetitions = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--api-seconds" => o with { ApiSeconds = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--skip-azure" => o with { SkipAzure = true },
                "--azurite-in-memory" => o with { AzuriteInMemory = true },
                "--silos" => o with { Silos = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => o with { Out = Next() },
                "--azure-rollback" => o with { AzureRollbackSizes = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList() },
                "--api-reps" => o with { ApiRepetitions = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--processes" => o with { Processes = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--processes-storage" => Next() switch
                {
                    "local" => o with { ProcessesLocal = true },
                    "azure" => o with { ProcessesLocal = false },
                    var other => throw new ArgumentException($"--processes-storage is local or azure, not '{other}'"),
                },
                "--warmup" => o with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--only" => o with { Only = Next().Split(',').ToHashSet(StringComparer.OrdinalIgnoreCase) },
                "--quick" => o with { Hosts = 1_000, RollbackSizes = [1_000], MemoryHosts = 10_000, AzureHosts = 200, Repetitions = 2, ApiSeconds = 2, Warmup = 1, AzureRollbackSizes = [200], ApiRepetitions = 3 },
                _ => throw new ArgumentException($"unknown option {args[i]}; see bench/README in the main README"),
            };
        }

        return o.AzureRollbackSizes is null ? o with { AzureRollbackSizes = [1_000, 10_000] } : o;
    }

    /// <summary>Whether a scenario runs (all of them unless --only names some: rolling, rollback, admission, api, memory, azure, processes; agents and ui only when named).</summary>
    public bool Runs(string scenario) => Only is null || Only.Contains(scenario);

    public override string ToString() =>
        $"hosts {Hosts}, rollback {string.Join('/', RollbackSizes)}, memory {MemoryHosts}, azure hosts {AzureHosts}, reps {Repetitions} after {Warmup} warm-up runs, azure rollback {string.Join('/', AzureRollbackSizes ?? [])}, api {ApiRepetitions}×{ApiSeconds}s, processes {Processes}{(ProcessesLocal ? " (Local storage)" : "")}{(SkipAzure ? ", no Azure" : "")}{(AzuriteInMemory ? ", Azurite in memory" : "")}, silos {Silos}{(Only is null ? "" : ", only " + string.Join(',', Only))}";
}
