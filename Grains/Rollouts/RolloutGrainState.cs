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
}

[GenerateSerializer]
[Alias("RollbackCause")]
public enum RollbackCause
{
    None = 0,
    FailureBudget = 1,
    Operator = 2,
    Abort = 3,
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

    [Id(5)] public RollingStrategySpec Strategy { get; set; } = new();

    [Id(6)] public string SubmittedBy { get; set; } = string.Empty;

    [Id(7)] public RolloutStatus Status { get; set; }

    [Id(8)] public string? StatusReason { get; set; }

    [Id(9)] public DateTimeOffset CreatedAt { get; set; }

    [Id(10)] public DateTimeOffset? StartedAt { get; set; }

    [Id(11)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The plan: host ids per batch, fixed when the rollout is admitted.</summary>
    [Id(12)] public List<List<string>> Batches { get; set; } = [];

    [Id(13)] public int AllowedFailures { get; set; }

    [Id(14)] public int CurrentBatch { get; set; } = -1;

    [Id(15)] public DateTimeOffset? BatchDeadline { get; set; }

    [Id(16)] public Dictionary<string, HostPhase> Hosts { get; set; } = [];

    [Id(17)] public List<RolloutDecision> Decisions { get; set; } = [];

    [Id(18)] public RollbackCause RollbackCause { get; set; }

    [Id(19)] public int QueuePosition { get; set; }

    [Id(20)] public int ProgressDeadlineSeconds { get; set; }

    /// <summary>A reason per failed host (bounded to the first few, for the API).</summary>
    [Id(21)] public Dictionary<string, string> Failures { get; set; } = [];

    [Id(22)] public Dictionary<string, string> Selector { get; set; } = [];

    /// <summary>What the environment recorded for the service before this rollout: restored if it is rolled back after success.</summary>
    [Id(23)] public DeployedVersion? PreviousDeployed { get; set; }
}
