using Deploy.Engine.Grains.Environments;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Environments;

/// <summary>The host index lives in its own state, so admission decisions do not rewrite every host's labels.</summary>
[Collection(ClusterCollection.Name)]
public class EnvironmentHostIndexTests(ClusterFixture fixture)
{
    private IGrainStorage Storage => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost!.Services
        .GetRequiredKeyedService<IGrainStorage>(Stores.Blob);

    [Fact]
    public async Task An_environment_stored_with_its_hosts_inside_the_admission_state_moves_them_to_the_index_and_keeps_admitting()
    {
        var name = Unique("legacy-env");
        var environment = fixture.Grains.GetGrain<IEnvironmentGrain>(name);
        var id = environment.GetGrainId();
        var legacy = new EnvironmentGrainState
        {
            Spec = new EnvironmentSpec { ConcurrencyLimit = 2 },
            CreatedAt = DateTimeOffset.UtcNow,
            Hosts =
            {
                [name + "-h1"] = new Dictionary<string, string> { ["region"] = "eu-west" },
                [name + "-h2"] = new Dictionary<string, string>(),
            },
        };
        await Storage.WriteStateAsync("environment", id, new GrainState<EnvironmentGrainState>(legacy));

        var index = await environment.GetHostIndex();
        Assert.Equal([name + "-h1", name + "-h2"], index.Select(h => h.HostId));
        Assert.Equal("eu-west", index[0].Labels["region"]);
        Assert.Equal(2, (await environment.Get())!.HostCount);
        Assert.Equal(AdmissionStatus.Admitted, (await environment.RequestSlot("rel-x." + name, "shop")).Status);

        // A host registered now goes to the index; the admission state written since carries no host.
        await environment.RegisterHosts([new HostEnrollment { HostId = name + "-h3", Registration = new HostRegistration { Environment = name } }]);
        var main = new GrainState<EnvironmentGrainState>();
        await Storage.ReadStateAsync("environment", id, main);
        Assert.Empty(main.State!.Hosts);
        Assert.Equal(["rel-x." + name], main.State.Active);
        var hosts = new GrainState<EnvironmentHostIndexState>();
        await Storage.ReadStateAsync("environment-hosts", id, hosts);
        Assert.Equal(3, hosts.State!.Hosts.Count);
    }
}
