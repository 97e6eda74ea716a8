namespace Deploy.Engine.Grains.Interfaces;

/// <summary>A release that names an artifact (linked when the release is created).</summary>
[GenerateSerializer, Immutable]
[Alias("ArtifactRelease")]
public sealed record ArtifactRelease
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string Version { get; init; }

    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What the engine knows about one artifact. Environments are derived from its releases' rollouts when read.</summary>
[GenerateSerializer, Immutable]
[Alias("ArtifactSnapshot")]
public sealed record ArtifactSnapshot
{
    [Id(0)] public required string Digest { get; init; }

    /// <summary>True when the bytes are in the engine's store; false for an artifact registered by external URL only.</summary>
    [Id(1)] public bool Stored { get; init; }

    [Id(2)] public long? Size { get; init; }

    [Id(3)] public string? UploadedBy { get; init; }

    [Id(4)] public DateTimeOffset? UploadedAt { get; init; }

    /// <summary>Where the bytes live when they are not in the store (https, no credentials).</summary>
    [Id(5)] public string? ExternalUrl { get; init; }

    [Id(6)] public string? RegisteredBy { get; init; }

    [Id(7)] public DateTimeOffset? RegisteredAt { get; init; }

    [Id(8)] public IReadOnlyList<ArtifactRelease> Releases { get; init; } = [];

    /// <summary>Set when a retention run removed the bytes; a new upload of the same digest stores them again.</summary>
    [Id(9)] public DateTimeOffset? DeletedAt { get; init; }

    [Id(10)] public string? DeletedWhy { get; init; }

    /// <summary>The last time stored bytes or an agent's download did not hash to the digest.</summary>
    [Id(11)] public string? LastVerificationFailure { get; init; }
}

/// <summary>Who did something to an artifact, for the audit trail.</summary>
[GenerateSerializer, Immutable]
[Alias("ArtifactActor")]
public sealed record ArtifactActor
{
    [Id(0)] public required string Name { get; init; }

    /// <summary>The caller's roles joined with ','.</summary>
    [Id(1)] public string Role { get; init; } = string.Empty;
}

/// <summary>One artifact's metadata. Key: its digest, <c>sha256:</c> + 64 hex digits.</summary>
[Alias("IArtifactGrain")]
public interface IArtifactGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<ArtifactSnapshot?> Get();

    /// <summary>The bytes are committed in the store under the digest; records who and when the first time (idempotent).</summary>
    [Alias("RecordUploaded")]
    Task<ArtifactSnapshot> RecordUploaded(long size, ArtifactActor actor);

    /// <summary>Registers an external URL; the same URL again is idempotent, another URL is a conflict.</summary>
    [Alias("RegisterExternal")]
    Task<CommandResult<ArtifactSnapshot>> RegisterExternal(string url, long? size, ArtifactActor actor);

    /// <summary>A release names this artifact (idempotent).</summary>
    [Alias("LinkRelease")]
    Task LinkRelease(ArtifactRelease release);

    /// <summary>Bytes that did not hash to the digest: stored bytes read back, or an agent's download.</summary>
    [Alias("RecordVerificationFailure")]
    Task RecordVerificationFailure(string computed, string where, ArtifactActor actor);

    /// <summary>A retention run removed the bytes, for the reason given.</summary>
    [Alias("RecordDeleted")]
    Task RecordDeleted(string why, ArtifactActor actor);
}

/// <summary>One entry of the artifact catalog: enough to list by service and to run retention.</summary>
[GenerateSerializer, Immutable]
[Alias("ArtifactCatalogEntry")]
public sealed record ArtifactCatalogEntry
{
    [Id(0)] public required string Digest { get; init; }

    [Id(1)] public IReadOnlyList<string> Services { get; init; } = [];

    [Id(2)] public DateTimeOffset AddedAt { get; init; }

    [Id(3)] public bool Stored { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("RetentionItem")]
public sealed record RetentionItem
{
    [Id(0)] public required string Digest { get; init; }

    [Id(1)] public required string Why { get; init; }
}

/// <summary>What a retention run removed and kept, each with the reason.</summary>
[GenerateSerializer, Immutable]
[Alias("RetentionReport")]
public sealed record RetentionReport
{
    [Id(0)] public IReadOnlyList<RetentionItem> Removed { get; init; } = [];

    [Id(1)] public IReadOnlyList<RetentionItem> Kept { get; init; } = [];

    [Id(2)] public DateTimeOffset RanAt { get; init; }

    [Id(3)] public bool DryRun { get; init; }
}

/// <summary>Every artifact the engine knows, for listing and retention. Key: <see cref="GrainKeys.ArtifactCatalog"/>.</summary>
[Alias("IArtifactCatalogGrain")]
public interface IArtifactCatalogGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task Add(string digest, string? service, bool stored);

    [Alias("List")]
    Task<IReadOnlyList<ArtifactCatalogEntry>> List(string? service);

    /// <summary>Applies the configured retention policy: removes the bytes of what it may, reports everything.</summary>
    [Alias("RunRetention")]
    Task<RetentionReport> RunRetention(ArtifactActor actor, bool dryRun);
}

/// <summary>The configuration templates a release carries (file name → template). Key: the release id.</summary>
[Alias("IReleaseConfigGrain")]
public interface IReleaseConfigGrain : IGrainWithStringKey
{
    /// <summary>Sets the templates once; the same templates again are idempotent, different ones a conflict (a release is immutable).</summary>
    [Alias("Set")]
    Task<CommandResult<ReleaseConfig>> Set(ReleaseConfig config);

    [Alias("Get")]
    Task<ReleaseConfig?> Get();
}

[GenerateSerializer, Immutable]
[Alias("ReleaseConfig")]
public sealed record ReleaseConfig
{
    [Id(0)] public IReadOnlyDictionary<string, string> Templates { get; init; } = new Dictionary<string, string>();

    [Id(1)] public string? SetBy { get; init; }

    [Id(2)] public DateTimeOffset SetAt { get; init; }
}

/// <summary>
/// An environment's parameters. Secret values arrive here already protected (ASP.NET Core Data Protection in the
/// API): this grain, its state and its events never see a secret in clear.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("ParameterSet")]
public sealed record ParameterSet
{
    [Id(0)] public IReadOnlyDictionary<string, string> Values { get; init; } = new Dictionary<string, string>();

    /// <summary>Name → protected payload.</summary>
    [Id(1)] public IReadOnlyDictionary<string, string> ProtectedSecrets { get; init; } = new Dictionary<string, string>();

    [Id(2)] public long Version { get; init; }

    [Id(3)] public string? UpdatedBy { get; init; }

    [Id(4)] public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One environment's parameter set. Key: the environment name.</summary>
[Alias("IEnvironmentParametersGrain")]
public interface IEnvironmentParametersGrain : IGrainWithStringKey
{
    /// <summary>Replaces the whole set; publishes parameters.changed with the names only.</summary>
    [Alias("Replace")]
    Task<ParameterSet> Replace(ParameterSet parameters, ArtifactActor actor);

    [Alias("Get")]
    Task<ParameterSet?> Get();

    /// <summary>
    /// Replaces the set when <paramref name="precondition"/> holds (If-Match / If-None-Match, checked in this turn;
    /// the set exists once written). In a production-tier or protected environment nothing is replaced: the set becomes
    /// a pending parameter change that change authorities other than the proposer approve (as many as a declaration change
    /// of the environment needs) or reject.
    /// </summary>
    [Alias("Propose")]
    Task<CommandResult<ParameterOutcome>> Propose(ParameterSet parameters, ArtifactActor actor, EnvironmentPrecondition precondition);

    /// <summary>
    /// Approves a pending parameter change (kept until enough authorities approved; then applied, only onto the version
    /// it was proposed against) or rejects it.
    /// </summary>
    [Alias("DecideChange")]
    Task<CommandResult<ParameterChangeSnapshot>> Decide(string changeId, bool approve, Actor actor);

    /// <summary>Pending parameter changes and the last decided ones, newest first.</summary>
    [Alias("Changes")]
    Task<IReadOnlyList<ParameterChangeSnapshot>> Changes();
}

/// <summary>
/// A proposed replacement of a production-tier or protected environment's parameter set, decided by the same rule as a
/// declaration change of that environment (<see cref="IChangeProposalSnapshot"/>). <see cref="Proposed"/> holds the
/// secrets protected, as the set does; the API never shows them.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("ParameterChangeSnapshot")]
public sealed record ParameterChangeSnapshot : IChangeProposalSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public DeclarationChangeState State { get; init; }

    [Id(3)] public required ParameterSet Proposed { get; init; }

    /// <summary>The parameter-set version the change was proposed against (0: none yet); an approval applies it only onto that version.</summary>
    [Id(4)] public long ProposedAgainst { get; init; }

    /// <summary>Per parameter (<c>values.x</c>) or secret (<c>secrets.x</c>): before and after; a secret shows only whether it is set.</summary>
    [Id(5)] public IReadOnlyList<DeclarationFieldChange> Differences { get; init; } = new List<DeclarationFieldChange>();

    [Id(6)] public required string ProposedBy { get; init; }

    [Id(7)] public string ProposedByRoles { get; init; } = string.Empty;

    [Id(8)] public DateTimeOffset ProposedAt { get; init; }

    [Id(9)] public string ApprovalNeeded { get; init; } = string.Empty;

    [Id(10)] public string? DecidedBy { get; init; }

    [Id(11)] public DateTimeOffset? DecidedAt { get; init; }

    [Id(12)] public string? DecisionReason { get; init; }

    /// <summary>The parameter-set version the approval produced.</summary>
    [Id(13)] public long? AppliedVersion { get; init; }

    /// <summary>
    /// Change authorities other than the proposer who must approve (the environment's change-approval setting when
    /// proposed). A change stored before this member existed reads 0: it needs what the setting asks now.
    /// </summary>
    [Id(14)] public int ApprovalsRequired { get; init; } = 1;

    /// <summary>Who approved so far, in order; the change applies with the approval that reaches <see cref="ApprovalsRequired"/>.</summary>
    [Id(15)] public IReadOnlyList<string> ApprovedBy { get; init; } = [];
}

/// <summary>A parameter set either replaced now, or proposed as a pending change awaiting a change authority.</summary>
[GenerateSerializer, Immutable]
[Alias("ParameterOutcome")]
public sealed record ParameterOutcome
{
    [Id(0)] public ParameterSet? Applied { get; init; }

    [Id(1)] public ParameterChangeSnapshot? Pending { get; init; }
}
