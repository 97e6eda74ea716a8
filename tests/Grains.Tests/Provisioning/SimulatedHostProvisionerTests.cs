using System.Security.Cryptography;
using System.Text;
using Deploy.Engine.Grains.Provisioning;

namespace Deploy.Engine.Grains.Tests.Provisioning;

public sealed class SimulatedHostProvisionerTests
{
    private static readonly IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string> { ["region"] = "eu" };

    [Fact]
    public async Task Names_count_hosts_after_service_rollout_hash_and_number()
    {
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("rel-42:prod")))[..8];

        var ids = await new SimulatedHostProvisioner().Provision(new ProvisionRequest("rel-42:prod", "prod", "checkout", 3, Labels), CancellationToken.None);

        Assert.Equal([$"checkout-{expectedHash}-0001", $"checkout-{expectedHash}-0002", $"checkout-{expectedHash}-0003"], ids);
    }

    [Fact]
    public async Task The_same_request_gets_the_same_hosts_and_another_rollout_other_hosts()
    {
        var request = new ProvisionRequest("rel-42:prod", "prod", "checkout", 5, Labels);

        var first = await new SimulatedHostProvisioner().Provision(request, CancellationToken.None);
        var again = await new SimulatedHostProvisioner().Provision(request, CancellationToken.None);
        var other = await new SimulatedHostProvisioner().Provision(request with { RolloutId = "rel-43:prod" }, CancellationToken.None);

        Assert.Equal(first, again);
        Assert.Empty(first.Intersect(other));
        Assert.Equal(5, first.Distinct().Count());
    }

    [Fact]
    public async Task Zero_hosts_is_an_empty_list_and_retire_is_a_no_op()
    {
        var provisioner = new SimulatedHostProvisioner();

        Assert.Empty(await provisioner.Provision(new ProvisionRequest("r", "prod", "checkout", 0, Labels), CancellationToken.None));
        await provisioner.Retire("prod", ["checkout-00000000-0001"], CancellationToken.None);
    }
}
