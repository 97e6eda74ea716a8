using Deploy.Engine.Grains.Provisioning;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Grains.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Deploy.Engine.Grains.Tests.Traffic;

/// <summary>What grains in the test cluster resolve: the HTTP router hook over the fixture's routers, and the simulated provisioner.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTrafficWiringTests(ClusterFixture fixture)
{
    private IServiceProvider Silo => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    [Fact]
    public async Task Silo_routes_traffic_to_the_fixtures_router_by_name()
    {
        fixture.Routers.Reset("lb");
        fixture.Routers.Answer("lb", 503, 200);
        var router = Silo.GetRequiredService<ITrafficRouter>();

        var result = await router.Apply(new TrafficChange("r-wiring", "prod", "checkout", "2.0.0", "1.9.0", 10, null, "lb"), CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(2, fixture.Routers.Calls("lb").Count);
        fixture.Routers.Reset("lb");
    }

    [Fact]
    public void Silo_provisions_hosts_with_the_simulated_provisioner() =>
        Assert.IsType<SimulatedHostProvisioner>(Silo.GetRequiredService<IHostProvisioner>());
}
