using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Deploy.Engine.Grains.Provisioning;

public static class HostProvisioningExtensions
{
    /// <summary>
    /// Registers <see cref="SimulatedHostProvisioner"/> as <see cref="IHostProvisioner"/> unless one is already
    /// registered: register a real provisioner before this call to replace it.
    /// </summary>
    public static IServiceCollection AddHostProvisioning(this IServiceCollection services)
    {
        services.TryAddSingleton<IHostProvisioner, SimulatedHostProvisioner>();
        return services;
    }
}
