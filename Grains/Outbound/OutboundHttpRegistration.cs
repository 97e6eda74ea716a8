using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Outbound;

public static class OutboundHttpRegistration
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> (validated at start) and registers the named
    /// <see cref="HttpClient"/> the calls go through: no client timeout (the Polly pipeline owns time), no redirects (a
    /// server answers; it does not get to send the engine, and its token, somewhere else), no decompression (size
    /// limits apply to what is read).
    /// </summary>
    public static IServiceCollection AddOutboundHttp<TOptions, TValidator>(
        this IServiceCollection services, IConfiguration configuration, string section, string clientName)
        where TOptions : OutboundHttpOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        services.AddHttpClient(clientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                AutomaticDecompression = DecompressionMethods.None,
            });
        return services;
    }
}
