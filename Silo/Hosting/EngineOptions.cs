namespace Deploy.Engine.Silo.Hosting;

public enum StorageMode
{
    /// <summary>Azure Table clustering, Table/Blob grain state, Table reminders, Queue streams (Azurite locally).</summary>
    Azure,

    /// <summary>Localhost clustering and in-memory everything: fast tests only, nothing survives a restart.</summary>
    Local,
}

/// <summary>Bound from configuration section "Engine".</summary>
public sealed class EngineOptions
{
    public const string Section = "Engine";

    public StorageMode StorageMode { get; set; } = StorageMode.Azure;
}

/// <summary>Bound from configuration section "Orleans".</summary>
public sealed class ClusterSettings
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "deploy-engine";

    public string ServiceId { get; set; } = "deploy-engine";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Local mode only: the silo port of the first silo, for more silos on one machine (0: this silo is the first).</summary>
    public int PrimarySiloPort { get; set; }

    /// <summary>Queues the event stream is spread over.</summary>
    public int EventQueues { get; set; } = 4;
}
