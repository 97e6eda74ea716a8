using Azure.Data.Tables;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// Test-cluster silos with the engine's Azure providers, including Azure Table membership, so any silo —
/// the first one too — can be killed and the survivors carry on, as in production.
/// </summary>
public sealed class AzureSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder)
    {
        var connectionString = siloBuilder.Configuration["Storage:ConnectionString"]!;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:Rollouts:ReconcileInterval"] = "00:00:01",
        }).Build();
        siloBuilder.AddEngineAzureProviders(connectionString, new ClusterSettings());
        siloBuilder.Configure<ClusterMembershipOptions>(o =>
        {
            // Declare a killed silo dead within seconds rather than the production default of about a minute.
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
        });
        siloBuilder.Services.AddDeployEngineServices(configuration);
        siloBuilder.Services.AddLogging(l => l.AddFilter("Polly", LogLevel.Warning).AddFilter("Orleans", LogLevel.Warning));
    }
}

public sealed class AzureClientConfigurator : IClientBuilderConfigurator
{
    public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
        clientBuilder.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(configuration["Storage:ConnectionString"]));
}
