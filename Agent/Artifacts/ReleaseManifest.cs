using System.Text.Json;
using Deploy.Engine.Agent.Engine;

namespace Deploy.Engine.Agent.Artifacts;

/// <summary>The artifact's <c>manifest.json</c> (docs/agent.md, "The artifact").</summary>
public sealed record ReleaseManifest
{
    public const string FileName = "manifest.json";

    public string? Service { get; init; }

    public StartSpec? Start { get; init; }

    public int StopTimeoutSeconds { get; init; } = 10;

    public Dictionary<string, List<HookSpec>> Hooks { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public HealthSpec? Health { get; init; }

    public MetricsSpec? Metrics { get; init; }

    public ConfigSpec? Config { get; init; }

    public IReadOnlyList<HookSpec> HooksFor(string lifecycleEvent) =>
        Hooks.TryGetValue(lifecycleEvent, out var list) ? list : [];

    public static ReleaseManifest Load(string releaseDirectory)
    {
        var path = Path.Combine(releaseDirectory, FileName);
        if (!File.Exists(path)) throw new InvalidDataException("the artifact has no manifest.json at its root");
        try
        {
            var manifest = JsonSerializer.Deserialize<ReleaseManifest>(File.ReadAllText(path), Wire.Json)
                ?? throw new InvalidDataException("manifest.json is empty");
            return manifest with { Hooks = new Dictionary<string, List<HookSpec>>(manifest.Hooks, StringComparer.OrdinalIgnoreCase) };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("manifest.json is not valid: " + e.Message);
        }
    }

    /// <summary>Loads the manifest, or null when the directory has none or an unreadable one.</summary>
    public static ReleaseManifest? TryLoad(string releaseDirectory)
    {
        try
        {
            return Load(releaseDirectory);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

public sealed record StartSpec
{
    public string? Command { get; init; }

    public List<string> Args { get; init; } = [];

    public Dictionary<string, string> Environment { get; init; } = [];
}

public sealed record HookSpec
{
    public required string Run { get; init; }

    public int TimeoutSeconds { get; init; } = 60;
}

public sealed record HealthSpec
{
    public HttpHealthSpec? Http { get; init; }

    public string? Command { get; init; }

    public int SuccessThreshold { get; init; } = 1;

    public int IntervalMs { get; init; } = 500;

    public int TimeoutSeconds { get; init; } = 30;
}

public sealed record HttpHealthSpec
{
    public string Path { get; init; } = "/";
}

public sealed record MetricsSpec
{
    public string? Prometheus { get; init; }

    public ProbeSpec? Probe { get; init; }
}

public sealed record ProbeSpec
{
    public string Path { get; init; } = "/";

    public double PerSecond { get; init; } = 1;
}

public sealed record ConfigSpec
{
    public string Directory { get; init; } = "config";
}
