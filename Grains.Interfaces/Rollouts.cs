using Deploy.Engine.Domain.Rollouts;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>A rolling strategy as declared (strings, validated by the Domain parser).</summary>
[GenerateSerializer, Immutable]
[Alias("RollingStrategySpec")]
public sealed record RollingStrategySpec
{
    /// <summary>Only "rolling" for now.</summary>
    [Id(0)] public string Type { get; init; } = "rolling";

    [Id(1)] public string? MaxSurge { get; init; }

    [Id(2)] public string? MaxUnavailable { get; init; }

    [Id(3)] public MinimumHealthyHostsSpec? MinimumHealthyHosts { get; init; }

    /// <summary>OneAtATime, HalfAtATime or AllAtOnce (CodeDeploy presets).</summary>
    [Id(4)] public string? Preset { get; init; }

    /// <summary>Failure budget: hosts ("2") or a share of the targets ("5%") that may fail before rollback.</summary>
    [Id(5)] public string? MaxFailures { get; init; }

    /// <summary>How long a batch may take before its silent hosts count as failed.</summary>
    [Id(6)] public int? ProgressDeadlineSeconds { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("MinimumHealthyHostsSpec")]
public sealed record MinimumHealthyHostsSpec
{
    /// <summary>HOST_COUNT or FLEET_PERCENT.</summary>
    [Id(0)] public string? Type { get; init; }

    [Id(1)] public int? Value { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("RolloutDraft")]
public sealed record RolloutDraft
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public required RollingStrategySpec Strategy { get; init; }

    [Id(3)] public required string SubmittedBy { get; init; }

    /// <summary>Labels a host must all carry to be a target; empty targets every host of the environment.</summary>
    [Id(4)] public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();
}

/// <summary>A decision the rollout took, with a reason a person can read.</summary>
[GenerateSerializer, Immutable]
[Alias("RolloutDecision")]
public sealed record RolloutDecision
{
    [Id(0)] public DateTimeOffset At { get; init; }

    [Id(1)] public required string Kind { get; init; }

    [Id(2)] public required string Reason { get; init; }

    /// <summary>"engine" for automatic decisions, otherwise the operator's key name.</summary>
    [Id(3)] public required string Actor { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("HostCounts")]
public sealed record HostCounts
{
    [Id(0)] public int Targets { get; init; }

    [Id(1)] public int Untouched { get; init; }

    [Id(2)] public int Updating { get; init; }

    [Id(3)] public int Updated { get; init; }

    [Id(4)] public int Failed { get; init; }

    [Id(5)] public int RollingBack { get; init; }

    [Id(6)] public int RolledBack { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("RolloutSnapshot")]
public sealed record RolloutSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string ReleaseId { get; init; }

    [Id(2)] public required string Environment { get; init; }

    [Id(3)] public required string Service { get; init; }

    [Id(4)] public required string Version { get; init; }

    [Id(5)] public required string Artifact { get; init; }

    [Id(6)] public RolloutStatus Status { get; init; }

    /// <summary>Why the rollout is where it is: the last decision's reason.</summary>
    [Id(7)] public string? StatusReason { get; init; }

    [Id(8)] public required RollingStrategySpec Strategy { get; init; }

    /// <summary>Hosts per batch, from the plan; empty until the rollout is admitted.</summary>
    [Id(9)] public IReadOnlyList<int> Batches { get; init; } = [];

    /// <summary>1-based batch in flight, 0 before the first.</summary>
    [Id(10)] public int CurrentBatch { get; init; }

    [Id(11)] public required HostCounts Hosts { get; init; }

    [Id(12)] public int AllowedFailures { get; init; }

    [Id(13)] public IReadOnlyList<RolloutDecision> Decisions { get; init; } = [];

    [Id(14)] public DateTimeOffset CreatedAt { get; init; }

    [Id(15)] public DateTimeOffset? StartedAt { get; init; }

    [Id(16)] public DateTimeOffset? FinishedAt { get; init; }

    [Id(17)] public int QueuePosition { get; init; }

    [Id(18)] public required string SubmittedBy { get; init; }

    /// <summary>Why hosts failed (the first 50), by host id.</summary>
    [Id(19)] public IReadOnlyDictionary<string, string> Failures { get; init; } = new Dictionary<string, string>();

    [Id(20)] public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();

    /// <summary>The silo driving the rollout now (diagnostics: it moves on failover).</summary>
    [Id(21)] public string? Silo { get; init; }
}

/// <summary>The execution of one release in one environment. Key: <see cref="GrainKeys.Rollout"/>.</summary>
[Alias("IRolloutGrain")]
public interface IRolloutGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task<CommandResult<RolloutSnapshot>> Start(RolloutDraft draft);

    [Alias("Get")]
    Task<RolloutSnapshot?> Get();

    [Alias("Pause")]
    Task<CommandResult<RolloutSnapshot>> Pause(OperatorAction action);

    [Alias("Resume")]
    Task<CommandResult<RolloutSnapshot>> Resume(OperatorAction action);

    [Alias("Abort")]
    Task<CommandResult<RolloutSnapshot>> Abort(OperatorAction action);

    [Alias("Rollback")]
    Task<CommandResult<RolloutSnapshot>> Rollback(OperatorAction action);

    /// <summary>The environment admitted this rollout from its queue.</summary>
    [OneWay]
    [Alias("OnAdmitted")]
    Task OnAdmitted();

    /// <summary>A host finished (or failed) this rollout's command. One-way: hosts never wait on rollouts.</summary>
    [OneWay]
    [Alias("OnHostReported")]
    Task OnHostReported(HostCommandStatus status);
}
