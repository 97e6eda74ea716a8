using Deploy.Engine.Domain.Dora;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>One finished rollout as the DORA ledger keeps it (see <see cref="DeploymentRecord"/> for what each time is).</summary>
[GenerateSerializer, Immutable]
[Alias("DeliveryDeployment")]
public sealed record DeliveryDeployment
{
    [Id(0)] public required string RolloutId { get; init; }

    [Id(1)] public required string ReleaseId { get; init; }

    [Id(2)] public required string Service { get; init; }

    [Id(3)] public required string Environment { get; init; }

    [Id(4)] public DeploymentOutcome Outcome { get; init; }

    [Id(5)] public DateTimeOffset? StartedAt { get; init; }

    [Id(6)] public DateTimeOffset FinishedAt { get; init; }

    [Id(7)] public DateTimeOffset? SucceededAt { get; init; }

    [Id(8)] public DateTimeOffset? CommitTime { get; init; }

    [Id(9)] public DateTimeOffset ReleaseCreatedAt { get; init; }

    /// <summary>When the rollout was created (submitted for the environment).</summary>
    [Id(10)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Seconds of the rollout's life per wait kind, up to its end (or its success), from its decisions.</summary>
    [Id(11)] public IReadOnlyDictionary<WaitKind, double> Waits { get; init; } = new Dictionary<WaitKind, double>();

    public DeploymentTiming ToTiming() => new(CommitTime, ReleaseCreatedAt, CreatedAt, Waits);

    public DeploymentRecord ToDomain() =>
        new(RolloutId, ReleaseId, Service, Environment, Outcome, StartedAt, FinishedAt, SucceededAt, CommitTime, ReleaseCreatedAt);
}

/// <summary>An incident as the DORA ledger keeps it.</summary>
[GenerateSerializer, Immutable]
[Alias("DeliveryIncident")]
public sealed record DeliveryIncident
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public string? Service { get; init; }

    [Id(2)] public string? Environment { get; init; }

    /// <summary>The release the incident names as its cause, if it names one.</summary>
    [Id(3)] public string? ReleaseId { get; init; }

    [Id(4)] public DateTimeOffset DeclaredAt { get; init; }

    [Id(5)] public DateTimeOffset? ResolvedAt { get; init; }

    public IncidentSpan ToDomain() => new(Id, Service, Environment, ReleaseId, DeclaredAt, ResolvedAt);
}

[GenerateSerializer, Immutable]
[Alias("DeliveryLedgerSnapshot")]
public sealed record DeliveryLedgerSnapshot
{
    [Id(0)] public IReadOnlyList<DeliveryDeployment> Deployments { get; init; } = [];

    [Id(1)] public IReadOnlyList<DeliveryIncident> Incidents { get; init; } = [];

    [Id(2)] public IReadOnlyList<DeliveryGateRun> GateRuns { get; init; } = [];
}

/// <summary>A gate result a pipeline recorded for a release of the ledger's service (release.gate-recorded).</summary>
[GenerateSerializer, Immutable]
[Alias("DeliveryGateRun")]
public sealed record DeliveryGateRun
{
    /// <summary>The event's id: a redelivered event is recorded once.</summary>
    [Id(0)] public required string EventId { get; init; }

    [Id(1)] public required string ReleaseId { get; init; }

    [Id(2)] public required string Environment { get; init; }

    [Id(3)] public required string Gate { get; init; }

    [Id(4)] public bool Passed { get; init; }

    [Id(5)] public DateTimeOffset At { get; init; }

    public GateRun ToDomain() => new(ReleaseId, Environment, Gate, Passed, At);
}

/// <summary>
/// The DORA ledger: what the four keys are computed from, fed by engine events (never by polling). One grain per
/// service (<see cref="GrainKeys.DeliveryLedger"/>) holds its deployments; one (<see cref="GrainKeys.IncidentLedger"/>)
/// holds incidents. Bounded: records older than the retention go, and at most a fixed number are kept.
/// </summary>
[Alias("IDeliveryLedgerGrain")]
public interface IDeliveryLedgerGrain : IGrainWithStringKey
{
    /// <summary>Adds or updates (by rollout id) a deployment; the same record again changes nothing.</summary>
    [Alias("RecordDeployment")]
    Task RecordDeployment(DeliveryDeployment deployment);

    /// <summary>Adds or updates (by incident id) an incident; a resolution is kept once known.</summary>
    [Alias("RecordIncident")]
    Task RecordIncident(DeliveryIncident incident);

    /// <summary>Adds a gate result (once per event id).</summary>
    [Alias("RecordGateRun")]
    Task RecordGateRun(DeliveryGateRun run);

    [Alias("ReadLedger")]
    Task<DeliveryLedgerSnapshot> Read();
}

/// <summary>A service the ledger has seen, and the team that owns it (null: none declared).</summary>
[GenerateSerializer, Immutable]
[Alias("ServiceEntry")]
public sealed record ServiceEntry
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public string? Team { get; init; }

    [Id(2)] public string? TeamSetBy { get; init; }

    [Id(3)] public DateTimeOffset? TeamSetAt { get; init; }

    /// <summary>Bumped by every owner change (its ETag).</summary>
    [Id(4)] public long Version { get; init; }
}

/// <summary>Every service with deployments in the ledger, and each one's owning team. Key: <see cref="GrainKeys.ServiceCatalog"/>.</summary>
[Alias("IServiceCatalogGrain")]
public interface IServiceCatalogGrain : IGrainWithStringKey
{
    /// <summary>Notes a service (idempotent).</summary>
    [Alias("AddService")]
    Task Add(string service);

    /// <summary>Sets (or, with null, clears) the team that owns a service; audited.</summary>
    [Alias("SetTeam")]
    Task<ServiceEntry> SetTeam(string service, string? team, GovernanceActor actor);

    /// <summary>As <see cref="SetTeam(string, string?, GovernanceActor)"/>, when <paramref name="precondition"/> holds for the service's entry (checked in this turn).</summary>
    [Alias("SetTeamIfMatch")]
    Task<CommandResult<ServiceEntry>> SetTeam(string service, string? team, GovernanceActor actor, EnvironmentPrecondition precondition);

    /// <summary>One service's entry; null when the catalog does not know it.</summary>
    [Alias("GetService")]
    Task<ServiceEntry?> Get(string service);

    [Alias("ListServices")]
    Task<IReadOnlyList<ServiceEntry>> List();
}

public static class DeliveryTimings
{
    /// <summary>A rollout's decision log as <see cref="RolloutTiming"/> reads it.</summary>
    public static IReadOnlyList<TimedDecision> Timed(IEnumerable<RolloutDecision> decisions) =>
        decisions.Select(d => new TimedDecision(d.At, d.Kind, d.Actor, d.StepKind, d.Gates)).ToList();
}
