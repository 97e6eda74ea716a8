namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Declared risk signals of a release (the classifier adds environment, fleet share, first deploy and history).</summary>
[GenerateSerializer, Immutable]
[Alias("ReleaseRiskDeclaration")]
public sealed record ReleaseRiskDeclaration
{
    [Id(0)] public bool CustomerFacing { get; init; }

    /// <summary>none, low or high.</summary>
    [Id(1)] public string Visibility { get; init; } = "none";

    /// <summary>none, compatible or breaking (not backward-compatible).</summary>
    [Id(2)] public string SchemaChange { get; init; } = "none";

    [Id(3)] public bool DataMigration { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("KnownIssue")]
public sealed record KnownIssue
{
    [Id(0)] public required string Issue { get; init; }

    [Id(1)] public string? Workaround { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ApprovalRecord")]
public sealed record ApprovalRecord
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public required string Approver { get; init; }

    /// <summary>approve or reject.</summary>
    [Id(2)] public required string Decision { get; init; }

    [Id(3)] public string? Reason { get; init; }

    [Id(4)] public DateTimeOffset At { get; init; }

    /// <summary>The approver groups the approver held when voting (evaluation uses the groups configured now).</summary>
    [Id(5)] public IReadOnlyList<string> Groups { get; init; } = [];
}

[GenerateSerializer, Immutable]
[Alias("ReadinessRecord")]
public sealed record ReadinessRecord
{
    [Id(0)] public required string Item { get; init; }

    /// <summary>Who signed off (may be a person without a key); defaults to the caller.</summary>
    [Id(1)] public required string SignedOffBy { get; init; }

    /// <summary>The caller who recorded the sign-off.</summary>
    [Id(2)] public required string RecordedBy { get; init; }

    [Id(3)] public string? Note { get; init; }

    [Id(4)] public DateTimeOffset At { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ApprovalCommand")]
public sealed record ApprovalCommand
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public required bool Approve { get; init; }

    [Id(2)] public string? Reason { get; init; }

    [Id(3)] public required string Actor { get; init; }

    [Id(4)] public string? Role { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ReadinessCommand")]
public sealed record ReadinessCommand
{
    [Id(0)] public required string Item { get; init; }

    [Id(1)] public string? SignedOffBy { get; init; }

    [Id(2)] public string? Note { get; init; }

    [Id(3)] public required string Actor { get; init; }

    [Id(4)] public string? Role { get; init; }
}

/// <summary>Where a release stands with the change process in one environment, and everything that blocks it.</summary>
[GenerateSerializer, Immutable]
[Alias("GovernanceSnapshot")]
public sealed record GovernanceSnapshot
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public required string Class { get; init; }

    /// <summary>Protected (production) environments need the approval, change-record and readiness gates.</summary>
    [Id(3)] public bool ProtectedEnvironment { get; init; }

    /// <summary>low, medium, high or critical.</summary>
    [Id(4)] public required string Risk { get; init; }

    [Id(5)] public int Score { get; init; }

    /// <summary>"3: environment 'prod' is protected", one per contribution.</summary>
    [Id(6)] public IReadOnlyList<string> Reasons { get; init; } = [];

    [Id(7)] public IReadOnlyList<string> RequiredGates { get; init; } = [];

    /// <summary>Who must approve ("1 approval from group cab").</summary>
    [Id(8)] public required string Approvers { get; init; }

    /// <summary>satisfied, pending, rejected or not-required.</summary>
    [Id(9)] public required string ApprovalState { get; init; }

    [Id(10)] public required string ApprovalSummary { get; init; }

    [Id(11)] public IReadOnlyList<string> ApprovedBy { get; init; } = [];

    /// <summary>Votes that did not count, and why (self-approval, expired, wrong group).</summary>
    [Id(12)] public IReadOnlyList<string> IgnoredVotes { get; init; } = [];

    /// <summary>complete, incomplete or not-required.</summary>
    [Id(13)] public required string ReadinessState { get; init; }

    [Id(14)] public IReadOnlyList<string> ReadinessMissing { get; init; } = [];

    [Id(15)] public string? ChangeRecord { get; init; }

    /// <summary>approved, pending, rejected, unknown, unavailable, missing or not-required.</summary>
    [Id(16)] public required string ChangeRecordState { get; init; }

    [Id(17)] public string? ChangeRecordDetail { get; init; }

    /// <summary>Open post-implementation reviews of the service (review ids).</summary>
    [Id(18)] public IReadOnlyList<string> OpenReviews { get; init; } = [];

    /// <summary>Why the release cannot enter the environment now, one line per gate; empty when nothing blocks.</summary>
    [Id(19)] public IReadOnlyList<string> Blocking { get; init; } = [];

    [Id(20)] public IReadOnlyList<KnownIssue> KnownIssues { get; init; } = [];
}

/// <summary>Evaluates governance for the API (a stateless worker over the silo's configuration).</summary>
[Alias("IGovernanceGrain")]
public interface IGovernanceGrain : IGrainWithIntegerKey
{
    /// <summary>Null when the release does not exist.</summary>
    [Alias("Evaluate")]
    Task<GovernanceSnapshot?> Evaluate(string releaseId, string environment);

    /// <summary>The configured readiness checklist items.</summary>
    [Alias("ReadinessItems")]
    Task<IReadOnlyList<string>> ReadinessItems();

    /// <summary>
    /// Protected: named in Governance:ProtectedEnvironments (configuration), or declared protected or production tier.
    /// Rollouts into it are submitted only by the pipeline role.
    /// </summary>
    [Alias("IsProtected")]
    Task<bool> IsProtected(string environment);

    /// <summary>
    /// Whether the release's approval in the environment waits for <paramref name="actor"/> (a key name, with the
    /// approver groups configured for it), with the governance view; null when the release does not exist.
    /// </summary>
    [Alias("WaitingFor")]
    Task<ApprovalWaitView?> WaitingFor(string releaseId, string environment, string actor);
}

/// <summary>An approval as one key's inbox sees it: whether it waits for that key, why, and the governance view.</summary>
[GenerateSerializer, Immutable]
[Alias("ApprovalWaitView")]
public sealed record ApprovalWaitView
{
    [Id(0)] public bool Waits { get; init; }

    /// <summary>"it needs 1 more approval from group cab; an approval from 'bob' counts", or why it does not wait for the key.</summary>
    [Id(1)] public required string Reason { get; init; }

    [Id(2)] public required GovernanceSnapshot Governance { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ChangeRecordSnapshot")]
public sealed record ChangeRecordSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Title { get; init; }

    /// <summary>approved, pending or rejected.</summary>
    [Id(2)] public required string State { get; init; }

    [Id(3)] public string? Description { get; init; }

    [Id(4)] public required string CreatedBy { get; init; }

    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    [Id(6)] public required string UpdatedBy { get; init; }

    [Id(7)] public DateTimeOffset UpdatedAt { get; init; }

    [Id(8)] public string? Reason { get; init; }

    /// <summary>The service the record authorises a change of; a record without one authorises nothing.</summary>
    [Id(9)] public string? Service { get; init; }

    /// <summary>The release it authorises (null: any release of <see cref="Service"/>).</summary>
    [Id(10)] public string? Release { get; init; }

    /// <summary>When the change window opens (null: at once).</summary>
    [Id(11)] public DateTimeOffset? Start { get; init; }

    /// <summary>When the change window closes: after it the record authorises nothing (a rollout still running is held).</summary>
    [Id(12)] public DateTimeOffset? End { get; init; }

    /// <summary>The key that approved it (null while not approved).</summary>
    [Id(13)] public string? ApprovedBy { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ChangeRecordCommand")]
public sealed record ChangeRecordCommand
{
    [Id(0)] public string? Title { get; init; }

    [Id(1)] public required string State { get; init; }

    [Id(2)] public string? Description { get; init; }

    [Id(3)] public string? Reason { get; init; }

    [Id(4)] public required string Actor { get; init; }

    [Id(5)] public string? Role { get; init; }

    /// <summary>At creation: the service, release and window the record is bound to (ignored by SetState).</summary>
    [Id(6)] public string? Service { get; init; }

    [Id(7)] public string? Release { get; init; }

    [Id(8)] public DateTimeOffset? Start { get; init; }

    [Id(9)] public DateTimeOffset? End { get; init; }
}

/// <summary>One change record of the built-in store. Key: the record id (e.g. CHG-1042).</summary>
[Alias("IChangeRecordGrain")]
public interface IChangeRecordGrain : IGrainWithStringKey
{
    /// <summary>Creates the record (Conflict if it exists).</summary>
    [Alias("Create")]
    Task<CommandResult<ChangeRecordSnapshot>> Create(ChangeRecordCommand command);

    /// <summary>Moves the record to another state (NotFound if it does not exist).</summary>
    [Alias("SetState")]
    Task<CommandResult<ChangeRecordSnapshot>> SetState(ChangeRecordCommand command);

    [Alias("Get")]
    Task<ChangeRecordSnapshot?> Get();
}

[GenerateSerializer, Immutable]
[Alias("ReviewSnapshot")]
public sealed record ReviewSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string RolloutId { get; init; }

    [Id(3)] public required string ReleaseId { get; init; }

    [Id(4)] public required string Environment { get; init; }

    /// <summary>How the rollout ended: RolledBack or Failed.</summary>
    [Id(5)] public required string Outcome { get; init; }

    [Id(6)] public string? OutcomeReason { get; init; }

    [Id(7)] public DateTimeOffset OpenedAt { get; init; }

    /// <summary>open or filed.</summary>
    [Id(8)] public string State { get; init; } = "open";

    [Id(9)] public string? Findings { get; init; }

    [Id(10)] public string? RootCause { get; init; }

    [Id(11)] public IReadOnlyList<string> Actions { get; init; } = [];

    [Id(12)] public string? FiledBy { get; init; }

    [Id(13)] public DateTimeOffset? FiledAt { get; init; }

    /// <summary>Incidents the post-mortem links (their audit entries join the timeline).</summary>
    [Id(14)] public IReadOnlyList<string> Incidents { get; init; } = [];

    /// <summary>Other rollouts the post-mortem links (besides <see cref="RolloutId"/>).</summary>
    [Id(15)] public IReadOnlyList<string> LinkedRollouts { get; init; } = [];

    /// <summary>Contributing factors, as canonical labels (<c>config-drift</c>); counted across reviews.</summary>
    [Id(16)] public IReadOnlyList<string> ContributingFactors { get; init; } = [];

    [Id(17)] public IReadOnlyList<ActionItem> ActionItems { get; init; } = [];
}

/// <summary>A follow-up of a post-mortem: what, who owns it, and whether it is done.</summary>
[GenerateSerializer, Immutable]
[Alias("ActionItem")]
public sealed record ActionItem
{
    /// <summary>1-based, in the order filed.</summary>
    [Id(0)] public int Number { get; init; }

    [Id(1)] public required string Title { get; init; }

    [Id(2)] public required string Owner { get; init; }

    /// <summary>open or done.</summary>
    [Id(3)] public string Status { get; init; } = "open";

    [Id(4)] public string? UpdatedBy { get; init; }

    [Id(5)] public DateTimeOffset? UpdatedAt { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ReviewFiling")]
public sealed record ReviewFiling
{
    [Id(0)] public required string Findings { get; init; }

    [Id(1)] public required string RootCause { get; init; }

    [Id(2)] public IReadOnlyList<string> Actions { get; init; } = [];

    [Id(3)] public required string Actor { get; init; }

    [Id(4)] public string? Role { get; init; }

    [Id(5)] public IReadOnlyList<string> ContributingFactors { get; init; } = [];

    [Id(6)] public IReadOnlyList<ActionItem> ActionItems { get; init; } = [];

    [Id(7)] public IReadOnlyList<string> Incidents { get; init; } = [];

    [Id(8)] public IReadOnlyList<string> LinkedRollouts { get; init; } = [];
}

/// <summary>Post-implementation reviews of one service. Key: the service name.</summary>
[Alias("IReviewBookGrain")]
public interface IReviewBookGrain : IGrainWithStringKey
{
    /// <summary>Opens the review of a failed or rolled-back rollout; opening it again changes nothing.</summary>
    [Alias("Open")]
    Task Open(ReviewSnapshot review);

    [Alias("List")]
    Task<IReadOnlyList<ReviewSnapshot>> List();

    /// <summary>Files an open review (InvalidTransition if already filed, NotFound if unknown).</summary>
    [Alias("File")]
    Task<CommandResult<ReviewSnapshot>> File(string reviewId, ReviewFiling filing);

    /// <summary>Sets an action item's status (open or done) on a filed review; audited.</summary>
    [Alias("UpdateAction")]
    Task<CommandResult<ReviewSnapshot>> UpdateAction(string reviewId, int number, string status, GovernanceActor actor);
}

/// <summary>The contributing factors one filed review named.</summary>
[GenerateSerializer, Immutable]
[Alias("ReviewFactorsRecord")]
public sealed record ReviewFactorsRecord
{
    [Id(0)] public required string ReviewId { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public IReadOnlyList<string> Factors { get; init; } = [];
}

/// <summary>An approver's decision on a proposed readiness-checklist item.</summary>
[GenerateSerializer, Immutable]
[Alias("ChecklistDecisionRecord")]
public sealed record ChecklistDecisionRecord
{
    [Id(0)] public required string Item { get; init; }

    /// <summary>adopted or dismissed.</summary>
    [Id(1)] public required string Decision { get; init; }

    [Id(2)] public required string DecidedBy { get; init; }

    [Id(3)] public DateTimeOffset DecidedAt { get; init; }

    [Id(4)] public string? Reason { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("LearningsSnapshot")]
public sealed record LearningsSnapshot
{
    [Id(0)] public IReadOnlyList<ReviewFactorsRecord> Reviews { get; init; } = [];

    [Id(1)] public IReadOnlyList<ChecklistDecisionRecord> Decisions { get; init; } = [];
}

/// <summary>
/// What the post-mortems teach: the contributing factors of every filed review, and the approvers' decisions on the
/// checklist items the engine proposes from recurring ones. Adopted items join the readiness checklist. Key:
/// <see cref="GrainKeys.Learnings"/>.
/// </summary>
[Alias("ILearningsGrain")]
public interface ILearningsGrain : IGrainWithStringKey
{
    /// <summary>Records a filed review's factors (again: replaces them).</summary>
    [Alias("NoteReview")]
    Task Note(ReviewFactorsRecord review);

    [Alias("GetLearnings")]
    Task<LearningsSnapshot> Get();

    /// <summary>Adopts or dismisses a proposed item: NotFound when it is not proposed, InvalidTransition once decided; audited.</summary>
    [Alias("DecideProposal")]
    Task<CommandResult<ChecklistDecisionRecord>> Decide(string item, bool adopt, GovernanceActor actor);

    /// <summary>The adopted checklist items, in the order adopted.</summary>
    [Alias("AdoptedItems")]
    Task<IReadOnlyList<string>> Adopted();
}
