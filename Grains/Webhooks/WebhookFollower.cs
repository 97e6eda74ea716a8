using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Webhooks;

/// <summary>
/// Hands every engine event to the outbox of each subscription that wants it, and returns: it never waits on a
/// receiver (the delivery grains send on their own), so a slow or dead receiver cannot hold back the event history, let
/// alone a rollout. Called once per event per stream, in the stream's order, so each outbox receives a subject's events
/// in the order they happened.
/// </summary>
public sealed class WebhookFollower : IEventFollower
{
    public async Task Follow(string streamKey, EngineEvent item, IGrainFactory grains)
    {
        var ids = await grains.Ref<IWebhookRegistryGrain>(GrainKeys.Webhooks).Match(item.Type, EnvironmentOf(item), ServiceOf(item));
        if (ids.Count == 1)
        {
            await grains.Ref<IWebhookDeliveryGrain>(ids[0]).Enqueue(item);
        }
        else if (ids.Count > 1)
        {
            await Task.WhenAll(ids.Select(id => grains.Ref<IWebhookDeliveryGrain>(id).Enqueue(item)));
        }
    }

    /// <summary>The environment an event is about: its <c>environment</c> field, or the subject of an environment's own stream.</summary>
    public static string? EnvironmentOf(EngineEvent item) =>
        item.Data.TryGetValue("environment", out var environment) && environment.Length > 0 ? environment
        : After(item.Subject, "environment/") ?? After(item.Subject, "governance/");

    /// <summary>The service an event is about: its <c>service</c> field, or the subject of a service's own stream.</summary>
    public static string? ServiceOf(EngineEvent item) =>
        item.Data.TryGetValue("service", out var service) && service.Length > 0 ? service
        : After(item.Subject, "service/") ?? After(item.Subject, "reviews/");

    private static string? After(string subject, string prefix) =>
        subject.StartsWith(prefix, StringComparison.Ordinal) && subject.Length > prefix.Length ? subject[prefix.Length..] : null;
}
