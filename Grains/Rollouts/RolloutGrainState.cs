using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Rollouts;

/// <summary>Where one target host stands in this rollout.</summary>
[GenerateSerializer]
[Alias("HostPhase")]
public enum HostPhase
{
    Untouched = 0,
    Updating = 1,
    Updated = 2,
    Failed = 3,
    RollingBack = 4,
    RolledBack = 5,

    /// <summary>Left the environment: an old host an immutable rollout replaced, or a new one its rollback removed.</summary>
    Retired = 6,

    /// <summary>Did not acknowledge its rollback command by the rollback's deadline: set aside in the environment until an operator clears it.</summary>
    Quarantined = 7,
}

[GenerateSerializer]
[Alias("RollbackCause")]
public enum RollbackCause
{
    None = 0,
    FailureBudget = 1,
    Operator = 2,
    Abort = 3,
    Trigger = 4,
    Deadline = 5,
    Superseded = 6,
    Analysis = 7,
}

/// <summary>One step of the plan as stored (the Domain plan, flattened to plain fields).</summary>
[GenerateSerializer]
[Alias("StoredStep")]
public sealed class StoredStep
{
    [Id(0)] public PlanStepKind Kind { get; set; }

    [Id(1)] public int Stage { get; set; }

    [Id(2)] public HostIds Hosts { get; set; } = [];

    [Id(3)] public int Weight { get; set; }

    /// <summary>Pause, analysis, bake, keep-warm; null for a pause that waits for a promote.</summary>
    [Id(4)] public TimeSpan? Duration { get; set; }

    [Id(5)] public string? FromSlot { get; set; }

    [Id(6)] public string? ToSlot { get; set; }

    [Id(7)] public string Description { get; set; } = string.Empty;

    /// <summary>An analysis step's canary judge, when it declares one.</summary>
    [Id(8)] public JudgeDeclaration? Judge { get; set; }

    /// <summary>An analysis step's threshold metrics, when it declares any.</summary>
    [Id(9)] public List<ThresholdMetricDeclaration> Metrics { get; set; } = [];

    /// <summary>An analysis step's dry-run rules (Argo's dryRun metricName patterns).</summary>
    [Id(10)] public List<string> DryRun { get; set; } = [];

    /// <summary>Whether this step runs a canary analysis (a judge, threshold metrics, or both).</summary>
    public bool Analyses => Judge is not null || Metrics.Count > 0;
}

[GenerateSerializer]
[Alias("RolloutGrainState")]
public sealed class RolloutGrainState
{
    [Id(0)] public string? ReleaseId { get; set; }

    [Id(1)] public string Environment { get; set; } = string.Empty;

    [Id(2)] public string Service { get; set; } = string.Empty;

    [Id(3)] public string Version { get; set; } = string.Empty;

    [Id(4)] public string Artifact { get; set; } = string.Empty;

    [Id(5)] public RolloutStrategySpec Strategy { get; set; } = new();

    [Id(6)] public string SubmittedBy { get; set; } = string.Empty;

    [Id(7)] public RolloutStatus Status { get; set; }

    [Id(8)] public string? StatusReason { get; set; }

    [Id(9)] public DateTimeOffset CreatedAt { get; set; }

    [Id(10)] public DateTimeOffset? StartedAt { get; set; }

    [Id(11)] public DateTimeOffset? FinishedAt { get; set; }

    [Id(13)] public int AllowedFailures { get; set; }

    [Id(16)] public HostPhases Hosts { get; set; } = [];

    [Id(17)] public List<RolloutDecision> Decisions { get; set; } = [];

    [Id(18)] public RollbackCause RollbackCause { get; set; }

    [Id(19)] public int QueuePosition { get; set; }

    [Id(20)] public int ProgressDeadlineSeconds { get; set; }

    /// <summary>A reason per failed host (bounded to the first few, for the API).</summary>
    [Id(21)] public Dictionary<string, string> Failures { get; set; } = [];

    [Id(22)] public Dictionary<string, string> Selector { get; set; } = [];

    /// <summary>What the environment recorded for the service before this rollout: restored if it is rolled back after success.</summary>
    [Id(23)] public DeployedVersion? PreviousDeployed { get; set; }

    /// <summary>The plan, fixed at admission.</summary>
    [Id(24)] public List<StoredStep> Steps { get; set; } = [];

    [Id(25)] public List<string> Stages { get; set; } = [];

    [Id(26)] public int CurrentStep { get; set; } = -1;

    [Id(27)] public DateTimeOffset? StepStartedAt { get; set; }

    /// <summary>The current step's action (traffic, switch, provision, retire) succeeded.</summary>
    [Id(28)] public bool StepActionDone { get; set; }

    /// <summary>Deploy: hosts must report by then. Pause for a promote: a human must act by then.</summary>
    [Id(29)] public DateTimeOffset? StepDeadline { get; set; }

    /// <summary>A paused rollout is held until then (null: held for a human with no further deadline).</summary>
    [Id(30)] public DateTimeOffset? HoldDeadline { get; set; }

    [Id(31)] public bool PromoteRequested { get; set; }

    [Id(32)] public int TrafficWeight { get; set; }

    [Id(33)] public string? ActiveSlot { get; set; }

    [Id(34)] public string? PreviousSlot { get; set; }

    /// <summary>Blue-green: the previous slot is warm until then; a rollback before it is a switch back.</summary>
    [Id(35)] public DateTimeOffset? WarmUntil { get; set; }

    /// <summary>Immutable: the hosts created for this release.</summary>
    [Id(36)] public List<string> Provisioned { get; set; } = [];

    /// <summary>Immutable: the old hosts' labels, kept to bring them back if the release is rolled back after they retired.</summary>
    [Id(37)] public Dictionary<string, Dictionary<string, string>> OldHosts { get; set; } = [];

    /// <summary>Latest sample of each target running the new version, for the rollback triggers.</summary>
    [Id(38)] public Dictionary<string, HostMetricsSample> Samples { get; set; } = [];

    [Id(39)] public string? Breach { get; set; }

    [Id(40)] public string? Supersedes { get; set; }

    [Id(41)] public string? SupersededBy { get; set; }

    /// <summary>Stored before rollback actions were an enum: read once on activation into <see cref="RollbackActions"/>, then empty.</summary>
    [Id(42)] public List<string> PendingRollbackActions { get; set; } = [];

    /// <summary>The stage the rollback covers; -1 for every stage.</summary>
    [Id(43)] public int RollbackStage { get; set; } = -1;

    [Id(45)] public SimulationProfile? ProvisionProfile { get; set; }

    /// <summary>Canary analyses of this rollout (ids), and the steps whose analysis has concluded.</summary>
    [Id(46)] public List<string> Analyses { get; set; } = [];

    [Id(47)] public List<int> ConcludedAnalyses { get; set; } = [];

    /// <summary>The gates holding this rollout at a step boundary (a freeze, an incident, no budget); null when none is.</summary>
    [Id(48)] public string? HeldByGate { get; set; }

    /// <summary>The last reason the admission gates gave for waiting (so a re-check that finds the same reason writes nothing).</summary>
    [Id(49)] public string? AdmissionHold { get; set; }

    /// <summary>Rollback actions still to carry out, in order (the rollback planner's plan).</summary>
    [Id(150)] public List<RollbackAction> RollbackActions { get; set; } = [];

    /// <summary>How the hosts of the rollback return: each to what it ran before, or to the previous release's artifact.</summary>
    [Id(151)] public RollbackMethod RollbackMethod { get; set; }

    /// <summary>The rollback must end by then: hosts that have not acknowledged are quarantined and the rollout escalates.</summary>
    [Id(152)] public DateTimeOffset? RollbackDeadline { get; set; }

    /// <summary>The rollback rolls back a release that had succeeded (the environment's record is restored when it ends).</summary>
    [Id(153)] public bool RollbackAfterSuccess { get; set; }

    /// <summary>Why the rollback was decided (the first part of its final reason).</summary>
    [Id(154)] public string? RollbackReason { get; set; }

    /// <summary>Blue-green: the rollback switched the active slot back.</summary>
    [Id(155)] public bool SwitchedBack { get; set; }

    /// <summary>The environment's declared rollback timeout (rollback.timeout) when the rollout was submitted, in seconds.</summary>
    [Id(156)] public long? EnvironmentRollbackTimeoutSeconds { get; set; }

    /// <summary>
    /// The events of the last commit, stored with it (an outbox) and published after it: an activation that finds them
    /// publishes them again, with the same ids, in case the commit's silo died or its publish failed in between.
    /// </summary>
    [Id(157)] public List<EngineEvent> Unannounced { get; set; } = [];
}
