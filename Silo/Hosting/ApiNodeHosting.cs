using Orleans.Configuration;

namespace Deploy.Engine.Silo.Hosting;

public static partial class ApiNodeHosting
{
    /// <summary>
    /// The process the configuration asks for (<c>Engine:Role</c>): a silo serving the API co-hosted (default), or an
    /// API-only node in front of the silos. Either way the host gets <see cref="EngineOptions.ShutdownTimeout"/> and
    /// systemd integration.
    /// </summary>
    public static WebApplicationBuilder AddDeployEngineNode(this WebApplicationBuilder builder)
    {
        var engine = builder.Configuration.GetSection(EngineOptions.Section).Get<EngineOptions>() ?? new EngineOptions();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = engine.ShutdownTimeout);

        // Under systemd (Type=notify) the unit is "started" once the host is: Orleans joined and Kestrel listening;
        // SIGTERM stops it gracefully. Elsewhere this does nothing.
        builder.Services.AddSystemd();
        return engine.Role == EngineRole.Api ? builder.AddDeployEngineApiNode() : builder.AddDeployEngineSilo();
    }

    /// <summary>
    /// An API-only node: no grains here, an Orleans client connected to the cluster through the silos' gateways (found
    /// in the Azure Table membership in Azure mode; the localhost gateway at <c>Orleans:GatewayPort</c> in Local mode).
    /// Everything the API does goes through grain calls (the event stream long-polls the feed grain, /readyz asks the
    /// storage probe grain), so it needs nothing else of a silo; the artifact store and the Data Protection key ring
    /// are the same blob containers the silos use.
    /// </summary>
    public static WebApplicationBuilder AddDeployEngineApiNode(this WebApplicationBuilder builder)
    {
        var engine = builder.Configuration.GetSection(EngineOptions.Section).Get<EngineOptions>() ?? new EngineOptions();
        var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        builder.Services.AddEngineArtifactsAndSecrets(builder.Configuration);
        builder.Services.AddSingleton<IClientConnectionRetryFilter, KeepTryingToConnect>();

        builder.UseOrleansClient(client =>
        {
            client.AddActivityPropagation();
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(10));
            client.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(ClusterSettings.GatewaySection));

            if (engine.StorageMode == StorageMode.Local)
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
                return;
            }

            var account = StorageAccount.From(builder.Configuration);
            var tables = account.Tables(StorageTimeouts.From(builder.Configuration).Tables());
            client.UseAzureStorageClustering(o => o.TableServiceClient = tables);
        });
        return builder;
    }

    /// <summary>
    /// An API node started before any silo (or while every gateway is down) keeps trying, every few seconds, until it
    /// is stopped, rather than exiting: under a supervisor the nodes may start in any order. It answers HTTP only once
    /// connected.
    /// </summary>
    private sealed partial class KeepTryingToConnect(ILogger<KeepTryingToConnect> logger) : IClientConnectionRetryFilter
    {
        private int _attempts;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            var attempt = Interlocked.Increment(ref _attempts);
            LogRetry(logger, attempt, exception.Message);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            return !cancellationToken.IsCancellationRequested;
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "No gateway of the cluster answers yet (attempt {Attempt}): {Reason}; trying again")]
        private static partial void LogRetry(ILogger logger, int attempt, string reason);
    }
}
