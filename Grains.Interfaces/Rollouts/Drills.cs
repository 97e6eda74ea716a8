namespace Deploy.Engine.Grains.Interfaces;

[GenerateSerializer]
[Alias("DrillStatus")]
public enum DrillStatus
{
    /// <summary>The drill's release is rolling out (it may wait in the environment's queue first).</summary>
    RollingForward = 0,

    /// <summary>The rollback was decided; the drill waits for every host to be back.</summary>
    RollingBack = 1,

    /// <summary>Every host came back on the previous artifact: <see cref="RollbackDrill.TimeToSafeSeconds"/> is measured.</summary>
    Succeeded = 2,

    /// <summary>The rollout forward failed, the rollback escalated, or the drill ran past its deadline.</summary>
    Failed = 3,
}

/// <summary>What an operator asks for: roll this release forward and back with this strategy, in the drill's environment.</summary>
[GenerateSerializer, Immutable]
[Alias("DrillCommand")]
public sealed record DrillCommand
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required RolloutStrategySpec Strategy { get; init; }

    /// <summary>The environment whose RTO the drill is measured against; null: the drill's own environment.</summary>
    [Id(2)] public string? Target { get; init; }

    [Id(3)] public required string Actor { get; init; }

    [Id(4)] public string? Roles { get; init; }

    [Id(5)] public string? Reason { get; init; }
}

/// <summary>One rollback drill: a release rolled forward and back in a non-production environment, and how long the way back took.</summary>
[GenerateSerializer, Immutable]
[Alias("RollbackDrill")]
public sealed record RollbackDrill
{
    /// <summary><c>drill-{n}</c>, unique within the environment.</summary>
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public required string Service { get; init; }

    /// <summary>The release drilled (its version and artifact).</summary>
    [Id(3)] public required string ReleaseId { get; init; }

    [Id(4)] public required string Version { get; init; }

    /// <summary>The rollout that carried the drill (GET /v1/rollouts/{id}); its release is the drilled one's copy.</summary>
    [Id(5)] public required string RolloutId { get; init; }

    /// <summary>rolling, canary, blueGreen or immutable.</summary>
    [Id(6)] public required string Strategy { get; init; }

    [Id(7)] public DrillStatus Status { get; init; }

    /// <summary>Why the drill is where it is (the rollout's state, the failure, the measured time).</summary>
    [Id(8)] public string? Reason { get; init; }

    [Id(9)] public required string RequestedBy { get; init; }

    [Id(10)] public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the rollback was decided (the start of the measured time).</summary>
    [Id(11)] public DateTimeOffset? RollbackDecidedAt { get; init; }

    /// <summary>When every host was back on the previous artifact (the end of the measured time).</summary>
    [Id(12)] public DateTimeOffset? SafeAt { get; init; }

    [Id(13)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Rollback decision → every host back on the previous artifact, in seconds.</summary>
    [Id(14)] public double? TimeToSafeSeconds { get; init; }

    /// <summary>The environment whose RTO the drill was measured against.</summary>
    [Id(15)] public required string RtoOf { get; init; }

    /// <summary>The RTO declared there for the strategy when the drill started; null when none is.</summary>
    [Id(16)] public long? RtoSeconds { get; init; }

    /// <summary>True when the time-to-safe was within the RTO (or no RTO is declared); false when over it or never safe; null while running.</summary>
    [Id(17)] public bool? MetRto { get; init; }

    /// <summary>Hosts the rollout targeted.</summary>
    [Id(18)] public int Hosts { get; init; }
}

/// <summary>
/// The rollback drills of one environment, newest first, and the one in flight. Key: the environment name. A drill is
/// driven by this grain (a timer while active, a reminder to survive a restart) through the same rollout and host grains
/// as any release.
/// </summary>
[Alias("IRollbackDrillsGrain")]
public interface IRollbackDrillsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts a drill: refused (PolicyRefused) in a production or undeclared environment, NotFound for an unknown release,
    /// Conflict while another drill runs here, and with the rollout's own refusal when its submit gates or plan refuse it.
    /// </summary>
    [Alias("Start")]
    Task<CommandResult<RollbackDrill>> Start(DrillCommand command);

    [Alias("List")]
    Task<IReadOnlyList<RollbackDrill>> List();

    [Alias("Get")]
    Task<RollbackDrill?> Get(string drillId);
}
