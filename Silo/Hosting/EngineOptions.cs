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

    /// <summary>
    /// Requests one silo has in flight to each storage service (tables, blobs, queues) at once; the rest wait their turn
    /// in the silo (<see cref="StorageConcurrencyPolicy"/>). A rollback of 10,000 hosts writes 10,000 host states at once:
    /// unbounded, they all reach the store together and each waits there past <see cref="NetworkTimeout"/> (Azurite
    /// timed out and the writes failed); bounded, each request is quick once sent.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Applies the bounds to one Azure SDK client's options: retries, timeouts and concurrency.</summary>
    public T Apply<T>(T options) where T : Azure.Core.ClientOptions
    {
        var retry = options.Retry;
        retry.Mode = Azure.Core.RetryMode.Exponential;
        retry.NetworkTimeout = NetworkTimeout;
        retry.MaxRetries = MaxRetries;
        retry.Delay = RetryDelay;
        retry.MaxDelay = MaxRetryDelay;
        if (MaxConcurrentRequests > 0)
        {
            options.AddPolicy(new StorageConcurrencyPolicy(MaxConcurrentRequests), Azure.Core.HttpPipelinePosition.PerRetry);
        }

        return options;
    }

    public TableClientOptions Tables() => Apply(new TableClientOptions());

    public BlobClientOptions Blobs() => Apply(new BlobClientOptions());

    public QueueClientOptions Queues() => Apply(new QueueClientOptions());

    public static StorageTimeouts From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<StorageTimeouts>() ?? new StorageTimeouts();
}
