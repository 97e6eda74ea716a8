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

    /// <summary>
    /// The service <see cref="CurrentArtifact"/> belongs to. Without it the artifact sits in the host's unnamed slot,
    /// which the first rollout to touch the host names (a host that runs one service needs no name).
    /// </summary>
    [Id(5)] public string? Service { get; init; }

    /// <summary>What the host already runs, per service (an agent re-registering after a restart says what it runs).</summary>
    [Id(6)] public IReadOnlyDictionary<string, ServiceArtifact> Services { get; init; } = new Dictionary<string, ServiceArtifact>();

    /// <summary>The agent key that registers the host; only that key (or an operator) speaks for it afterwards.</summary>
    [Id(7)] public string? Owner { get; init; }

    /// <summary>An operator registers: the host's owner stays as it is (unless <see cref="AdoptBy"/> names a new one).</summary>
    [Id(8)] public bool ByOperator { get; init; }

    /// <summary>An operator hands the host to this agent key (the only way a host with no owning key gets one).</summary>
    [Id(9)] public string? AdoptBy { get; init; }
}

/// <summary>An artifact and its version, as a host runs it for one service.</summary>
[GenerateSerializer, Immutable]
[Alias("ServiceArtifact")]
public sealed record ServiceArtifact
{
    [Id(0)] public string? Artifact { get; init; }

    [Id(1)] public string? Version { get; init; }
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

    /// <summary>The service the command changes; the host's other services are not touched. Null: the host's only (unnamed) slot.</summary>
    [Id(5)] public string? Service { get; init; }

    /// <summary>The release the artifact belongs to (an agent fetches its rendered configuration by it).</summary>
    [Id(6)] public string? Release { get; init; }
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

    /// <summary>The service the report is about (null: the host's only slot).</summary>
    [Id(261)] public string? Service { get; init; }

    /// <summary>The nonce of the command being answered, as the desired state gave it; a report that does not echo it is refused.</summary>
    [Id(262)] public string? Nonce { get; init; }

    /// <summary>How the agent applied it, step by step (download, verify, unpack, hooks, switch, health).</summary>
    [Id(263)] public IReadOnlyList<ApplyStepRecord> Steps { get; init; } = [];

    /// <summary>How long the whole command took on the host (for a revert: its time-to-safe on that host).</summary>
    [Id(264)] public long? DurationMs { get; init; }
}

/// <summary>One step of an agent's apply or revert, as it reported it.</summary>
[GenerateSerializer, Immutable]
[Alias("ApplyStepRecord")]
public sealed record ApplyStepRecord
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public bool Succeeded { get; init; }

    [Id(2)] public long DurationMs { get; init; }

    [Id(3)] public int? ExitCode { get; init; }

    /// <summary>The tail of the step's output (at most 2,000 characters).</summary>
    [Id(4)] public string? Output { get; init; }
}

/// <summary>One service on a host: what it runs, what it should run, what it ran before, and the command under way.</summary>
[GenerateSerializer, Immutable]
[Alias("HostServiceSnapshot")]
public sealed record HostServiceSnapshot
{
    [Id(0)] public HostState State { get; init; }

    [Id(1)] public string? CurrentArtifact { get; init; }

    [Id(2)] public string? CurrentVersion { get; init; }

    [Id(3)] public string? DesiredArtifact { get; init; }

    [Id(4)] public string? DesiredVersion { get; init; }

    [Id(5)] public string? PreviousArtifact { get; init; }

    [Id(6)] public string? PreviousVersion { get; init; }

    [Id(7)] public string? Rollout { get; init; }

    [Id(8)] public string? LastError { get; init; }

    /// <summary>Artifacts this service ran on the host, newest first (at most 10): the targets of repeated rollbacks.</summary>
    [Id(9)] public IReadOnlyList<ServiceArtifact> History { get; init; } = [];

    /// <summary>How the last command went on the host, step by step (real agents only).</summary>
    [Id(10)] public IReadOnlyList<ApplyStepRecord> LastSteps { get; init; } = [];

    /// <summary>How long the last command took on the host (real agents only).</summary>
    [Id(11)] public long? LastDurationMs { get; init; }

    [Id(12)] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The latest metrics the host's agent pushed for this service.</summary>
    [Id(13)] public HostMetricsReading? Metrics { get; init; }
}

/// <summary>A service's latest health and metrics on one host.</summary>
[GenerateSerializer, Immutable]
[Alias("HostMetricsReading")]
public sealed record HostMetricsReading
{
    [Id(0)] public double ErrorRatePercent { get; init; }

    [Id(1)] public double P99LatencyMs { get; init; }

    [Id(2)] public int FailedHealthChecks { get; init; }

    [Id(3)] public long Requests { get; init; }

    [Id(4)] public DateTimeOffset At { get; init; }
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

    /// <summary>
    /// Every service on the host by name (the unnamed slot of a host registered without a service is ""). The
    /// top-level current/desired/previous fields show the service changed last.
    /// </summary>
    [Id(17)] public IReadOnlyDictionary<string, HostServiceSnapshot> Services { get; init; } = new Dictionary<string, HostServiceSnapshot>();

    /// <summary>The agent key that registered the host (null for hosts the engine created).</summary>
    [Id(18)] public string? Owner { get; init; }
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

    /// <summary>Grows whenever any service's desired state changes: a long-poll waits for it to pass a value.</summary>
    [Id(4)] public long Generation { get; init; }

    /// <summary>Per service: what to run now, and the command (with its nonce) to carry out.</summary>
    [Id(5)] public IReadOnlyList<DesiredService> Services { get; init; } = [];
}

/// <summary>What one service on a host should run, and the command that gets it there.</summary>
[GenerateSerializer, Immutable]
[Alias("DesiredService")]
public sealed record DesiredService
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public string? Artifact { get; init; }

    [Id(2)] public string? Version { get; init; }

    [Id(3)] public string? Release { get; init; }

    [Id(4)] public string? Rollout { get; init; }

    /// <summary>Apply or Revert; null when no command was ever given (the service just runs).</summary>
    [Id(5)] public HostCommandKind? Kind { get; init; }

    /// <summary>Echoed by the report: a report for a command the host was never given is refused.</summary>
    [Id(6)] public string? Nonce { get; init; }

    [Id(7)] public HostState State { get; init; }

    /// <summary>The release's DSSE provenance envelope (JSON), for an agent configured with trusted keys; null when none is attached.</summary>
    [Id(8)] public string? Provenance { get; init; }
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

    /// <summary>
    /// The desired state once its generation passes <paramref name="after"/>, or as it is after <paramref name="wait"/>
    /// (an agent's long-poll). Interleaves: waiting holds no turn of the host.
    /// </summary>
    [AlwaysInterleave]
    [Alias("WaitDesired")]
    Task<DesiredState?> WaitDesired(long after, TimeSpan wait);

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

    /// <summary>As <see cref="EmitSamples"/>, of what the host runs for <paramref name="service"/> (a host runs several).</summary>
    [OneWay]
    [Alias("EmitServiceSamples")]
    Task EmitServiceSamples(string rolloutId, string service, int count, int spacingMs);

    /// <summary>The host leaves its environment for good (immutable rollouts); idempotent.</summary>
    [Alias("Retire")]
    Task Retire(string rolloutId);
}
