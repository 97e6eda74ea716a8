using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>A host is never in an unknown state: it is in sync, moving under a rollout's command, or failed.</summary>
[GenerateSerializer]
[Alias("HostState")]
public enum HostState
{
    /// <summary>Running its desired artifact (or never given one).</summary>
    Ready = 0,

    /// <summary>Applying a new artifact for a rollout.</summary>
    Updating = 1,

    /// <summary>Returning to its previous artifact for a rollout's rollback.</summary>
    RollingBack = 2,

    /// <summary>The last command failed; the host still runs <see cref="HostSnapshot.CurrentArtifact"/>.</summary>
    Failed = 3,

    /// <summary>Left the environment (an immutable rollout replaced it); it takes no command any more.</summary>
    Retired = 4,
}

[GenerateSerializer]
[Alias("HostCommandKind")]
public enum HostCommandKind
{
    Apply = 0,
    Revert = 1,
}

[GenerateSerializer]
[Alias("CommandOutcome")]
public enum CommandOutcome
{
    Pending = 0,
    Succeeded = 1,
    Failed = 2,
}

/// <summary>How a simulated host behaves: latency per step and failure probability per version.</summary>
[GenerateSerializer, Immutable]
[Alias("SimulationProfile")]
public sealed record SimulationProfile
{
    [Id(0)] public int StepLatencyMs { get; init; }

    [Id(1)] public IReadOnlyDictionary<string, double> FailureProbabilityByVersion { get; init; } = new Dictionary<string, double>();

    [Id(2)] public double DefaultFailureProbability { get; init; }

    /// <summary>What a host running a version reports after applying it (error rate, p99 latency), by version.</summary>
    [Id(3)] public IReadOnlyDictionary<string, SimulatedMetrics> MetricsByVersion { get; init; } = new Dictionary<string, SimulatedMetrics>();

    [Id(4)] public SimulatedMetrics? DefaultMetrics { get; init; }

    /// <summary>
    /// Versions whose download comes out corrupt on this host: the bytes hash to another digest, so the host refuses
    /// to activate them ("artifact verification failed: expected …, got …") and stays on its current artifact.
    /// </summary>
    [Id(260)] public IReadOnlyList<string> CorruptDownloadVersions { get; init; } = new List<string>();
}

[GenerateSerializer, Immutable]
[Alias("SimulatedMetrics")]
public sealed record SimulatedMetrics
{
    [Id(0)] public double ErrorRatePercent { get; init; }

    [Id(1)] public double P99LatencyMs { get; init; }

    [Id(2)] public int FailedHealthChecks { get; init; }

    /// <summary>Other named metrics the version reports.</summary>
    [Id(3)] public IReadOnlyDictionary<string, double> Values { get; init; } = new Dictionary<string, double>();
}

[GenerateSerializer, Immutable]
[Alias("HostRegistration")]
public sealed record HostRegistration
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The artifact the host already runs, if any.</summary>
    [Id(2)] public string? CurrentArtifact { get; init; }

    [Id(3)] public string? CurrentVersion { get; init; }

    /// <summary>Present for hosts of the simulated fleet; absent for real agents.</summary>
    [Id(4)] public SimulationProfile? Simulation { get; init; }
}

/// <summary>An idempotent instruction from a rollout: same rollout, kind and batch twice changes nothing.</summary>
[GenerateSerializer, Immutable]
[Alias("HostCommand")]
public sealed record HostCommand
{
    [Id(0)] public required string RolloutId { get; init; }

    [Id(1)] public required HostCommandKind Kind { get; init; }

    [Id(2)] public int Batch { get; init; }

    /// <summary>For Apply: the artifact to run. For Revert the host returns to what it ran before the rollout.</summary>
    [Id(3)] public string? Artifact { get; init; }

    [Id(4)] public string? Version { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("HostCommandStatus")]
public sealed record HostCommandStatus
{
    [Id(0)] public required string HostId { get; init; }

    [Id(1)] public CommandOutcome Outcome { get; init; }

    [Id(2)] public string? Reason { get; init; }

    /// <summary>True when the host never ran this rollout's artifact, so a revert had nothing to undo.</summary>
    [Id(3)] public bool Untouched { get; init; }

    /// <summary>Which command this answers: a late answer to an apply must not count as a revert.</summary>
    [Id(4)] public HostCommandKind Kind { get; init; }
}

/// <summary>What a real agent reports after applying its desired artifact.</summary>
[GenerateSerializer, Immutable]
[Alias("HostOutcomeReport")]
public sealed record HostOutcomeReport
{
    [Id(0)] public required string RolloutId { get; init; }

    [Id(1)] public required string Artifact { get; init; }

    [Id(2)] public bool Succeeded { get; init; }

    [Id(3)] public bool Healthy { get; init; } = true;

    [Id(4)] public string? Message { get; init; }

    /// <summary>
    /// The sha256 the agent computed over what it downloaded. When it differs from <see cref="Artifact"/> the agent
    /// did not activate it: the command fails with "artifact verification failed: expected …, got …".
    /// </summary>
    [Id(260)] public string? ComputedDigest { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("HostSnapshot")]
public sealed record HostSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    [Id(3)] public HostState State { get; init; }

    [Id(4)] public string? CurrentArtifact { get; init; }

    [Id(5)] public string? CurrentVersion { get; init; }

    [Id(6)] public string? DesiredArtifact { get; init; }

    [Id(7)] public string? DesiredVersion { get; init; }

    [Id(8)] public string? PreviousArtifact { get; init; }

    [Id(9)] public string? PreviousVersion { get; init; }

    [Id(10)] public bool Healthy { get; init; } = true;

    [Id(11)] public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>The rollout whose command the host is carrying out or last carried out.</summary>
    [Id(12)] public string? Rollout { get; init; }

    [Id(13)] public string? LastError { get; init; }

    [Id(14)] public bool Simulated { get; init; }

    [Id(15)] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>How a simulated host behaves (null for a real agent); an immutable rollout gives its new hosts the same.</summary>
    [Id(16)] public SimulationProfile? Simulation { get; init; }
}

/// <summary>What an agent should run now, and under which rollout's command.</summary>
[GenerateSerializer, Immutable]
[Alias("DesiredState")]
public sealed record DesiredState
{
    [Id(0)] public string? Artifact { get; init; }

    [Id(1)] public string? Version { get; init; }

    [Id(2)] public string? Rollout { get; init; }

    [Id(3)] public HostState State { get; init; }
}

/// <summary>One target host. Key: the host id.</summary>
[Alias("IHostGrain")]
public interface IHostGrain : IGrainWithStringKey
{
    /// <summary>Registers or re-registers (labels updated); a host cannot move to another environment.</summary>
    [Alias("Register")]
    Task<CommandResult<HostSnapshot>> Register(HostRegistration registration);

    [Alias("Get")]
    Task<HostSnapshot?> Get();

    [Alias("Heartbeat")]
    Task<CommandResult<HostSnapshot>> Heartbeat(bool healthy);

    [Alias("GetDesired")]
    Task<DesiredState?> GetDesired();

    /// <summary>Carries out (or reports on) a rollout's command; re-delivery returns the same outcome.</summary>
    [Alias("Execute")]
    Task<HostCommandStatus> Execute(HostCommand command);

    /// <summary>An agent's report on the command it was given.</summary>
    [Alias("Report")]
    Task<CommandResult<HostSnapshot>> Report(HostOutcomeReport report);

    /// <summary>
    /// Carries out a rollout's command without the rollout waiting: an outcome that is final at once is
    /// reported back through <see cref="IRolloutGrain.OnHostReported"/>, like a later one. One-way, so a
    /// rollout fans out to a large fleet in one quick turn.
    /// </summary>
    [OneWay]
    [Alias("Dispatch")]
    Task Dispatch(HostCommand command);

    /// <summary>An agent's health and metrics sample; passed on to the rollout the host is running for.</summary>
    [Alias("ReportMetrics")]
    Task<CommandResult<HostSnapshot>> ReportMetrics(HostMetricsSample sample);

    /// <summary>
    /// A simulated host reports <paramref name="count"/> metric samples of the version it runs to the rollout, one
    /// every <paramref name="spacingMs"/> (a canary analysis asks baseline and canary hosts alike); a real agent
    /// pushes its own. One-way.
    /// </summary>
    [OneWay]
    [Alias("EmitSamples")]
    Task EmitSamples(string rolloutId, int count, int spacingMs);

    /// <summary>The host leaves its environment for good (immutable rollouts); idempotent.</summary>
    [Alias("Retire")]
    Task Retire(string rolloutId);
}
