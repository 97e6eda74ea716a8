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
    public const string SlotAdmitted = Ext + "environment.slot-admitted";
    public const string SlotQueued = Ext + "environment.slot-queued";
    public const string SlotReleased = Ext + "environment.slot-released";

    /// <summary>Governance (gov-b): calendars, exceptions, incidents, dependencies, trains.</summary>
    public const string CalendarChanged = Ext + "calendar.changed";
    public const string FreezeExceptionGranted = Ext + "freeze-exception.granted";
    public const string IncidentDeclared = Ext + "incident.declared";
    public const string IncidentResolved = Ext + "incident.resolved";
    public const string DependenciesChanged = Ext + "dependencies.changed";
    public const string TrainCreated = Ext + "train.created";
    public const string TrainAborted = Ext + "train.aborted";
    public const string TrainSucceeded = Ext + "train.succeeded";
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
