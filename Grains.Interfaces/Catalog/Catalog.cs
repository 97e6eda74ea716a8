using Deploy.Engine.Domain.Rollouts;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>One rollout as the catalog lists it: what it is and where it stands, without its hosts.</summary>
[GenerateSerializer, Immutable]
[Alias("RolloutSummary")]
public sealed record RolloutSummary
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string ReleaseId { get; init; }

    [Id(2)] public required string Environment { get; init; }

    [Id(3)] public required string Service { get; init; }

    [Id(4)] public string Version { get; init; } = string.Empty;

    [Id(5)] public RolloutStatus Status { get; init; }

    /// <summary>The reason of the event that last changed the status.</summary>
    [Id(6)] public string? StatusReason { get; init; }

    /// <summary>When the rollout was created (its first event).</summary>
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the status last changed.</summary>
    [Id(8)] public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One release as the catalog lists it.</summary>
[GenerateSerializer, Immutable]
[Alias("ReleaseSummary")]
public sealed record ReleaseSummary
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string Version { get; init; }

    [Id(3)] public required string Artifact { get; init; }

    [Id(4)] public string? Commit { get; init; }

    [Id(5)] public required string SubmittedBy { get; init; }

    [Id(6)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>standard, emergency or major.</summary>
    [Id(7)] public string Class { get; init; } = "standard";
}

/// <summary>
/// Filters of a catalog read; null means any. <c>Scope*</c>: the caller's key scope (empty means unscoped): an entry
/// outside it is never returned, whatever the filters. <c>AfterCreatedAt</c>/<c>AfterId</c>: the cursor (both or neither).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("CatalogQuery")]
public sealed record CatalogQuery
{
    [Id(0)] public IReadOnlyList<RolloutStatus>? Statuses { get; init; }

    [Id(1)] public string? Environment { get; init; }

    [Id(2)] public string? Service { get; init; }

    [Id(3)] public string? Release { get; init; }

    [Id(4)] public string? Version { get; init; }

    [Id(5)] public DateTimeOffset? Since { get; init; }

    [Id(6)] public DateTimeOffset? AfterCreatedAt { get; init; }

    [Id(7)] public string? AfterId { get; init; }

    [Id(8)] public int Limit { get; init; } = 50;

    [Id(9)] public IReadOnlyList<string> ScopeEnvironments { get; init; } = [];

    [Id(10)] public IReadOnlyList<string> ScopeServices { get; init; } = [];

    /// <summary>Change records: one or more states (approved, pending, rejected).</summary>
    [Id(11)] public IReadOnlyList<string>? States { get; init; }

    /// <summary>Change records: upcoming, open or closed at <see cref="At"/> (<c>ChangeRecordRules.WindowPhase</c>).</summary>
    [Id(12)] public string? Window { get; init; }

    /// <summary>The instant <see cref="Window"/> is judged at (the API's clock).</summary>
    [Id(13)] public DateTimeOffset? At { get; init; }
}

/// <summary>A page of a newest-first list; <c>Next</c> is the opaque cursor of the following page, null on the last.</summary>
[GenerateSerializer, Immutable]
[Alias("CursorPage`1")]
public sealed record CursorPage<T>
{
    [Id(0)] public required IReadOnlyList<T> Items { get; init; }

    [Id(1)] public string? Next { get; init; }
}

/// <summary>
/// The persisted index of rollouts, fed by the event history's followers from the rollouts' own events (created and
/// every status change), so listing never activates a rollout. Key: <see cref="GrainKeys.RolloutCatalog"/>.
/// </summary>
[Alias("IRolloutCatalogGrain")]
public interface IRolloutCatalogGrain : IGrainWithStringKey
{
    /// <summary>Records what an event says about a rollout; an older report than the one held changes nothing.</summary>
    [Alias("Record")]
    Task Record(RolloutSummary summary);

    [Alias("Query")]
    Task<CursorPage<RolloutSummary>> Query(CatalogQuery query);
}

/// <summary>The persisted index of releases, written when a release is created. Key: <see cref="GrainKeys.ReleaseCatalog"/>.</summary>
[Alias("IReleaseCatalogGrain")]
public interface IReleaseCatalogGrain : IGrainWithStringKey
{
    [Alias("Record")]
    Task Record(ReleaseSummary summary);

    /// <summary>Forgets a release that was taken back (its creation was not acknowledged).</summary>
    [Alias("Remove")]
    Task Remove(string releaseId);

    [Alias("Query")]
    Task<CursorPage<ReleaseSummary>> Query(CatalogQuery query);
}

/// <summary>
/// The persisted index of the built-in change records, written by each record when it is created or changes state.
/// Key: <see cref="GrainKeys.ChangeRecordCatalog"/>.
/// </summary>
[Alias("IChangeRecordCatalogGrain")]
public interface IChangeRecordCatalogGrain : IGrainWithStringKey
{
    [Alias("Record")]
    Task Record(ChangeRecordSnapshot record);

    [Alias("Query")]
    Task<CursorPage<ChangeRecordSnapshot>> Query(CatalogQuery query);
}

/// <summary>How many hosts of one environment run each version of each service, and when that was counted.</summary>
[GenerateSerializer, Immutable]
[Alias("FleetVersions")]
public sealed record FleetVersions
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public int HostCount { get; init; }

    /// <summary>service → version → hosts running it (a host without a version counts under "none").</summary>
    [Id(2)] public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Services { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, int>>();

    [Id(3)] public DateTimeOffset CountedAt { get; init; }
}

/// <summary>
/// The versions running in one environment, counted from its hosts at most once per few seconds however many
/// dashboards ask (key: the environment name), so an overview never reads every host per page load.
/// </summary>
[Alias("IFleetVersionsGrain")]
public interface IFleetVersionsGrain : IGrainWithStringKey
{
    /// <summary>Null when the environment does not exist.</summary>
    [Alias("Get")]
    Task<FleetVersions?> Get();
}

/// <summary>What a catalog backfill found and recorded.</summary>
[GenerateSerializer, Immutable]
[Alias("CatalogBackfillReport")]
public sealed record CatalogBackfillReport
{
    [Id(0)] public long AuditEntriesRead { get; init; }

    [Id(1)] public int Releases { get; init; }

    [Id(2)] public int Rollouts { get; init; }

    [Id(3)] public int ChangeRecords { get; init; }

    [Id(4)] public DateTimeOffset CompletedAt { get; init; }
}

/// <summary>
/// Fills the catalogs with what was stored before they existed: every release, rollout and change record the audit
/// trail names. Key: <see cref="GrainKeys.CatalogBackfill"/>.
/// </summary>
[Alias("ICatalogBackfillGrain")]
public interface ICatalogBackfillGrain : IGrainWithStringKey
{
    /// <summary>Runs the backfill unless it has completed before (the catalogs call this when they activate, one-way).</summary>
    [OneWay]
    [Alias("EnsureOnce")]
    Task EnsureOnce();

    /// <summary>Runs it now, again if it ran before (recording what is already listed changes nothing).</summary>
    [Alias("Run")]
    Task<CatalogBackfillReport> Run();
}
