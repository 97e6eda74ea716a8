using Deploy.Engine.Grains.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Webhooks;

public static class WebhookExtensions
{
    /// <summary>
    /// Webhooks: options from section "Webhooks" (validated at start), the sender's HTTP client (no client timeout, the
    /// Polly pipeline owns time; no redirects; the address policy at connect time) and the follower that fills the
    /// outboxes. The host supplies <see cref="IWebhookSecretProtector"/>.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.AddHttpClient(HttpWebhookSender.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => HttpWebhookSender.Handler(sp.GetRequiredService<IOptions<WebhookOptions>>().Value));
        services.TryAddSingleton<IWebhookSender, HttpWebhookSender>();
        services.AddEventFollower<WebhookFollower>();
        return services;
    }
}
