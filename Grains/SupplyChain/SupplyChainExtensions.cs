using Deploy.Engine.Grains.Gates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.SupplyChain;

public static class SupplyChainExtensions
{
    /// <summary>
    /// Section "SupplyChain" (validated at start: keys readable, algorithms and severities known), the policies built
    /// from it, and the supply-chain rollout gate.
    /// </summary>
    public static IServiceCollection AddSupplyChain(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SupplyChainOptions>().Bind(configuration.GetSection(SupplyChainOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SupplyChainOptions>, SupplyChainOptionsValidator>());
        services.TryAddSingleton<SupplyChainPolicies>();
        services.AddRolloutGate<SupplyChainGate>();
        return services;
    }
}
