using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Telemetry;
using Orleans.Runtime;
using Orleans.Streams;

namespace Deploy.Engine.Grains.Events;

/// <summary>Publishes engine events on the events stream of one subject.</summary>
internal sealed class EventPublisher(IStreamProvider provider, string streamKey, TimeProvider clock)
{
    private readonly IAsyncStream<EngineEvent> _stream =
        provider.GetStream<EngineEvent>(StreamId.Create(GrainKeys.EventNamespace, streamKey));

    public Task Publish(string type, string subject, string? reason, IReadOnlyDictionary<string, string>? data = null) =>
        Publish(Guid.NewGuid().ToString("n"), type, subject, reason, data);

    /// <summary>
    /// Publishes with a chosen id: an event published again with the same id (a retry after a failover) is recorded
    /// once, since histories ignore an id they already hold.
    /// </summary>
    public Task Publish(string id, string type, string subject, string? reason, IReadOnlyDictionary<string, string>? data)
    {
        var item = new EngineEvent
        {
            Id = id,
            Type = type,
            Subject = subject,
            Timestamp = clock.GetUtcNow(),
            Reason = reason,
            Data = data ?? new Dictionary<string, string>(),
        };
        EngineTelemetry.Published(item);
        return _stream.OnNextAsync(item);
    }

    public Task PublishBatch(IEnumerable<EngineEvent> events)
    {
        var items = events.ToList();
        items.ForEach(EngineTelemetry.Published);
        return _stream.OnNextBatchAsync(items);
    }
}
