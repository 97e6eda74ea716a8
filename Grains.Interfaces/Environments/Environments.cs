namespace Deploy.Engine.Grains.Interfaces;

[GenerateSerializer, Immutable]
[Alias("EnvironmentSpec")]
public sealed record EnvironmentSpec
{
    /// <summary>How many rollouts may run at once; further ones wait in FIFO order. Below 1 in a Configure: keep the current limit.</summary>
    [Id(0)] public int ConcurrencyLimit { get; init; } = 1;

    [Id(1)] public string? Description { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("DeployedVersion")]
public sealed record DeployedVersion
{
    [Id(0)] public required string Version { get; init; }

    [Id(1)] public required string Artifact { get; init; }

    [Id(2)] public required string ReleaseId { get; init; }

    [Id(3)] public DateTimeOffset DeployedAt { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("EnvironmentSnapshot")]
public sealed record EnvironmentSnapshot
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public required EnvironmentSpec Spec { get; init; }

    /// <summary>Rollouts holding a slot now.</summary>
    [Id(2)] public IReadOnlyList<string> Active { get; init; } = [];

    /// <summary>Rollouts waiting for a slot, first in line first.</summary>
    [Id(3)] public IReadOnlyList<string> Queued { get; init; } = [];

    /// <summary>The version of each service that last completed a rollout here.</summary>
    [Id(4)] public IReadOnlyDictionary<string, DeployedVersion> Services { get; init; } = new Dictionary<string, DeployedVersion>();

    [Id(5)] public int HostCount { get; init; }

    [Id(6)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Blue-green: the slot serving each service.</summary>
    [Id(10)] public IReadOnlyDictionary<string, string> ActiveSlots { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The version of the environment's configuration: 1 when created, one more on every Configure. The API's
    /// strong ETag; admission and host registration do not change it.
    /// </summary>
    [Id(7)] public long Version { get; init; }

    /// <summary>The environment's declaration (tier, protection, promotion order, gates, data, lifecycle); null when undeclared.</summary>
    [Id(220)] public EnvironmentDeclarationSnapshot? Declaration { get; init; }

    /// <summary>Hosts set aside because they never acknowledged a rollback; no rollout targets them until an operator clears them.</summary>
    [Id(150)] public IReadOnlyList<QuarantinedHost> Quarantined { get; init; } = [];
}

/// <summary>
/// What must hold for a conditional Configure to go ahead, checked inside the environment grain in the same turn
/// as the write (HTTP If-Match / If-None-Match: *), so two writers holding the same version cannot both win.
/// </summary>
/// <summary>A host a rollback could not confirm: which rollout, why, and since when.</summary>
[GenerateSerializer, Immutable]
[Alias("QuarantinedHost")]
public sealed record QuarantinedHost
{
    [Id(0)] public required string HostId { get; init; }

    [Id(1)] public required string RolloutId { get; init; }

    [Id(2)] public required string Reason { get; init; }

    [Id(3)] public DateTimeOffset Since { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("EnvironmentPrecondition")]
public sealed record EnvironmentPrecondition
{
    /// <summary>When set, the environment must exist at one of these versions (an empty list never matches).</summary>
    [Id(0)] public IReadOnlyList<long>? VersionIn { get; init; }

    /// <summary>If-Match: * — the environment must exist.</summary>
    [Id(1)] public bool MustExist { get; init; }

    /// <summary>If-None-Match: * — the environment must not exist yet.</summary>
    [Id(2)] public bool MustNotExist { get; init; }

    /// <summary>Why the precondition does not hold for <paramref name="subject"/> (exists or not, at <paramref name="version"/>); null when it holds.</summary>
    public string? Refusal(string subject, bool exists, long version) => (this, exists) switch
    {
        ({ MustNotExist: true }, true) => $"{subject} already exists (version {version})",
        ({ MustExist: true }, false) or ({ VersionIn: not null }, false) => $"{subject} does not exist",
        ({ VersionIn: { } versions }, true) when !versions.Contains(version) => $"{subject} is at version {version}, not the version the request was based on",
        _ => null,
    };
}

/// <summary>A host as the environment's index knows it: enough to select targets by label.</summary>
[GenerateSerializer, Immutable]
[Alias("HostIndexEntry")]
public sealed record HostIndexEntry
{
    [Id(0)] public required string HostId { get; init; }

    [Id(1)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

[GenerateSerializer, Immutable]
[Alias("HostEnrollment")]
public sealed record HostEnrollment
{
    [Id(0)] public required string HostId { get; init; }

    [Id(1)] public required HostRegistration Registration { get; init; }
}

[GenerateSerializer]
[Alias("AdmissionStatus")]
public enum AdmissionStatus
{
    Admitted = 0,
    Queued = 1,
}

[GenerateSerializer, Immutable]
[Alias("Admission")]
public sealed record Admission
{
    [Id(0)] public AdmissionStatus Status { get; init; }

    /// <summary>1-based place in the queue when queued.</summary>
    [Id(1)] public int Position { get; init; }

    [Id(2)] public string Reason { get; init; } = string.Empty;
}

/// <summary>One environment: its spec, the admission of rollouts, and its host index. Key: the name.</summary>
[Alias("IEnvironmentGrain")]
public interface IEnvironmentGrain : IGrainWithStringKey
{
    [Alias("Configure")]
    Task<EnvironmentSnapshot> Configure(EnvironmentSpec spec);

    [Alias("Get")]
    Task<EnvironmentSnapshot?> Get();

    /// <summary>
    /// <see cref="Configure(EnvironmentSpec)"/> if <paramref name="precondition"/> holds; otherwise a
    /// <see cref="ErrorKind.PreconditionFailed"/> refusal and no change.
    /// </summary>
    [Alias("ConfigureIf")]
    Task<CommandResult<EnvironmentSnapshot>> Configure(EnvironmentSpec spec, EnvironmentPrecondition precondition);

    /// <summary>
    /// Registers hosts (agents, or a simulated fleet) and adds them to the label index in one write.
    /// Idempotent: registering a host again updates its labels.
    /// </summary>
    [Alias("RegisterHosts")]
    Task<IReadOnlyList<CommandResult<HostSnapshot>>> RegisterHosts(IReadOnlyList<HostEnrollment> hosts);

    [Alias("GetHostIndex")]
    Task<IReadOnlyList<HostIndexEntry>> GetHostIndex();

    /// <summary>
    /// Asks for a concurrency slot. Rollouts are admitted in FIFO order while fewer than the limit run, and
    /// never two of the same service at once (they would fight over the same hosts). Idempotent: asking again
    /// returns the rollout's current admission. A queued rollout is told of its admission with
    /// <see cref="IRolloutGrain.OnAdmitted"/>.
    /// </summary>
    [Alias("RequestSlot")]
    Task<Admission> RequestSlot(string rolloutId, string service);

    /// <summary>Gives a slot (or a place in the queue) back and admits the next rollout in line.</summary>
    [Alias("ReleaseSlot")]
    Task ReleaseSlot(string rolloutId);

    [Alias("RecordDeployed")]
    Task RecordDeployed(string service, DeployedVersion version);

    /// <summary>
    /// A release that was recorded as deployed was rolled back: the service's version returns to
    /// <paramref name="previous"/> (or to unknown), unless a later release has been recorded since.
    /// </summary>
    [Alias("RestoreDeployed")]
    Task RestoreDeployed(string service, string releaseId, DeployedVersion? previous);

    /// <summary>Blue-green: records which slot serves the service now.</summary>
    [Alias("SetActiveSlot")]
    Task SetActiveSlot(string service, string slot);

    /// <summary>
    /// The most hosts the environment may hold (an ephemeral environment's declared quota; null: no limit). Registering
    /// hosts beyond it is refused (<see cref="ErrorKind.PolicyRefused"/>) and nothing of that batch is registered.
    /// </summary>
    [Alias("SetHostQuota")]
    Task SetHostQuota(int? quota);

    /// <summary>Hosts leave the index (an immutable rollout replaced them, or rolled its new hosts back).</summary>
    [Alias("RemoveHosts")]
    Task RemoveHosts(IReadOnlyList<string> hostIds);

    /// <summary>Rollouts of the service holding a slot or waiting for one, in admission order.</summary>
    [Alias("RolloutsOf")]
    Task<IReadOnlyList<string>> RolloutsOf(string service);

    /// <summary>
    /// Sets hosts aside that never acknowledged a rollout's rollback: listed on the environment and excluded from the
    /// targets of later rollouts until an operator clears them. Idempotent (a host keeps its first quarantine).
    /// </summary>
    [Alias("Quarantine")]
    Task Quarantine(IReadOnlyList<string> hostIds, string rolloutId, string reason);

    /// <summary>An operator has dealt with a quarantined host: later rollouts target it again. NotFound when it is not quarantined here.</summary>
    [Alias("ClearQuarantine")]
    Task<CommandResult<EnvironmentSnapshot>> ClearQuarantine(string hostId, string actor, string? reason);
}

/// <summary>The names of all environments, for listing. Key: <see cref="GrainKeys.EnvironmentRegistry"/>.</summary>
[Alias("IEnvironmentRegistryGrain")]
public interface IEnvironmentRegistryGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task Add(string environment);

    [Alias("List")]
    Task<IReadOnlyList<string>> List();
}
