using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<TrafficRouterOptions>()
            .Bind(configuration.GetSection(TrafficRouterOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrafficRouterOptions>, TrafficRouterOptionsValidator>());

        services.AddHttpClient(HttpTrafficRouter.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // A router answers; it does not get to send the engine (and its token) somewhere else.
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                AutomaticDecompression = DecompressionMethods.None,
            });
        services.TryAddSingleton<ITrafficRouter, HttpTrafficRouter>();
        return services;
    }
}
