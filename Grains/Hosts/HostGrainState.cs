using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Hosts;

[GenerateSerializer]
[Alias("HostGrainState")]
public sealed class HostGrainState
{
    [Id(0)] public string? Environment { get; set; }

    [Id(1)] public Dictionary<string, string> Labels { get; set; } = [];

    [Id(2)] public HostState State { get; set; }

    [Id(3)] public string? CurrentArtifact { get; set; }

    [Id(4)] public string? CurrentVersion { get; set; }

    [Id(5)] public string? DesiredArtifact { get; set; }

    [Id(6)] public string? DesiredVersion { get; set; }

    /// <summary>What the host ran before <see cref="Rollout"/> changed it: the rollback target. (Id 17 retired.)</summary>
    [Id(7)] public string? PreviousArtifact { get; set; }

    [Id(8)] public string? PreviousVersion { get; set; }

    [Id(9)] public bool Healthy { get; set; } = true;

    [Id(10)] public DateTimeOffset? LastHeartbeat { get; set; }

    [Id(11)] public string? Rollout { get; set; }

    /// <summary>The command being carried out or last carried out, and how it ended.</summary>
    [Id(12)] public HostCommand? Command { get; set; }

    [Id(13)] public CommandOutcome CommandOutcome { get; set; }

    [Id(14)] public string? LastError { get; set; }

    [Id(15)] public SimulationProfile? Simulation { get; set; }

    [Id(16)] public DateTimeOffset UpdatedAt { get; set; }
}
