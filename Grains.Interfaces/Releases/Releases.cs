namespace Deploy.Engine.Grains.Interfaces;

/// <summary>What a pipeline declares when it submits a release.</summary>
[GenerateSerializer, Immutable]
[Alias("ReleaseDraft")]
public sealed record ReleaseDraft
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public required string Version { get; init; }

    /// <summary>The artifact's content address, <c>sha256:</c> + 64 hex digits.</summary>
    [Id(2)] public required string Artifact { get; init; }

    [Id(3)] public string? Commit { get; init; }

    [Id(4)] public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    [Id(5)] public required string SubmittedBy { get; init; }

    /// <summary>standard (when null), emergency or major.</summary>
    [Id(100)] public string? Class { get; init; }

    /// <summary>What the pipeline declares about the change's risk; the classifier scores it per environment.</summary>
    [Id(101)] public ReleaseRiskDeclaration? Risk { get; init; }

    /// <summary>The change record this release implements (required before a protected environment).</summary>
    [Id(102)] public string? ChangeRecord { get; init; }

    [Id(103)] public IReadOnlyList<KnownIssue> KnownIssues { get; init; } = [];

    /// <summary>When the release's commit was made (the pipeline declares it): the start of its DORA lead time.</summary>
    [Id(104)] public DateTimeOffset? CommitTime { get; init; }

    /// <summary>
    /// Set only by the engine's drift reconcile (never from a request): the release this one re-applies. The promotion
    /// gate counts the original's promotion history for it when service, version, artifact and commit are the same.
    /// </summary>
    [Id(105)] public string? ReconcileOf { get; init; }

    /// <summary>The release's place in an expand/contract schema change; null: undeclared.</summary>
    [Id(150)] public ReleaseSchema? Schema { get; init; }
}

/// <summary>
/// <c>schema: {phase: contract, requires: 3, drops: 2}</c>: the phase (expand, migrate, contract), the schema version the
/// release needs, and for a contract the old version whose support it removes (see Domain/Schema/SchemaRules).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("ReleaseSchema")]
public sealed record ReleaseSchema
{
    /// <summary>expand, migrate or contract.</summary>
    [Id(0)] public required string Phase { get; init; }

    [Id(1)] public int Requires { get; init; }

    [Id(2)] public int? Drops { get; init; }

    public Domain.Schema.SchemaDeclaration? ToDomain() =>
        Domain.Schema.SchemaRules.Phase(Phase) is { } phase ? new(phase, Requires, Drops) : null;
}

[GenerateSerializer, Immutable]
[Alias("ReleaseSnapshot")]
public sealed record ReleaseSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string Version { get; init; }

    [Id(3)] public required string Artifact { get; init; }

    [Id(4)] public string? Commit { get; init; }

    [Id(5)] public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    [Id(6)] public required string SubmittedBy { get; init; }

    [Id(7)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Rollouts of this release, one per environment, in the order they were started.</summary>
    [Id(8)] public IReadOnlyList<string> Rollouts { get; init; } = [];

    /// <summary>
    /// Environment → the provenance facts verified for this release there (builder, source, commit). Filled in by the
    /// API from the release's evidence (<see cref="IReleaseEvidenceGrain"/>); never stored with the release.
    /// </summary>
    [Id(180)] public IReadOnlyDictionary<string, VerifiedProvenance>? Provenance { get; init; }
    /// <summary>standard, emergency or major.</summary>
    [Id(100)] public string Class { get; init; } = "standard";

    [Id(101)] public ReleaseRiskDeclaration Risk { get; init; } = new();

    [Id(102)] public string? ChangeRecord { get; init; }

    /// <summary>Known issues and their workarounds, shown wherever the release is shown.</summary>
    [Id(103)] public IReadOnlyList<KnownIssue> KnownIssues { get; init; } = [];

    /// <summary>Every approval and rejection, per environment, in the order given.</summary>
    [Id(104)] public IReadOnlyList<ApprovalRecord> Approvals { get; init; } = [];

    /// <summary>Readiness checklist sign-offs, in the order given.</summary>
    [Id(105)] public IReadOnlyList<ReadinessRecord> Readiness { get; init; } = [];

    /// <summary>The keys that created this release's rollouts: like the submitter, none of them may authorise it (four eyes).</summary>
    [Id(106)] public IReadOnlyList<string> DeployedBy { get; init; } = [];

    /// <summary>When the release's commit was made, as the pipeline declared it (null: not declared).</summary>
    [Id(107)] public DateTimeOffset? CommitTime { get; init; }

    /// <summary>The release a drift reconcile re-applies with this one (<see cref="ReleaseDraft.ReconcileOf"/>); null for every other release.</summary>
    [Id(108)] public string? ReconcileOf { get; init; }

    /// <summary>The release's place in an expand/contract schema change; null: undeclared.</summary>
    [Id(150)] public ReleaseSchema? Schema { get; init; }
}

/// <summary>One release: what is being released. Key: the release id.</summary>
[Alias("IReleaseGrain")]
public interface IReleaseGrain : IGrainWithStringKey
{
    /// <summary>Creates the release; creating it again with the same draft returns it unchanged (409 otherwise).</summary>
    [Alias("Create")]
    Task<CommandResult<ReleaseSnapshot>> Create(ReleaseDraft draft);

    [Alias("Get")]
    Task<ReleaseSnapshot?> Get();

    /// <summary>Records a rollout of this release and the key that created it (<see cref="ReleaseSnapshot.DeployedBy"/>).</summary>
    [Alias("AddRollout")]
    Task AddRollout(string rolloutId, string deployedBy);

    /// <summary>
    /// Takes back a release whose submission was not acknowledged (its audit entry could not be written): the release
    /// is removed as if never created. Refused (false) once a rollout names it.
    /// </summary>
    [Alias("Withdraw")]
    Task<bool> Withdraw();

    /// <summary>
    /// An approval or rejection for one environment. Refused by policy: the submitter voting on their own release,
    /// a principal in no approver group. Persisted before it returns; published as approval.given / approval.rejected.
    /// </summary>
    [Alias("Vote")]
    Task<CommandResult<ReleaseSnapshot>> Vote(ApprovalCommand command);

    /// <summary>Signs off one readiness checklist item (an item not in the configured checklist is a validation error).</summary>
    [Alias("SignOff")]
    Task<CommandResult<ReleaseSnapshot>> SignOff(ReadinessCommand command);
}
