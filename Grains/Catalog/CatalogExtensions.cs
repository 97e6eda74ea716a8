using Deploy.Engine.Grains.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Grains.Catalog;

public static class CatalogExtensions
{
    /// <summary>What operators' surfaces read: the rollout catalog (followed from events) and the event feed behind the stream.</summary>
    public static IServiceCollection AddOperatorViews(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<EventFeedOptions>(configuration.GetSection(EventFeedOptions.Section));
        services.AddEventFollower<CatalogFollower>();
        services.AddEventFollower<FeedFollower>();
        return services;
    }
}
