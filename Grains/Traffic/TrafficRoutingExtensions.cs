using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Deploy.Engine.Grains.Traffic;

public static class TrafficRoutingExtensions
{
    /// <summary>
    /// Registers <see cref="ITrafficRouter"/> as <see cref="HttpTrafficRouter"/> over the routers configured in
    /// section "Traffic" (validated at start). A rollout whose router name is null or empty has no router:
    /// its caller skips the hook, so no router needs to be configured at all.
    /// </summary>
    public static IServiceCollection AddTrafficRouting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOutboundHttp<TrafficRouterOptions, TrafficRouterOptionsValidator>(configuration, TrafficRouterOptions.Section, HttpTrafficRouter.HttpClientName);
        services.TryAddSingleton<ITrafficRouter, HttpTrafficRouter>();
        return services;
    }
}
