using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Deploy.Engine.Grains.Metrics;

public static class MetricsExtensions
{
    /// <summary>
    /// Registers <see cref="IMetricProvider"/> as <see cref="PrometheusMetricProvider"/> over the servers configured in
    /// section "Metrics" (validated at start). No server needs to be configured: a query naming none fails as a result.
    /// </summary>
    public static IServiceCollection AddMetricProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOutboundHttp<MetricsOptions, MetricsOptionsValidator>(configuration, MetricsOptions.Section, PrometheusMetricProvider.HttpClientName);
        services.TryAddSingleton<IMetricProvider, PrometheusMetricProvider>();
        return services;
    }
}
