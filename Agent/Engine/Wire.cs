using System.Text.Json;
using System.Text.Json.Serialization;

namespace Deploy.Engine.Agent.Engine;

// The agent's own view of the engine's HTTP shapes (docs/agent.md, "Protocol"): camelCase JSON, enums as strings.
// States and kinds stay strings on the wire so an engine that adds a state does not break an older agent.

public sealed record RegisterRequest(string Id, string Environment, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, RunningArtifact> Services);

public sealed record RunningArtifact(string? Artifact, string? Version);

public sealed record HeartbeatRequest(bool Healthy);

public sealed record DesiredResponse
{
    public long Generation { get; init; }

    public IReadOnlyList<DesiredEntry> Services { get; init; } = [];
}

/// <summary>One service's desired state and the command (apply or revert, with its nonce) that gets it there.</summary>
public sealed record DesiredEntry
{
    public required string Service { get; init; }

    public string? Artifact { get; init; }

    public string? Version { get; init; }

    public string? Release { get; init; }

    public string? Rollout { get; init; }

    public string? Kind { get; init; }

    public string? Nonce { get; init; }

    public string? State { get; init; }

    /// <summary>The release's DSSE envelope (an object, or a JSON string holding one); checked when TrustedKeys is set.</summary>
    public JsonElement? Provenance { get; init; }

    [JsonIgnore]
    public bool IsCommand => Nonce is not null && Artifact is not null
        && (string.Equals(State, "Updating", StringComparison.OrdinalIgnoreCase) || string.Equals(State, "RollingBack", StringComparison.OrdinalIgnoreCase));

    [JsonIgnore]
    public CommandKind CommandKind =>
        string.Equals(Kind, "revert", StringComparison.OrdinalIgnoreCase)
        || (Kind is null && string.Equals(State, "RollingBack", StringComparison.OrdinalIgnoreCase))
            ? CommandKind.Revert : CommandKind.Apply;
}

public enum CommandKind
{
    Apply = 0,
    Revert = 1,
}

public sealed record ConfigResponse
{
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    public string? Hash { get; init; }
}

public sealed record StepRecord
{
    public required string Name { get; init; }

    public bool Succeeded { get; init; }

    public long DurationMs { get; init; }

    public int? ExitCode { get; init; }

    public string? Output { get; init; }
}

public sealed record ReportRequest
{
    public required string Service { get; init; }

    public string? Rollout { get; init; }

    public required string Nonce { get; init; }

    public required string Artifact { get; init; }

    /// <summary>The sha256 the agent computed over the bytes it holds; absent only when no byte could be downloaded.</summary>
    public string? ComputedDigest { get; init; }

    public bool Succeeded { get; init; }

    public bool Healthy { get; init; }

    public string? Message { get; init; }

    public long DurationMs { get; init; }

    public IReadOnlyList<StepRecord> Steps { get; init; } = [];
}

public sealed record MetricsRequest(string Service, double ErrorRatePercent, double P99LatencyMs, int FailedHealthChecks, long Requests);

public sealed record FactsRequest(IReadOnlyDictionary<string, ServiceFacts> Services, RuntimeFacts Runtime);

public sealed record ServiceFacts(string? Version, string? Artifact, string? ConfigHash);

public sealed record RuntimeFacts(string Os, string AgentVersion);

public static class Wire
{
    public static readonly JsonSerializerOptions Json = Create();

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        o.Converters.Add(new JsonStringEnumConverter());
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
