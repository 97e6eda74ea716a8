namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Why a command was refused; the API maps each to a status code.</summary>
[GenerateSerializer]
[Alias("ErrorKind")]
public enum ErrorKind
{
    None = 0,
    NotFound = 1,
    Validation = 2,
    InvalidTransition = 3,
    Conflict = 4,
    PolicyRefused = 5,

    /// <summary>A conditional command whose precondition (If-Match, If-None-Match) did not hold; nothing changed.</summary>
    PreconditionFailed = 6,
}

/// <summary>The result of a command: the snapshot after it, or the refusal and its reason.</summary>
[GenerateSerializer, Immutable]
[Alias("CommandResult`1")]
public sealed record CommandResult<T>
    where T : class
{
    [Id(0)] public T? Value { get; init; }

    [Id(1)] public ErrorKind Error { get; init; }

    [Id(2)] public string? Detail { get; init; }

    [Id(3)] public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    public bool Ok => Error == ErrorKind.None;

    public static CommandResult<T> Success(T value) => new() { Value = value };

    public static CommandResult<T> Fail(ErrorKind error, string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        new() { Error = error, Detail = detail, Errors = errors };
}

/// <summary>Who asked for an operator action, and why; kept with the decision it caused.</summary>
[GenerateSerializer, Immutable]
[Alias("OperatorAction")]
public sealed record OperatorAction
{
    [Id(0)] public required string Actor { get; init; }

    [Id(1)] public string? Reason { get; init; }

    /// <summary>The roles the actor holds (comma-separated), recorded in the audit trail.</summary>
    [Id(2)] public string? Role { get; init; }
}

/// <summary>One engine event, shaped after CDEvents: a type, a subject, when, and why.</summary>
[GenerateSerializer, Immutable]
[Alias("EngineEvent")]
public sealed record EngineEvent
{
    [Id(0)] public required string Id { get; init; }

    /// <summary>A CDEvents type (dev.cdevents.service.deployed.0.2.0) or an engine extension (dev.cdeventsx.deploy-engine.*).</summary>
    [Id(1)] public required string Type { get; init; }

    /// <summary>What the event is about: <c>rollout/{id}</c>, <c>host/{id}</c>, <c>environment/{name}</c>.</summary>
    [Id(2)] public required string Subject { get; init; }

    [Id(3)] public required DateTimeOffset Timestamp { get; init; }

    [Id(4)] public string? Reason { get; init; }

    [Id(5)] public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>();

    /// <summary>Position in the history it was appended to; assigned by the history, 0 before.</summary>
    [Id(6)] public long Sequence { get; init; }
}

/// <summary>Event type names, after the CDEvents v0.4.1 vocabulary where one fits.</summary>
public static class EventTypes
{
    private const string Ext = "dev.cdeventsx.deploy-engine.";

    public const string PipelineRunQueued = "dev.cdevents.pipelinerun.queued.0.2.0";
    public const string PipelineRunStarted = "dev.cdevents.pipelinerun.started.0.2.0";
    public const string PipelineRunFinished = "dev.cdevents.pipelinerun.finished.0.2.0";
    public const string ServiceDeployed = "dev.cdevents.service.deployed.0.2.0";
    public const string ServiceRolledBack = "dev.cdevents.service.rolledback.0.2.0";
    public const string EnvironmentCreated = "dev.cdevents.environment.created.0.2.0";
    public const string EnvironmentModified = "dev.cdevents.environment.modified.0.2.0";

    public const string RolloutCreated = Ext + "rollout.created";

    /// <summary>A pipeline submitted a release (recorded in the audit trail).</summary>
    public const string ReleaseSubmitted = Ext + "release.submitted";
    public const string RolloutBatchStarted = Ext + "rollout.batch-started";
    public const string RolloutBatchCompleted = Ext + "rollout.batch-completed";
    public const string RolloutPaused = Ext + "rollout.paused";

    /// <summary>A gate (freeze, incident, approval, dependency, budget) holds a rollout that has not started yet; the reason says which.</summary>
    public const string RolloutHeld = Ext + "rollout.held";

    /// <summary>An emergency release went to production without the rollback drill its readiness gate asks for (audited with the reason).</summary>
    public const string RollbackDrillWaived = Ext + "rollout.drill-waived";
    public const string RolloutResumed = Ext + "rollout.resumed";
    public const string RolloutRollbackDecided = Ext + "rollout.rollback-decided";
    public const string RolloutFailed = Ext + "rollout.failed";
    public const string RolloutAborted = Ext + "rollout.aborted";
    /// <summary>
    /// Hosts a deploy step moved to the new version, named in <c>data.hosts</c> (comma-separated, at most
    /// <see cref="HostsPerEvent"/> per event): one event per chunk of a step, not one per host.
    /// </summary>
    public const string HostsUpdated = Ext + "hosts.updated";

    /// <summary>Hosts a rollback returned to their previous artifact, in chunks like <see cref="HostsUpdated"/>.</summary>
    public const string HostsReverted = Ext + "hosts.reverted";

    /// <summary>How many hosts one hosts.updated / hosts.reverted event names (keeps an event well under a queue message's 64 KiB).</summary>
    public const int HostsPerEvent = 500;
    public const string HostFailed = Ext + "host.failed";
    public const string HostRetired = Ext + "host.retired";
    public const string HostsProvisioned = Ext + "rollout.hosts-provisioned";
    public const string RolloutStepStarted = Ext + "rollout.step-started";
    public const string RolloutPromoted = Ext + "rollout.promoted";
    public const string RolloutSuperseded = Ext + "rollout.superseded";
    public const string TrafficShifted = Ext + "rollout.traffic-shifted";
    public const string SlotSwitched = Ext + "rollout.slot-switched";
    public const string TriggerBreached = Ext + "rollout.trigger-breached";
    public const string DeadlineExpired = Ext + "rollout.deadline-expired";

    /// <summary>A rollback did not end true by its deadline: data.hosts names the silent hosts the environment quarantined.</summary>
    public const string RollbackEscalated = Ext + "rollout.rollback-escalated";

    /// <summary>An operator cleared a quarantined host: later rollouts target it again.</summary>
    public const string QuarantineCleared = Ext + "environment.quarantine-cleared";
    public const string SlotAdmitted = Ext + "environment.slot-admitted";
    public const string SlotQueued = Ext + "environment.slot-queued";
    public const string SlotReleased = Ext + "environment.slot-released";

    /// <summary>An environment was declared or re-declared (tier, promotion order, gates, baseline); data: actor, role, version.</summary>
    public const string EnvironmentDeclared = Ext + "environment.declared";

    /// <summary>A drift scan found hosts whose reported facts differ from the declared baseline (or a different set than before).</summary>
    public const string DriftDetected = Ext + "environment.drift-detected";

    /// <summary>An operator reconciled drift: re-applied the declared state through rollouts, or accepted the facts into the baseline.</summary>
    public const string DriftReconciled = Ext + "environment.drift-reconciled";

    /// <summary>A pipeline recorded a gate result (performance test, security scan) against a release for an environment.</summary>
    public const string GateRecorded = Ext + "release.gate-recorded";

    /// <summary>A change to a governed (production-tier or protected) declaration was proposed; data: change, actor, fields.</summary>
    public const string DeclarationChangeProposed = Ext + "environment.declaration-change-proposed";

    /// <summary>A change authority approved a proposed declaration change; it was applied (data: change, version).</summary>
    public const string DeclarationChangeApproved = Ext + "environment.declaration-change-approved";

    /// <summary>A change authority approved a declaration change that needs more approvals; nothing was applied yet (data: change, approvals, required).</summary>
    public const string DeclarationChangeVoted = Ext + "environment.declaration-change-voted";

    /// <summary>A change authority rejected a proposed declaration change; nothing was applied.</summary>
    public const string DeclarationChangeRejected = Ext + "environment.declaration-change-rejected";

    /// <summary>An expired ephemeral environment was torn down: its hosts retired and released.</summary>
    public const string EnvironmentTornDown = Ext + "environment.torn-down";
    /// <summary>Bytes committed in the artifact store under their digest (first upload only).</summary>
    public const string ArtifactUploaded = Ext + "artifact.uploaded";

    /// <summary>An artifact registered by digest and external URL.</summary>
    public const string ArtifactRegistered = Ext + "artifact.registered";

    /// <summary>A retention run removed an artifact's bytes; the reason says why.</summary>
    public const string ArtifactDeleted = Ext + "artifact.deleted";

    /// <summary>Bytes did not hash to their digest (tampered store, or an agent's download); the reason names both digests.</summary>
    public const string ArtifactVerificationFailed = Ext + "artifact.verification-failed";

    /// <summary>An environment's parameter set was replaced; data names the parameters and secrets, never a secret's value.</summary>
    public const string ParametersChanged = Ext + "environment.parameters-changed";

    /// <summary>A parameter change was proposed for a production-tier or protected environment (data: change id, the names it changes).</summary>
    public const string ParameterChangeProposed = Ext + "environment.parameter-change-proposed";

    /// <summary>A change authority approved a parameter change; the set was replaced with it.</summary>
    public const string ParameterChangeApproved = Ext + "environment.parameter-change-approved";

    /// <summary>A change authority approved a parameter change that needs more approvals; nothing was applied yet (data: change, approvals, required).</summary>
    public const string ParameterChangeVoted = Ext + "environment.parameter-change-voted";

    /// <summary>A change authority rejected a parameter change, with the reason.</summary>
    public const string ParameterChangeRejected = Ext + "environment.parameter-change-rejected";

    /// <summary>A provenance attestation verified for an environment (data: builder, source, commit, keyid).</summary>
    public const string AttestationVerified = Ext + "attestation.verified";

    /// <summary>A provenance attestation refused (for every environment, or for one: data "environment"); the reason says why.</summary>
    public const string AttestationRejected = Ext + "attestation.rejected";

    public const string SbomAttached = Ext + "sbom.attached";

    public const string WaiverGranted = Ext + "waiver.granted";
    /// <summary>An approver approved a release for an environment.</summary>
    public const string ApprovalGiven = Ext + "approval.given";

    /// <summary>An approver rejected a release for an environment, with the reason.</summary>
    public const string ApprovalRejected = Ext + "approval.rejected";

    /// <summary>A readiness checklist item of a release was signed off.</summary>
    public const string ReadinessSigned = Ext + "readiness.signed";

    /// <summary>A change record of the built-in store was created or changed state.</summary>
    public const string ChangeRecordChanged = Ext + "change-record.changed";

    /// <summary>A failed or rolled-back rollout opened a post-implementation review.</summary>
    public const string ReviewOpened = Ext + "review.opened";

    /// <summary>A post-implementation review was filed (findings, root cause, actions).</summary>
    public const string ReviewFiled = Ext + "review.filed";
    /// <summary>Governance (gov-b): calendars, exceptions, incidents, dependencies, trains.</summary>
    public const string CalendarChanged = Ext + "calendar.changed";
    public const string FreezeExceptionGranted = Ext + "freeze-exception.granted";
    public const string IncidentDeclared = Ext + "incident.declared";
    public const string IncidentResolved = Ext + "incident.resolved";
    public const string DependenciesChanged = Ext + "dependencies.changed";
    public const string TrainCreated = Ext + "train.created";
    public const string TrainAborted = Ext + "train.aborted";
    public const string TrainSucceeded = Ext + "train.succeeded";

    /// <summary>An action item of a post-mortem changed status (data: review, action, status, actor, role).</summary>
    public const string ReviewActionUpdated = Ext + "review.action-updated";

    /// <summary>An approver adopted a readiness-checklist item the engine proposed from recurring contributing factors.</summary>
    public const string ChecklistItemAdopted = Ext + "checklist.item-adopted";

    /// <summary>An approver dismissed a proposed readiness-checklist item.</summary>
    public const string ChecklistItemDismissed = Ext + "checklist.item-dismissed";

    /// <summary>The team that owns a service was set or cleared (data: service, team, actor, role).</summary>
    public const string ServiceOwnerChanged = Ext + "service.owner-changed";

    /// <summary>Webhooks (audit only): a subscription created, deleted, or dead letters re-driven; never with the secret.</summary>
    public const string WebhookSubscribed = Ext + "webhook.subscribed";
    public const string WebhookDeleted = Ext + "webhook.deleted";
    public const string WebhookRedriven = Ext + "webhook.redriven";

    /// <summary>An operator discarded dead letters of a webhook subscription (data: the count).</summary>
    public const string WebhookDiscarded = Ext + "webhook.dead-letters-discarded";

    /// <summary>A feature flag was set, deleted, moved with its release's canary, or turned off by its release's rollback; data: actor, flag, service, enabled, percentage.</summary>
    public const string FlagChanged = Ext + "flag.changed";

    /// <summary>A flag change in a protected environment was proposed, approved, rejected or superseded (data: change, flag, state, actor).</summary>
    public const string FlagChangeProposed = Ext + "flag.change-proposed";
    public const string FlagChangeDecided = Ext + "flag.change-decided";
}

/// <summary>A page of a longer list.</summary>
[GenerateSerializer, Immutable]
[Alias("Page`1")]
public sealed record Page<T>
{
    [Id(0)] public required IReadOnlyList<T> Items { get; init; }

    [Id(1)] public int Total { get; init; }

    [Id(2)] public int Offset { get; init; }

    [Id(3)] public int Limit { get; init; }
}
