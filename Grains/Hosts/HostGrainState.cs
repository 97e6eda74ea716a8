using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Hosts;

[GenerateSerializer]
[Alias("HostGrainState")]
public sealed class HostGrainState
{
    [Id(0)] public string? Environment { get; set; }

    [Id(1)] public Dictionary<string, string> Labels { get; set; } = [];

    // Ids 2-8 and 11-14 held the one service a host had before hosts ran several; a stored host moves them into its
    // unnamed slot on activation (HostGrain.MoveLegacySlot) and they stay empty afterwards.
    [Id(2)] public HostState State { get; set; }

    [Id(3)] public string? CurrentArtifact { get; set; }

    [Id(4)] public string? CurrentVersion { get; set; }

    [Id(5)] public string? DesiredArtifact { get; set; }

    [Id(6)] public string? DesiredVersion { get; set; }

    [Id(7)] public string? PreviousArtifact { get; set; }

    [Id(8)] public string? PreviousVersion { get; set; }

    [Id(9)] public bool Healthy { get; set; } = true;

    [Id(10)] public DateTimeOffset? LastHeartbeat { get; set; }

    [Id(11)] public string? Rollout { get; set; }

    [Id(12)] public HostCommand? Command { get; set; }

    [Id(13)] public CommandOutcome CommandOutcome { get; set; }

    [Id(14)] public string? LastError { get; set; }

    [Id(15)] public SimulationProfile? Simulation { get; set; }

    [Id(16)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Each service the host runs, by name; "" is the unnamed slot of a host registered without a service.</summary>
    [Id(17)] public Dictionary<string, ServiceSlot> Services { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Grows with every change of any service's desired state; agents long-poll on it.</summary>
    [Id(18)] public long Generation { get; set; }

    /// <summary>The agent key that registered the host.</summary>
    [Id(19)] public string? Owner { get; set; }

    /// <summary>The service commanded last: the one the snapshot's top-level fields show.</summary>
    [Id(20)] public string? Primary { get; set; }
}

/// <summary>One service on a host. A command is identified by (rollout, kind, batch); re-delivery changes nothing.</summary>
[GenerateSerializer]
[Alias("ServiceSlot")]
public sealed class ServiceSlot
{
    [Id(0)] public HostState State { get; set; }

    [Id(1)] public string? CurrentArtifact { get; set; }

    [Id(2)] public string? CurrentVersion { get; set; }

    [Id(3)] public string? DesiredArtifact { get; set; }

    [Id(4)] public string? DesiredVersion { get; set; }

    /// <summary>What the service ran before <see cref="Rollout"/> changed it: the rollback target.</summary>
    [Id(5)] public string? PreviousArtifact { get; set; }

    [Id(6)] public string? PreviousVersion { get; set; }

    [Id(7)] public string? Rollout { get; set; }

    /// <summary>The command being carried out or last carried out, and how it ended.</summary>
    [Id(8)] public HostCommand? Command { get; set; }

    [Id(9)] public CommandOutcome CommandOutcome { get; set; }

    [Id(10)] public string? LastError { get; set; }

    /// <summary>The current command's nonce, which the agent's report must echo.</summary>
    [Id(11)] public string? Nonce { get; set; }

    /// <summary>Artifacts the service ran, newest first, at most <see cref="HostGrain.HistoryLength"/>.</summary>
    [Id(12)] public ArtifactHistory History { get; set; } = [];

    [Id(13)] public List<ApplyStepRecord> LastSteps { get; set; } = [];

    [Id(14)] public long? LastDurationMs { get; set; }

    [Id(15)] public DateTimeOffset UpdatedAt { get; set; }

    [Id(16)] public HostMetricsReading? Metrics { get; set; }

    /// <summary>
    /// Per rollout that changed the service (newest first, at most <see cref="HostGrain.HistoryLength"/>): what it ran
    /// before that rollout first touched it. A revert for a rollout returns here, even after later rollouts (or their
    /// rollbacks) moved the slot's own previous on.
    /// </summary>
    [Id(150)] public RolloutOrigins Origins { get; set; } = [];
}

/// <summary>What a service ran before a rollout first changed it: that rollout's revert target.</summary>
[GenerateSerializer]
[Alias("RolloutOrigin")]
public sealed class RolloutOrigin
{
    [Id(0)] public string RolloutId { get; set; } = string.Empty;

    [Id(1)] public string? Artifact { get; set; }

    [Id(2)] public string? Version { get; set; }
}
