namespace Deploy.Engine.Grains;

/// <summary>Names of the storage providers the silo must configure.</summary>
public static class Stores
{
    /// <summary>Small, frequently written state (hosts, releases, idempotency): Azure Table in Azure mode.</summary>
    public const string Table = "table";

    /// <summary>Larger state (rollouts, environments, histories): Azure Blob in Azure mode.</summary>
    public const string Blob = "blob";

    /// <summary>The stream provider every engine event goes through.</summary>
    public const string Events = "events";

    /// <summary>Stream pub-sub state (required by Orleans streams).</summary>
    public const string PubSub = "PubSubStore";
}

/// <summary>Engine tuning, bound from configuration section "Engine:Rollouts".</summary>
public sealed class RolloutOptions
{
    public const string Section = "Engine:Rollouts";

    /// <summary>How often a live rollout's reminder re-drives it (re-sends commands, checks deadlines).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Default time a batch may take before silent hosts count as failed.</summary>
    public int DefaultProgressDeadlineSeconds { get; set; } = 600;
}
