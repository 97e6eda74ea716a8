using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Interfaces;

[GenerateSerializer]
[Alias("EnvironmentTier")]
public enum EnvironmentTier
{
    Development = 0,
    Staging = 1,
    Production = 2,
}

[GenerateSerializer]
[Alias("DataClassification")]
public enum DataClassification
{
    Synthetic = 0,
    Anonymised = 1,
    Production = 2,
}

[GenerateSerializer, Immutable]
[Alias("ServiceBaselineSpec")]
public sealed record ServiceBaselineSpec
{
    [Id(0)] public string? Version { get; init; }

    /// <summary>The hash of the service's rendered configuration, <c>sha256:</c> + 64 hex digits.</summary>
    [Id(1)] public string? ConfigHash { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("BaselineSpec")]
public sealed record BaselineSpec
{
    [Id(0)] public IReadOnlyDictionary<string, ServiceBaselineSpec> Services { get; init; } = new Dictionary<string, ServiceBaselineSpec>();

    /// <summary>Runtime facts such as <c>os-image</c>.</summary>
    [Id(1)] public IReadOnlyDictionary<string, string> Runtime { get; init; } = new Dictionary<string, string>();
}

[GenerateSerializer, Immutable]
[Alias("HostGroupSpec")]
public sealed record HostGroupSpec
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

[GenerateSerializer, Immutable]
[Alias("DataSourceSpec")]
public sealed record DataSourceSpec
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public DataClassification Classification { get; init; }
}

/// <summary>An ephemeral environment: who owns it, how long it lives, how many hosts it may hold.</summary>
[GenerateSerializer, Immutable]
[Alias("EphemeralSpec")]
public sealed record EphemeralSpec
{
    [Id(0)] public required string Owner { get; init; }

    [Id(1)] public long TtlSeconds { get; init; }

    [Id(2)] public int HostQuota { get; init; }
}

/// <summary>A declared environment: what it is (tier, protection, data), where it sits in promotion, what it must run.</summary>
[GenerateSerializer, Immutable]
[Alias("EnvironmentDeclaration")]
public sealed record EnvironmentDeclaration
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public EnvironmentTier Tier { get; init; }

    [Id(2)] public bool Protected { get; init; }

    /// <summary>The environment a release must have succeeded in first (promotion order).</summary>
    [Id(3)] public string? After { get; init; }

    /// <summary>Gates whose passing results a release needs (recorded in <see cref="After"/>, or here when first in order).</summary>
    [Id(4)] public IReadOnlyList<string> Gates { get; init; } = new List<string>();

    [Id(5)] public IReadOnlyList<HostGroupSpec> HostGroups { get; init; } = new List<HostGroupSpec>();

    [Id(6)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    [Id(7)] public DataClassification DataClassification { get; init; }

    [Id(8)] public IReadOnlyList<DataSourceSpec> DataSources { get; init; } = new List<DataSourceSpec>();

    [Id(9)] public BaselineSpec Baseline { get; init; } = new();

    [Id(10)] public EphemeralSpec? Ephemeral { get; init; }

    /// <summary>When given, the environment's spec takes these (as PUT /v1/environments/{name} does).</summary>
    [Id(11)] public int? ConcurrencyLimit { get; init; }

    [Id(12)] public string? Description { get; init; }

    /// <summary>Recovery objectives: RTO per strategy, where rollbacks are drilled, how long a drill counts, the rollback deadline.</summary>
    [Id(150)] public RollbackObjectivesSpec? Rollback { get; init; }
}

/// <summary>
/// <c>rollback: {rto: {rolling: 5m, blueGreen: 1m}, drillEnvironment: staging, drillFreshness: 30d, timeout: 10m}</c>.
/// In a production environment that declares an RTO, a rollout waits until its rollback was drilled (see docs/rollouts.md).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("RollbackObjectivesSpec")]
public sealed record RollbackObjectivesSpec
{
    /// <summary>Strategy (rolling, canary, blueGreen, immutable) → the recovery time objective in seconds.</summary>
    [Id(0)] public IReadOnlyDictionary<string, long> RtoSeconds { get; init; } = new Dictionary<string, long>();

    /// <summary>The non-production environment whose drills count here; null: the environment declared before this one (<c>after</c>).</summary>
    [Id(1)] public string? DrillEnvironment { get; init; }

    /// <summary>A drill older than this no longer counts (default 30 days).</summary>
    [Id(2)] public long DrillFreshnessSeconds { get; init; } = 30 * 86_400;

    /// <summary>How long a rollback here may take before its silent hosts are quarantined; null: the strategy's own.</summary>
    [Id(3)] public long? TimeoutSeconds { get; init; }
}

/// <summary>A declaration as stored, with its history of who declared it and, for an ephemeral one, its end.</summary>
[GenerateSerializer, Immutable]
[Alias("EnvironmentDeclarationSnapshot")]
public sealed record EnvironmentDeclarationSnapshot
{
    [Id(0)] public required EnvironmentDeclaration Declaration { get; init; }

    /// <summary>1 on the first declaration, one more on each change (a re-declaration or accepted drift).</summary>
    [Id(1)] public long Version { get; init; }

    [Id(2)] public DateTimeOffset DeclaredAt { get; init; }

    [Id(3)] public string DeclaredBy { get; init; } = string.Empty;

    /// <summary>When it was first declared: an ephemeral environment's time to live counts from here.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }

    [Id(5)] public DateTimeOffset? ExpiresAt { get; init; }

    [Id(6)] public DateTimeOffset? TornDownAt { get; init; }

    [Id(7)] public string? TornDownReason { get; init; }
}

[GenerateSerializer]
[Alias("DeclarationChangeState")]
public enum DeclarationChangeState
{
    Pending = 0,
    Approved = 1,
    Rejected = 2,
}

/// <summary>One field a declaration change changes, by its path in the declaration (null: absent on that side).</summary>
[GenerateSerializer, Immutable]
[Alias("DeclarationFieldChange")]
public sealed record DeclarationFieldChange
{
    [Id(0)] public required string Field { get; init; }

    [Id(1)] public string? Before { get; init; }

    [Id(2)] public string? After { get; init; }
}

/// <summary>
/// What a declaration change and a parameter change share: the proposal that the one change rule
/// (<see cref="Domain.Environments.ChangeProposals"/>) decides. Each snapshot keeps these members under the same names
/// and ids, so that the API shows both alike.
/// </summary>
public interface IChangeProposalSnapshot
{
    string Id { get; }

    DeclarationChangeState State { get; }

    string ProposedBy { get; }

    long ProposedAgainst { get; }

    int ApprovalsRequired { get; }

    IReadOnlyList<string> ApprovedBy { get; }

    string? DecidedBy { get; }
}

/// <summary>
/// A proposed change to the declaration of a production-tier or protected environment: applied only when the required
/// number of change authorities other than the proposer approve it, onto the version it was proposed against.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("DeclarationChangeSnapshot")]
public sealed record DeclarationChangeSnapshot : IChangeProposalSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public DeclarationChangeState State { get; init; }

    [Id(3)] public required EnvironmentDeclaration Proposed { get; init; }

    /// <summary>The declaration version the change was proposed against; an approval applies it only onto that version.</summary>
    [Id(4)] public long ProposedAgainst { get; init; }

    [Id(5)] public IReadOnlyList<DeclarationFieldChange> Differences { get; init; } = new List<DeclarationFieldChange>();

    [Id(6)] public required string ProposedBy { get; init; }

    [Id(7)] public string ProposedByRoles { get; init; } = string.Empty;

    [Id(8)] public DateTimeOffset ProposedAt { get; init; }

    /// <summary>Why it needs approval (production tier, declared protected, protected by configuration).</summary>
    [Id(9)] public string ApprovalNeeded { get; init; } = string.Empty;

    [Id(10)] public string? DecidedBy { get; init; }

    [Id(11)] public DateTimeOffset? DecidedAt { get; init; }

    [Id(12)] public string? DecisionReason { get; init; }

    /// <summary>The declaration version the approval produced.</summary>
    [Id(13)] public long? AppliedVersion { get; init; }

    /// <summary>Change authorities other than the proposer who must approve (<c>Governance:DeclarationChangeApprovals</c> when proposed).</summary>
    [Id(14)] public int ApprovalsRequired { get; init; } = 1;

    /// <summary>Who approved so far, in order; the change applies with the approval that reaches <see cref="ApprovalsRequired"/>.</summary>
    [Id(15)] public IReadOnlyList<string> ApprovedBy { get; init; } = [];
}

/// <summary>A declaration either applied now, or proposed as a pending change awaiting a change authority.</summary>
[GenerateSerializer, Immutable]
[Alias("DeclarationOutcome")]
public sealed record DeclarationOutcome
{
    [Id(0)] public EnvironmentDeclarationSnapshot? Applied { get; init; }

    [Id(1)] public DeclarationChangeSnapshot? Pending { get; init; }
}

/// <summary>What an agent reports a host runs: per service, and runtime facts.</summary>
[GenerateSerializer, Immutable]
[Alias("ServiceFactsReport")]
public sealed record ServiceFactsReport
{
    [Id(0)] public string? Version { get; init; }

    [Id(1)] public string? Artifact { get; init; }

    [Id(2)] public string? ConfigHash { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("HostFactsReport")]
public sealed record HostFactsReport
{
    [Id(0)] public IReadOnlyDictionary<string, ServiceFactsReport> Services { get; init; } = new Dictionary<string, ServiceFactsReport>();

    [Id(1)] public IReadOnlyDictionary<string, string> Runtime { get; init; } = new Dictionary<string, string>();

    [Id(2)] public DateTimeOffset ReportedAt { get; init; }

    [Id(3)] public string? ReportedBy { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("DriftField")]
public sealed record DriftField
{
    [Id(0)] public required string Field { get; init; }

    [Id(1)] public string? Expected { get; init; }

    [Id(2)] public string? Actual { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("DriftedHost")]
public sealed record DriftedHost
{
    [Id(0)] public required string HostId { get; init; }

    [Id(1)] public IReadOnlyList<DriftField> Fields { get; init; } = new List<DriftField>();

    [Id(2)] public DateTimeOffset ReportedAt { get; init; }
}

/// <summary>The last drift scan of an environment: hosts whose reported facts differ from the declared baseline.</summary>
[GenerateSerializer, Immutable]
[Alias("DriftReport")]
public sealed record DriftReport
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public DateTimeOffset ScannedAt { get; init; }

    /// <summary>The declaration version the scan compared against.</summary>
    [Id(2)] public long DeclarationVersion { get; init; }

    [Id(3)] public int HostsScanned { get; init; }

    [Id(4)] public IReadOnlyList<DriftedHost> Drifted { get; init; } = new List<DriftedHost>();

    /// <summary>Hosts whose agents have not reported facts: nothing to compare.</summary>
    [Id(5)] public IReadOnlyList<string> Unreported { get; init; } = new List<string>();
}

[GenerateSerializer]
[Alias("ReconcileMode")]
public enum ReconcileMode
{
    Reapply = 0,
    Accept = 1,
}

/// <summary>What a reconcile did.</summary>
[GenerateSerializer, Immutable]
[Alias("ReconcileOutcome")]
public sealed record ReconcileOutcome
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public ReconcileMode Mode { get; init; }

    [Id(2)] public IReadOnlyList<string> Hosts { get; init; } = new List<string>();

    /// <summary>Accept: the baseline fields that took the hosts' values.</summary>
    [Id(3)] public IReadOnlyList<DriftField> Accepted { get; init; } = new List<DriftField>();

    /// <summary>Reapply: the rollouts started to bring the hosts back to the declared versions.</summary>
    [Id(4)] public IReadOnlyList<string> Rollouts { get; init; } = new List<string>();

    /// <summary>Drift a rollout cannot repair (runtime facts, undeclared services), each with why.</summary>
    [Id(5)] public IReadOnlyList<string> NotReapplied { get; init; } = new List<string>();

    [Id(6)] public long DeclarationVersion { get; init; }
}

[GenerateSerializer]
[Alias("GateStatus")]
public enum GateStatus
{
    Passed = 0,
    Failed = 1,
}

/// <summary>One gate result a pipeline posted against a release for an environment.</summary>
[GenerateSerializer, Immutable]
[Alias("GateResult")]
public sealed record GateResult
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public required string Gate { get; init; }

    [Id(2)] public GateStatus Status { get; init; }

    [Id(3)] public string? Url { get; init; }

    [Id(4)] public string? Details { get; init; }

    [Id(5)] public string RecordedBy { get; init; } = string.Empty;

    [Id(6)] public DateTimeOffset RecordedAt { get; init; }
}

/// <summary>Who did something, with which roles: kept in the audited event.</summary>
[GenerateSerializer, Immutable]
[Alias("Actor")]
public sealed record Actor
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public string Roles { get; init; } = string.Empty;

    [Id(2)] public string? Reason { get; init; }
}

/// <summary>An environment's declaration, drift scan and lifecycle. Key: the environment name.</summary>
[Alias("IEnvironmentDeclarationGrain")]
public interface IEnvironmentDeclarationGrain : IGrainWithStringKey
{
    /// <summary>Stores a validated declaration (creating the environment when it does not exist) and starts its reminders.</summary>
    [Alias("Declare")]
    Task<CommandResult<EnvironmentDeclarationSnapshot>> Declare(EnvironmentDeclaration declaration, Actor actor);

    /// <summary>
    /// A declaration from the API: checked against <paramref name="precondition"/> (If-Match / If-None-Match: *) in the
    /// same turn as the write. A new declaration, or one of an environment neither production tier nor protected, is
    /// applied now; otherwise it becomes a pending change (or, with <paramref name="directOnly"/>, is refused).
    /// </summary>
    [Alias("Propose")]
    Task<CommandResult<DeclarationOutcome>> Propose(EnvironmentDeclaration declaration, Actor actor, EnvironmentPrecondition precondition, bool directOnly);

    /// <summary>Approves (applies onto the version it was proposed against) or rejects a pending change; never by its proposer.</summary>
    [Alias("Decide")]
    Task<CommandResult<DeclarationChangeSnapshot>> Decide(string changeId, bool approve, Actor actor);

    /// <summary>The declaration changes proposed here, newest first (pending and the last decided ones).</summary>
    [AlwaysInterleave]
    [Alias("Changes")]
    Task<IReadOnlyList<DeclarationChangeSnapshot>> Changes();

    [AlwaysInterleave]
    [Alias("Get")]
    Task<EnvironmentDeclarationSnapshot?> Get();

    [AlwaysInterleave]
    [Alias("GetDrift")]
    Task<DriftReport?> GetDrift();

    /// <summary>Scans now (the reminder does the same on its interval).</summary>
    [Alias("ScanDrift")]
    Task<DriftReport?> ScanDrift();

    /// <summary>Writes the named hosts' (or every drifted host's) actual facts into the baseline.</summary>
    [Alias("AcceptDrift")]
    Task<CommandResult<ReconcileOutcome>> AcceptDrift(IReadOnlyList<string>? hosts, Actor actor);

    /// <summary>Records (and publishes) a reapply the API started through normal rollouts.</summary>
    [Alias("RecordReapplied")]
    Task RecordReapplied(ReconcileOutcome outcome, Actor actor);

    /// <summary>Tears the environment down now if it is ephemeral and expired (the sweep reminder does the same).</summary>
    [Alias("Sweep")]
    Task<EnvironmentDeclarationSnapshot?> Sweep();

    /// <summary>
    /// The plain environment PUT (concurrency limit, description), checked against the declaration in this grain's
    /// turn: an existing environment whose declaration changes only through approval (production tier, declared or
    /// configured protected) is refused (Conflict) unless nothing would change; otherwise the environment grain applies
    /// it under <paramref name="precondition"/>.
    /// </summary>
    [Alias("ConfigureEnvironment")]
    Task<CommandResult<EnvironmentSnapshot>> ConfigureEnvironment(EnvironmentSpec spec, EnvironmentPrecondition precondition);
}

/// <summary>The facts an agent last reported for one host. Key: the host id.</summary>
[Alias("IHostFactsGrain")]
public interface IHostFactsGrain : IGrainWithStringKey
{
    [Alias("Report")]
    Task Report(HostFactsReport facts);

    [Alias("Get")]
    Task<HostFactsReport?> Get();
}

/// <summary>Gate results posted against one release. Key: the release id.</summary>
[Alias("IReleaseGatesGrain")]
public interface IReleaseGatesGrain : IGrainWithStringKey
{
    [Alias("Record")]
    Task<IReadOnlyList<GateResult>> Record(GateResult result, Actor actor);

    [Alias("List")]
    Task<IReadOnlyList<GateResult>> List();
}

/// <summary>Release metadata keys that declared environments read.</summary>
public static class EnvironmentMetadataKeys
{
    /// <summary>
    /// <c>dataSources.{environment}</c>: the data sources (comma-separated names) the release's configuration points that
    /// environment at; checked against the declared data sources' classifications (isolation).
    /// </summary>
    public const string DataSourcesPrefix = "dataSources.";

    /// <summary>On a release created by a drift reconcile: the release whose declared state it re-applies.</summary>
    public const string Reconciles = "reconciles";
}
