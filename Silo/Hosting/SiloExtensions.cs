using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Deploy.Engine.Grains;
using Deploy.Engine.Grains.Audit;
using Deploy.Engine.Grains.Delivery;
using Deploy.Engine.Grains.Catalog;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Environments;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Hosts;
using Deploy.Engine.Grains.Metrics;
using Deploy.Engine.Grains.Provisioning;
using Deploy.Engine.Grains.SupplyChain;
using Deploy.Engine.Grains.Traffic;
using Deploy.Engine.Grains.Webhooks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Clustering.AzureStorage;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Deploy.Engine.Silo.Hosting;

public static class SiloExtensions
{
    /// <summary>Orleans with the providers of the configured storage mode, plus the engine's own services.</summary>
    public static WebApplicationBuilder AddDeployEngineSilo(this WebApplicationBuilder builder)
    {
        var engine = builder.Configuration.GetSection(EngineOptions.Section).Get<EngineOptions>() ?? new EngineOptions();
        var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        AuditKey.Validate(builder.Configuration, durable: engine.StorageMode == StorageMode.Azure);
        builder.Services.AddDeployEngineServices(builder.Configuration);

        builder.UseOrleans(silo =>
        {
            // Trace context flows from an API request into the grains it calls and on into their calls.
            silo.AddActivityPropagation();
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });

            if (engine.StorageMode == StorageMode.Local)
            {
                var primary = cluster.PrimarySiloPort > 0 ? new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort) : null;
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
                silo.AddEngineLocalProviders();
                return;
            }

            var account = StorageAccount.From(builder.Configuration);
            silo.ConfigureEndpoints(cluster.Advertised(), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: cluster.ListenOnAnyHostAddress);
            silo.Services.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection(ClusterSettings.MembershipSection));
            silo.AddEngineAzureProviders(account, cluster, StorageTimeouts.From(builder.Configuration), TableLayoutRule.Configured(builder.Configuration));
        });
        return builder;
    }

    /// <summary>Services every silo needs, whatever its storage: clock, options, traffic routers, metric providers, host provisioning.</summary>
    public static IServiceCollection AddDeployEngineServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.Configure<RolloutOptions>(configuration.GetSection(RolloutOptions.Section));
        services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        services.AddSingleton<IIncomingGrainCallFilter, DeactivateOnFailureFilter>();
        services.AddTrafficRouting(configuration);
        services.AddMetricProviders(configuration);
        services.AddHostProvisioning();
        services.AddRolloutGates();
        services.AddEventFollower<AuditFollower>();
        services.TryAddSingleton(_ => AuditKey.From(configuration));
        services.TryAddSingleton<AuditWriteMemory>();
        services.TryAddSingleton<HostReportRelay>();
        services.AddOperatorViews(configuration);
        services.AddDeclaredEnvironments(configuration);
        services.AddEngineArtifactsAndSecrets(configuration);
        services.AddSupplyChain(configuration);
        services.AddGovernance(configuration);
        services.AddCoordination(configuration);
        services.AddDeliveryLedger();
        services.AddWebhooks(configuration);
        services.AddSingleton<IWebhookSecretProtector, WebhookSecretProtector>();
        services.AddEventFollower<Deploy.Engine.Grains.Flags.FlagFollower>();
        return services;
    }

    /// <summary>In-memory storage, reminders and streams (Local mode and the in-process test cluster).</summary>
    public static ISiloBuilder AddEngineLocalProviders(this ISiloBuilder silo) => silo
        .AddEngineLocalStorage(Stores.Table)
        .AddEngineLocalStorage(Stores.Blob)
        .AddEngineLocalStorage(Stores.PubSub)
        .UseInMemoryReminderService()
        .AddMemoryStreams(Stores.Events);

    /// <summary>
    /// A Local-mode state store named <paramref name="name"/> (<see cref="LocalGrainStorage"/>): serialized copies in
    /// this process, checked by ETag, written in the caller's turn instead of through a storage grain.
    /// </summary>
    public static ISiloBuilder AddEngineLocalStorage(this ISiloBuilder silo, string name)
    {
        silo.Services.TryAddSingleton<LocalStateStore>();
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) =>
            new LocalGrainStorage(name, sp.GetRequiredService<LocalStateStore>(), sp.GetRequiredService<Serializer>(),
                sp.GetRequiredService<Orleans.Serialization.Session.SerializerSessionPool>()));
        return silo;
    }

    /// <summary>Azure Table clustering/state/reminders, Blob state, Queue streams — Azurite or Azure Storage.</summary>
    public static ISiloBuilder AddEngineAzureProviders(this ISiloBuilder silo, string connectionString, ClusterSettings cluster, StorageTimeouts? timeouts = null) =>
        silo.AddEngineAzureProviders(StorageAccount.FromConnectionString(connectionString), cluster, timeouts);

    /// <summary>The same on an account reached by connection string or by service URIs with DefaultAzureCredential (<see cref="StorageAccount"/>).</summary>
    public static ISiloBuilder AddEngineAzureProviders(this ISiloBuilder silo, StorageAccount account, ClusterSettings cluster, StorageTimeouts? timeouts = null, TableLayout? layout = null)
    {
        // Every storage call is bounded to seconds (StorageTimeouts): an outage is a prompt 503, not a 30 s hang.
        timeouts ??= new StorageTimeouts();
        var tables = account.Tables(timeouts.Tables());
        var blobs = account.Blobs(timeouts.Blobs());
        var queues = account.Queues(timeouts.Queues());
        silo.Services.AddTypeNameFreeStorageFormat();

        // The state table's layout is decided and recorded while the silo starts, before any grain reads (TableLayoutRecord).
        silo.Services.AddSingleton(sp => new TableLayoutRecord(tables, StateTable, sp.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value.TableName,
            layout, sp.GetRequiredService<IOptions<ClusterOptions>>(), sp.GetRequiredService<ILogger<TableLayoutRecord>>()));
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<TableLayoutRecord>());

        // The engine's state stores tell a retried write that had landed from a lost one (LandedWriteStorage); the
        // Azure providers under them keep their own names, which name no stored key (tables and blobs are as before; the
        // table's row keys follow the service's recorded layout, GrainRowStorage).
        foreach (var store in new[] { Stores.Table, Stores.Blob })
        {
            silo.Services.AddKeyedSingleton<IGrainStorage>(store, (sp, _) => new LandedWriteStorage(
                store == Stores.Table
                    ? new GrainRowStorage(sp.GetRequiredKeyedService<IGrainStorage>(AzureProvider(store)), sp.GetRequiredService<TableLayoutRecord>())
                    : sp.GetRequiredKeyedService<IGrainStorage>(AzureProvider(store)), sp.GetRequiredService<IGrainStorageSerializer>(),
                sp.GetRequiredService<ILogger<LandedWriteStorage>>()));
        }

        return silo
            .UseAzureStorageClustering(o => o.TableServiceClient = tables)
            .AddAzureTableGrainStorage(AzureProvider(Stores.Table), o =>
            {
                o.TableServiceClient = tables;
                o.TableName = StateTable;
            })
            .AddAzureTableGrainStorage(Stores.PubSub, o =>
            {
                o.TableServiceClient = tables;
                o.TableName = "DeployEnginePubSub";
            })
            .AddAzureBlobGrainStorage(AzureProvider(Stores.Blob), o =>
            {
                o.BlobServiceClient = blobs;
                o.ContainerName = "deploy-engine-state";
            })
            .UseAzureTableReminderService(o => o.TableServiceClient = tables)
            .AddAzureQueueStreams(Stores.Events, c =>
            {
                c.ConfigureAzureQueue(ob => ob.Configure(o =>
                {
                    o.QueueServiceClient = queues;
                    o.QueueNames = Enumerable.Range(0, cluster.EventQueues).Select(i => $"deploy-engine-events-{i}").ToList();
                }));
                c.ConfigurePullingAgent(ob => ob.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(100)));
            });
    }

    /// <summary>The table holding the engine's grain states in Azure mode.</summary>
    public const string StateTable = "DeployEngineState";

    /// <summary>The name of the Azure provider under the engine's store <paramref name="store"/>.</summary>
    public static string AzureProvider(string store) => store + "-azure";
}
