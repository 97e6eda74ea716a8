using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>One in-process silo with memory providers, shared by a collection; file logging off.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.AddSiloBuilderConfigurator<LocalSiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
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
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:Rollouts:ReconcileInterval"] = "00:00:01",
        }).Build();
        siloBuilder.AddEngineLocalProviders();

        // The state stores fail on demand (see FaultInjectingGrainStorage); the memory stores do the work.
        foreach (var store in new[] { Grains.Stores.Table, Grains.Stores.Blob })
        {
            siloBuilder.AddMemoryGrainStorage(store + "-inner");
            siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(store, (sp, _) =>
                new FaultInjectingGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>(store + "-inner")));
        }

        siloBuilder.Services.AddDeployEngineServices(configuration);
        siloBuilder.Services.AddLogging(l => l.AddFilter("Polly", LogLevel.Warning).AddFilter("Orleans", LogLevel.Warning));
    }
}
