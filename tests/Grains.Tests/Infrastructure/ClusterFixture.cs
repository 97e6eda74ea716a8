using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// One in-process silo with memory providers, shared by a collection; file logging off. Traffic routers
/// <see cref="RouterNames"/> are configured on the silo and served by <see cref="Routers"/> (200 unless a test
/// says otherwise; call <see cref="RouterStub.Reset"/> first, the stub is shared by the collection).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>Router names a rollout in these tests may name; each is a route on <see cref="Routers"/>.</summary>
    public static readonly IReadOnlyList<string> RouterNames = ["edge", "lb"];

    /// <summary>Governance: one fleet-wide blast-radius budget on hosts labelled region=<see cref="BudgetRegion"/>.</summary>
    public const string BudgetRegion = "budget-test";

    public const int BudgetMaxHosts = 5;

    public TestCluster Cluster { get; private set; } = null!;

    public RouterStub Routers { get; private set; } = null!;

    /// <summary>A fake Prometheus configured on the silo as metric provider "prom" (call <see cref="PrometheusStub.Reset"/> first).</summary>
    public PrometheusStub Prometheus { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync()
    {
        Routers = await RouterStub.StartAsync();
        Prometheus = await PrometheusStub.StartAsync();
        var builder = new TestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        var settings = TrafficSettings(Routers);
        settings["Metrics:Prometheus:prom:Url"] = Prometheus.BaseAddress.ToString();
        settings["Metrics:RetryBaseDelay"] = "00:00:00.020";
        foreach (var (key, value) in Webhooks.WebhookReceiver.Settings)
        {
            settings[key] = value;
        }
        foreach (var (key, value) in Governance.GovernanceSettings.Values)
        {
            settings[key] = value;
        }

        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(settings));
        builder.AddSiloBuilderConfigurator<LocalSiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Routers.DisposeAsync();
        await Prometheus.DisposeAsync();
    }

    /// <summary>The silo's "Traffic" section: the stub's routers, with short retry delays so failing routers fail fast.</summary>
    private static Dictionary<string, string?> TrafficSettings(RouterStub routers)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Traffic:AttemptTimeout"] = "00:00:02",
            ["Traffic:TotalTimeout"] = "00:00:05",
            ["Traffic:RetryBaseDelay"] = "00:00:00.020",
        };
        foreach (var name in RouterNames)
        {
            settings[$"Traffic:Routers:{name}:Url"] = routers.UrlFor(name);
        }

        return settings;
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>The engine's Local-mode providers, with a fast reconcile interval so recovery paths run in tests.</summary>
public sealed class LocalSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder)
    {
        // The host's configuration (the fixture's traffic routers) under the engine settings these tests need.
        var configuration = new ConfigurationBuilder().AddConfiguration(siloBuilder.Configuration).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:Rollouts:ReconcileInterval"] = "00:00:01",
            ["Environments:DriftScanInterval"] = "00:00:01",
            ["Environments:SweepInterval"] = "00:00:01",
            ["Governance:Budgets:0:Selector:region"] = ClusterFixture.BudgetRegion,
            ["Governance:Budgets:0:MaxHosts"] = ClusterFixture.BudgetMaxHosts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        siloBuilder.AddEngineLocalProviders();

        // The state stores fail on demand (see FaultInjectingGrainStorage); the Local-mode stores do the work.
        foreach (var store in new[] { Grains.Stores.Table, Grains.Stores.Blob })
        {
            siloBuilder.AddEngineLocalStorage(store + "-inner");
            siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(store, (sp, _) =>
                new FaultInjectingGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>(store + "-inner")));
        }

        siloBuilder.Services.AddDeployEngineServices(configuration);
        siloBuilder.Services.AddRolloutGate<ScriptedGate>();
        siloBuilder.Services.AddLogging(l => l.AddFilter("Polly", LogLevel.Warning).AddFilter("Orleans", LogLevel.Warning));
    }
}
