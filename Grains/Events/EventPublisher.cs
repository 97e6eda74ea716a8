using Deploy.Engine.Grains.Interfaces;
using Orleans.Runtime;
using Orleans.Streams;

namespace Deploy.Engine.Grains.Events;

/// <summary>Publishes engine events on the events stream of one subject.</summary>
internal sealed class EventPublisher(IStreamProvider provider, string streamKey, TimeProvider clock)
{
    private readonly IAsyncStream<EngineEvent> _stream =
        provider.GetStream<EngineEvent>(StreamId.Create(GrainKeys.EventNamespace, streamKey));

    public Task Publish(string type, string subject, string? reason, IReadOnlyDictionary<string, string>? data = null) =>
        _stream.OnNextAsync(new EngineEvent
        {
            Id = Guid.NewGuid().ToString("n"),
            Type = type,
            Subject = subject,
            Timestamp = clock.GetUtcNow(),
            Reason = reason,
            Data = data ?? new Dictionary<string, string>(),
        });

    public Task PublishBatch(IEnumerable<EngineEvent> events) => _stream.OnNextBatchAsync(events.ToList());
}
