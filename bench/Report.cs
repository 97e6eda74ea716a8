using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Deploy.Engine.Bench;

/// <summary>One engine figure against its same-run baseline.</summary>
/// <param name="HigherIsBetter">True for rates (ratio = engine / baseline), false for times and sizes (ratio = engine / baseline too, lower better).</param>
/// <param name="Note">What limits the figure: where the time goes.</param>
public sealed record Comparison(string Name, Stat Engine, string BaselineName, Stat Baseline, bool HigherIsBetter, double Target, string TargetText, string? Note = null)
{
    /// <summary>The machine's load while the figure was measured (<see cref="LoadMonitor"/>).</summary>
    public string? Load { get; init; }

    /// <summary>False for a ratio reported without a target.</summary>
    public bool HasTarget { get; init; } = true;

    public double Ratio => Engine.Median / Baseline.Median;

    public bool Met => HigherIsBetter ? Ratio >= Target : Ratio <= Target;
}

public sealed class Report
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly List<Comparison> _comparisons = [];
    private readonly List<(string Name, Stat Stat)> _figures = [];
    private readonly List<string> _machine = [];

    /// <summary>A line about the machine (what else ran on it) for the results file.</summary>
    public void Machine(string line)
    {
        _machine.Add(line);
        Console.WriteLine($"  machine: {line}");
    }

    public void Add(Comparison comparison)
    {
        _comparisons.Add(comparison);
        Console.WriteLine($"  {comparison.Name}: {Format(comparison.Engine)} vs {comparison.BaselineName} {Format(comparison.Baseline)} → {comparison.Ratio:0.00}× (target {comparison.TargetText}: {Verdict(comparison)})");
    }

    /// <summary>Sets the load of the comparisons added since <paramref name="from"/> (a scenario measures its load once it ends).</summary>
    public void StampLoad(int from, string load)
    {
        for (var i = from; i < _comparisons.Count; i++)
        {
            _comparisons[i] = _comparisons[i] with { Load = load };
        }

        Console.WriteLine($"  load: {load}");
    }

    public int Count => _comparisons.Count;

    private static string Verdict(Comparison c) => !c.HasTarget ? "reported" : c.Met ? "met" : "MISSED";

    public void Figure(string name, Stat stat)
    {
        _figures.Add((name, stat));
        Console.WriteLine($"  {name}: {Format(stat)}");
    }

    public async Task Write(string directory, IReadOnlyDictionary<string, string> settings)
    {
        Directory.CreateDirectory(directory);
        var md = new StringBuilder();
        md.AppendLine("# Deploy.Engine benchmark");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{string.Join(", ", settings.Select(s => $"{s.Key}: {s.Value}"))}");
        md.AppendLine();
        md.AppendLine("Medians of the repetitions; spread = (max − min) / median; w = unrecorded warm-up runs before them (at least the asked number, more until the JIT settled: two runs in a row compiling fewer than " + Measure.SettledMethods + " methods). Every ratio is against a baseline measured in the same process and run.");
        md.AppendLine();
        md.AppendLine("| # | figure | engine | baseline | ratio | target | met |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        for (var i = 0; i < _comparisons.Count; i++)
        {
            var c = _comparisons[i];
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {i + 1} | {c.Name} | {Format(c.Engine)} | {c.BaselineName}: {Format(c.Baseline)} | {c.Ratio:0.00}× | {c.TargetText} | {(!c.HasTarget ? "—" : c.Met ? "yes" : "**no**")} |");
        }

        md.AppendLine();
        md.AppendLine("What limits each figure (where the time goes), and the machine's load while it was measured:");
        md.AppendLine();
        for (var i = 0; i < _comparisons.Count; i++)
        {
            var c = _comparisons[i];
            md.AppendLine(CultureInfo.InvariantCulture, $"{i + 1}. {c.Note ?? "—"} *Load: {c.Load ?? "not measured"}.*");
        }

        if (_machine.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("The machine:");
            md.AppendLine();
            foreach (var line in _machine)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
            }
        }

        if (_figures.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("| other figure | median | min – max | spread | samples |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var (name, stat) in _figures)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Value(stat.Median)} {stat.Unit} | {Value(stat.Min)} – {Value(stat.Max)} | {stat.Spread:P0} | {stat.Samples.Count} |");
            }
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), md.ToString());
        var json = JsonSerializer.Serialize(new
        {
            settings,
            comparisons = _comparisons.Select(c => new
            {
                c.Name, engine = Shape(c.Engine), baseline = new { name = c.BaselineName, stat = Shape(c.Baseline) },
                ratio = c.Ratio, target = c.TargetText, met = c.HasTarget ? c.Met : (bool?)null, note = c.Note, load = c.Load,
            }),
            figures = _figures.Select(f => new { name = f.Name, stat = Shape(f.Stat) }),
            machine = _machine,
        }, Json);
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), json);
        Console.WriteLine();
        Console.WriteLine(md.ToString());
    }

    private static object Shape(Stat s) => new { unit = s.Unit, median = s.Median, min = s.Min, max = s.Max, spread = s.Spread, samples = s.Samples, warmupRuns = s.WarmupRuns };

    private static string Format(Stat s) => $"{Value(s.Median)} {s.Unit} (±{s.Spread:P0}, n={s.Samples.Count}{(s.WarmupRuns is { } w ? $", w={w}" : "")})";

    private static string Value(double v) => v switch
    {
        >= 100 => v.ToString("N0", CultureInfo.InvariantCulture),
        >= 1 => v.ToString("0.00", CultureInfo.InvariantCulture),
        _ => v.ToString("0.0000", CultureInfo.InvariantCulture),
    };
}
