using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Deploy.Engine.Silo.Hosting;

public enum StorageMode
{
    /// <summary>Azure Table clustering, Table/Blob grain state, Table reminders, Queue streams (Azurite locally).</summary>
    Azure,

    /// <summary>Localhost clustering and in-memory everything: fast tests only, nothing survives a restart.</summary>
    Local,
}

/// <summary>What one engine process is (configuration <c>Engine:Role</c>).</summary>
public enum EngineRole
{
    /// <summary>A silo: hosts grains, joins the cluster, and serves the HTTP API co-hosted (the default).</summary>
    Silo,

    /// <summary>An API-only node: the HTTP API as an Orleans client, connected to the cluster through the silos' gateways.</summary>
    Api,
}

/// <summary>Bound from configuration section "Engine".</summary>
public sealed class EngineOptions
{
    public const string Section = "Engine";

    public StorageMode StorageMode { get; set; } = StorageMode.Azure;

    public EngineRole Role { get; set; } = EngineRole.Silo;

    /// <summary>
    /// How long a stopping process may take (the host's shutdown timeout): a silo hands its grains and reminders over
    /// and leaves the membership table in this time. Keep a supervisor's stop timeout above it (the systemd units use
    /// 90 s against the default 60 s).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(60);
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

    /// <summary>
    /// Azure mode: the address other silos and API nodes reach this silo at, as written to the membership table
    /// (default 127.0.0.1, a cluster on one machine). On real hosts, the host's own address.
    /// </summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>Azure mode: listen on every interface rather than only on the advertised address (containers behind NAT).</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>The section bound to Orleans' <c>ClusterMembershipOptions</c> (probe timeouts, votes): how fast a dead silo is declared dead.</summary>
    public const string MembershipSection = "Orleans:Membership";

    /// <summary>The section bound to Orleans' <c>GatewayOptions</c> on API nodes (e.g. <c>GatewayListRefreshPeriod</c>).</summary>
    public const string GatewaySection = "Orleans:Gateway";

    public System.Net.IPAddress Advertised() =>
        string.IsNullOrWhiteSpace(AdvertisedIPAddress) ? System.Net.IPAddress.Loopback
        : System.Net.IPAddress.TryParse(AdvertisedIPAddress, out var address) ? address
        : throw new Microsoft.Extensions.Options.OptionsValidationException(Section, typeof(ClusterSettings),
            [$"Orleans:AdvertisedIPAddress '{AdvertisedIPAddress}' is not an IP address"]);
}

/// <summary>
/// Bound from configuration section "Storage": how long one storage call may take before the engine gives up and
/// answers 503. The Azure SDK's defaults (a 100 s network timeout, three retries) held a refused request for up to
/// half a minute; these bound a call to about <c>(MaxRetries + 1) × NetworkTimeout</c> plus the retry delays
/// (defaults: 3 × 3 s + 0.2 s + 0.4 s, under ten seconds).
/// </summary>
public sealed class StorageTimeouts
{
    public const string Section = "Storage";

    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(3);

    public int MaxRetries { get; set; } = 2;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Applies the bounds to one Azure SDK client's retry options.</summary>
    public void Apply(Azure.Core.RetryOptions retry)
    {
        retry.Mode = Azure.Core.RetryMode.Exponential;
        retry.NetworkTimeout = NetworkTimeout;
        retry.MaxRetries = MaxRetries;
        retry.Delay = RetryDelay;
        retry.MaxDelay = MaxRetryDelay;
    }

    public TableClientOptions Tables()
    {
        var options = new TableClientOptions();
        Apply(options.Retry);
        return options;
    }

    public BlobClientOptions Blobs()
    {
        var options = new BlobClientOptions();
        Apply(options.Retry);
        return options;
    }

    public QueueClientOptions Queues()
    {
        var options = new QueueClientOptions();
        Apply(options.Retry);
        return options;
    }

    public static StorageTimeouts From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<StorageTimeouts>() ?? new StorageTimeouts();
}
