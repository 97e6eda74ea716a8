using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>One deployment window or freeze as stored and shown (see <see cref="CalendarEntry"/> for the rules).</summary>
[GenerateSerializer, Immutable]
[Alias("CalendarEntrySpec")]
public sealed record CalendarEntrySpec
{
    [Id(0)] public required string Name { get; init; }

    /// <summary><c>window</c> or <c>freeze</c>.</summary>
    [Id(1)] public required string Kind { get; init; }

    [Id(2)] public string? Cron { get; init; }

    [Id(3)] public TimeSpan? Duration { get; init; }

    [Id(4)] public string? TimeZone { get; init; }

    [Id(5)] public DateTimeOffset? Start { get; init; }

    [Id(6)] public DateTimeOffset? End { get; init; }

    [Id(7)] public string? Service { get; init; }

    [Id(8)] public string? Description { get; init; }
}

/// <summary>An environment's windows and freezes; <see cref="OutsideWindow"/> is <c>wait</c> (default) or <c>refuse</c>.</summary>
[GenerateSerializer, Immutable]
[Alias("CalendarSpec")]
public sealed record CalendarSpec
{
    [Id(0)] public IReadOnlyList<CalendarEntrySpec> Entries { get; init; } = [];

    [Id(1)] public string OutsideWindow { get; init; } = "wait";
}

/// <summary>An executive exception: one release through one freeze, from/until, with who granted it and why.</summary>
[GenerateSerializer, Immutable]
[Alias("FreezeExceptionRecord")]
public sealed record FreezeExceptionRecord
{
    [Id(0)] public required string Release { get; init; }

    [Id(1)] public required string Freeze { get; init; }

    [Id(2)] public required DateTimeOffset From { get; init; }

    [Id(3)] public required DateTimeOffset Until { get; init; }

    [Id(4)] public required string GrantedBy { get; init; }

    [Id(5)] public required string Reason { get; init; }

    [Id(6)] public DateTimeOffset GrantedAt { get; init; }

    [Id(7)] public string? GrantedByRole { get; init; }
}

/// <summary>An environment's governance: its calendar, the exceptions granted against it.</summary>
[GenerateSerializer, Immutable]
[Alias("CalendarSnapshot")]
public sealed record CalendarSnapshot
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public CalendarSpec Calendar { get; init; } = new();

    /// <summary>1 after the first calendar change, one more at every change; 0 when none was ever set.</summary>
    [Id(2)] public long Version { get; init; }

    [Id(3)] public IReadOnlyList<FreezeExceptionRecord> Exceptions { get; init; } = [];
}

/// <summary>An incident, active until resolved. A null environment and service is everything.</summary>
[GenerateSerializer, Immutable]
[Alias("IncidentRecord")]
public sealed record IncidentRecord
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public string? Environment { get; init; }

    [Id(2)] public string? Service { get; init; }

    [Id(3)] public required string Title { get; init; }

    [Id(4)] public required string Severity { get; init; }

    [Id(5)] public DateTimeOffset DeclaredAt { get; init; }

    [Id(6)] public required string DeclaredBy { get; init; }

    [Id(7)] public DateTimeOffset? ResolvedAt { get; init; }

    [Id(8)] public string? ResolvedBy { get; init; }

    /// <summary><c>api</c> or <c>webhook</c>.</summary>
    [Id(9)] public string Source { get; init; } = "api";

    [Id(10)] public string? Resolution { get; init; }

    /// <summary>The release suspected of causing the incident, when the declarer named one (DORA holds it against that release).</summary>
    [Id(11)] public string? ReleaseId { get; init; }

    /// <summary>
    /// The team the incident belongs to (the owner of its service, else the declaring key's one team; null: none known):
    /// only that team, its declarer or an incident commander (approver) resolves it.
    /// </summary>
    [Id(12)] public string? Team { get; init; }

    /// <summary>
    /// The release the engine found active for the incident's service in its environment when it was declared: the one
    /// rolling out there then, else the one last deployed there (null: the incident names no release and no service and
    /// environment, or nothing was deployed). Context for receivers; DORA links only a named <see cref="ReleaseId"/>.
    /// </summary>
    [Id(13)] public string? ActiveReleaseId { get; init; }

    /// <summary>How <see cref="ActiveReleaseId"/> was found: <c>rolling-out</c> or <c>deployed</c>.</summary>
    [Id(14)] public string? ActiveReleaseLink { get; init; }

    public bool Active => ResolvedAt is null;
}

/// <summary>Who does something to governance state, for the audit trail.</summary>
[GenerateSerializer, Immutable]
[Alias("GovernanceActor")]
public sealed record GovernanceActor
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public string? Role { get; init; }

    [Id(2)] public string? Reason { get; init; }
}

/// <summary>A rollout's request for the hosts its next step changes inside one budget scope.</summary>
[GenerateSerializer, Immutable]
[Alias("BlastLeaseRequest")]
public sealed record BlastLeaseRequest
{
    [Id(0)] public required string RolloutId { get; init; }

    [Id(1)] public required string Environment { get; init; }

    /// <summary>How many hosts of the scope the environment has (the denominator of a percentage budget).</summary>
    [Id(2)] public int HostsInScope { get; init; }

    [Id(3)] public IReadOnlyList<string> Hosts { get; init; } = [];

    [Id(4)] public double? MaxPercent { get; init; }

    [Id(5)] public int? MaxHosts { get; init; }
}

/// <summary>One rollout's lease: the hosts it may be changing, and the lease's number (changes at every grant).</summary>
[GenerateSerializer, Immutable]
[Alias("BlastLease")]
public sealed record BlastLease
{
    [Id(0)] public required string RolloutId { get; init; }

    [Id(1)] public required long Sequence { get; init; }

    [Id(2)] public IReadOnlyList<string> Hosts { get; init; } = [];

    [Id(3)] public DateTimeOffset GrantedAt { get; init; }

    [Id(4)] public string Environment { get; init; } = string.Empty;
}

[GenerateSerializer, Immutable]
[Alias("BlastLeaseResult")]
public sealed record BlastLeaseResult
{
    [Id(0)] public bool Granted { get; init; }

    [Id(1)] public int Limit { get; init; }

    /// <summary>Distinct hosts held by other rollouts.</summary>
    [Id(2)] public int ChangingElsewhere { get; init; }

    [Id(3)] public IReadOnlyList<BlastLease> Others { get; init; } = [];

    [Id(4)] public string Reason { get; init; } = string.Empty;

    [Id(5)] public long Sequence { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("BlastRadiusSnapshot")]
public sealed record BlastRadiusSnapshot
{
    [Id(0)] public required string Scope { get; init; }

    [Id(1)] public IReadOnlyList<BlastLease> Leases { get; init; } = [];

    [Id(2)] public IReadOnlyDictionary<string, int> HostsPerEnvironment { get; init; } = new Dictionary<string, int>();
}

/// <summary>One declared dependency of a service (wire shape of <see cref="ServiceDependency"/>).</summary>
[GenerateSerializer, Immutable]
[Alias("DependencySpec")]
public sealed record DependencySpec
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public required string Range { get; init; }
}

/// <summary>A service's dependencies per environment; the key <c>*</c> applies to every environment without its own list.</summary>
[GenerateSerializer, Immutable]
[Alias("ServiceDependenciesSnapshot")]
public sealed record ServiceDependenciesSnapshot
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public IReadOnlyDictionary<string, IReadOnlyList<DependencySpec>> ByEnvironment { get; init; } = new Dictionary<string, IReadOnlyList<DependencySpec>>();

    /// <summary><c>wait</c> (default) or <c>refuse</c>: what a release whose dependencies are not deployed does.</summary>
    [Id(2)] public string OnUnmet { get; init; } = "wait";

    /// <summary>Bumped by every write (its ETag); 0: never declared.</summary>
    [Id(3)] public long Version { get; init; }

    public IReadOnlyList<DependencySpec> For(string environment) =>
        ByEnvironment.GetValueOrDefault(environment) ?? ByEnvironment.GetValueOrDefault("*") ?? [];
}

[GenerateSerializer, Immutable]
[Alias("TrainDraft")]
public sealed record TrainDraft
{
    [Id(0)] public required IReadOnlyList<string> Releases { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public RolloutStrategySpec Strategy { get; init; } = new();

    [Id(3)] public required string SubmittedBy { get; init; }

    [Id(4)] public string? SubmitterRole { get; init; }
}

/// <summary>One member of a release train and where it is.</summary>
[GenerateSerializer, Immutable]
[Alias("TrainMember")]
public sealed record TrainMember
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string Version { get; init; }

    [Id(3)] public required string RolloutId { get; init; }

    /// <summary><c>waiting</c> (not started: an earlier member has not succeeded yet), or the rollout's status.</summary>
    [Id(4)] public string Status { get; init; } = "waiting";
}

[GenerateSerializer, Immutable]
[Alias("TrainSnapshot")]
public sealed record TrainSnapshot
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public required string Environment { get; init; }

    /// <summary>Members in the order they roll out (dependencies first).</summary>
    [Id(2)] public IReadOnlyList<TrainMember> Members { get; init; } = [];

    /// <summary><c>running</c>, <c>succeeded</c> or <c>aborted</c>.</summary>
    [Id(3)] public required string Status { get; init; }

    [Id(4)] public string? Reason { get; init; }

    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    [Id(6)] public required string SubmittedBy { get; init; }
}

/// <summary>An environment's calendar and exceptions. Key: the environment name.</summary>
[Alias("IEnvironmentCalendarGrain")]
public interface IEnvironmentCalendarGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<CalendarSnapshot> Get();

    /// <summary>Replaces the calendar (validated by the caller); persisted before it returns; publishes calendar.changed.</summary>
    [Alias("SetCalendar")]
    Task<CalendarSnapshot> SetCalendar(CalendarSpec calendar, GovernanceActor actor);

    /// <summary>
    /// Replaces the calendar when <paramref name="precondition"/> holds (If-Match on its version, If-None-Match: * while
    /// none was ever set), checked in the same turn as the write; otherwise a precondition refusal and no change.
    /// </summary>
    [Alias("ReplaceCalendar")]
    Task<CommandResult<CalendarSnapshot>> Replace(CalendarSpec calendar, GovernanceActor actor, EnvironmentPrecondition precondition);

    /// <summary>Grants an exception through a freeze of this calendar; refused (not found) when no such freeze is declared.</summary>
    [Alias("GrantException")]
    Task<CommandResult<CalendarSnapshot>> GrantException(FreezeExceptionRecord exception);

    /// <summary>A governance gate is holding this rollout (kept in memory, for the calendar view; refreshed at every recheck).</summary>
    [Alias("NoteHeld"), Orleans.Concurrency.OneWay]
    Task NoteHeld(string rolloutId);

    [Alias("Held")]
    Task<IReadOnlyList<string>> Held();
}

/// <summary>All incidents of the engine (few; one grain so resolve-by-id needs no index). Key: <see cref="GrainKeys.Incidents"/>.</summary>
[Alias("IIncidentsGrain")]
public interface IIncidentsGrain : IGrainWithStringKey
{
    /// <summary>Declares an incident; declaring an active one again (same id) returns it unchanged; a resolved id is a conflict.</summary>
    [Alias("Declare")]
    Task<CommandResult<IncidentRecord>> Declare(IncidentRecord incident, GovernanceActor actor);

    [Alias("Resolve")]
    Task<CommandResult<IncidentRecord>> Resolve(string id, GovernanceActor actor);

    [Alias("Active")]
    Task<IReadOnlyList<IncidentRecord>> Active();

    [Alias("GetIncident")]
    Task<IncidentRecord?> Get(string id);
}

/// <summary>One fleet-wide blast-radius budget. Key: the scope's canonical name (<c>region=eu-west</c>).</summary>
[Alias("IBlastRadiusGrain")]
public interface IBlastRadiusGrain : IGrainWithStringKey
{
    /// <summary>
    /// Replaces the rollout's lease with the requested hosts if they fit beside the other rollouts' leases; otherwise
    /// drops the rollout's lease (it is between steps: none of its hosts is changing) and says who holds the budget.
    /// </summary>
    [Alias("Lease")]
    Task<BlastLeaseResult> Lease(BlastLeaseRequest request);

    /// <summary>Frees a lease, only if it is still the one numbered <paramref name="sequence"/> (null: whichever it is).</summary>
    [Alias("Release")]
    Task Release(string rolloutId, long? sequence);

    [Alias("Get")]
    Task<BlastRadiusSnapshot> Get();
}

/// <summary>A service's declared dependencies. Key: the service name.</summary>
[Alias("IServiceDependenciesGrain")]
public interface IServiceDependenciesGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<ServiceDependenciesSnapshot> Get();

    /// <summary>Replaces the list for one environment (<c>*</c>: every environment without its own).</summary>
    [Alias("Set")]
    Task<ServiceDependenciesSnapshot> Set(string environment, IReadOnlyList<DependencySpec> dependsOn, string onUnmet, GovernanceActor actor);

    /// <summary>As <see cref="Set(string, IReadOnlyList{DependencySpec}, string, GovernanceActor)"/>, when <paramref name="precondition"/> holds (checked in this turn).</summary>
    [Alias("SetIfMatch")]
    Task<CommandResult<ServiceDependenciesSnapshot>> Set(
        string environment, IReadOnlyList<DependencySpec> dependsOn, string onUnmet, GovernanceActor actor, EnvironmentPrecondition precondition);
}

/// <summary>A release train: releases of several services that roll out in dependency order and abort together. Key: its name.</summary>
[Alias("IReleaseTrainGrain")]
public interface IReleaseTrainGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<CommandResult<TrainSnapshot>> Create(TrainDraft draft);

    [Alias("Get")]
    Task<TrainSnapshot?> Get();
}

/// <summary>Mapping between the wire shapes and the Domain's calendar and incident records.</summary>
public static class GovernanceMapping
{
    public static DeploymentCalendar ToDomain(this CalendarSpec spec) => new()
    {
        Entries = spec.Entries.Select(e => new CalendarEntry
        {
            Name = e.Name,
            Kind = string.Equals(e.Kind, "freeze", StringComparison.OrdinalIgnoreCase) ? CalendarEntryKind.Freeze : CalendarEntryKind.Window,
            Cron = e.Cron,
            Duration = e.Duration ?? TimeSpan.Zero,
            TimeZone = e.TimeZone ?? "UTC",
            Start = e.Start,
            End = e.End,
            Service = e.Service,
            Description = e.Description,
        }).ToList(),
        OutsideWindow = string.Equals(spec.OutsideWindow, "refuse", StringComparison.OrdinalIgnoreCase) ? OutsideWindowPolicy.Refuse : OutsideWindowPolicy.Wait,
    };

    public static FreezeException ToDomain(this FreezeExceptionRecord r) => new()
    {
        Release = r.Release,
        Freeze = r.Freeze,
        From = r.From,
        Until = r.Until,
        GrantedBy = r.GrantedBy,
        Reason = r.Reason,
        GrantedAt = r.GrantedAt,
    };

    public static ActiveIncident ToDomain(this IncidentRecord r) =>
        new(r.Id, new IncidentScope(r.Environment, r.Service), r.Title, r.Severity, r.DeclaredAt, r.DeclaredBy);
}
