using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Metrics;

public static class MetricsExtensions
{
    /// <summary>
    /// Registers <see cref="IMetricProvider"/> as <see cref="PrometheusMetricProvider"/> over the servers configured in
    /// section "Metrics" (validated at start). No server needs to be configured: a query naming none fails as a result.
    /// </summary>
    public static IServiceCollection AddMetricProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<MetricsOptions>()
            .Bind(configuration.GetSection(MetricsOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());

        services.AddHttpClient(PrometheusMetricProvider.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Prometheus answers; it does not get to send the engine (and its token) somewhere else.
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                // Decompressed size is what MaxResponseBytes bounds: no compression, no zip bomb.
                AutomaticDecompression = DecompressionMethods.None,
            });
        services.TryAddSingleton<IMetricProvider, PrometheusMetricProvider>();
        return services;
    }
}
