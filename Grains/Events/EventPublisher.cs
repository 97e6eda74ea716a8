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
        var item = Create(id, type, subject, reason, data);
        EngineTelemetry.Published(item);
        return _stream.OnNextAsync(item);
    }

    /// <summary>An event stamped now, with a new id unless <paramref name="id"/> is given, for <see cref="PublishInOrder"/>.</summary>
    public EngineEvent Create(string? id, string type, string subject, string? reason, IReadOnlyDictionary<string, string>? data) => new()
    {
        Id = id ?? Guid.NewGuid().ToString("n"),
        Type = type,
        Subject = subject,
        Timestamp = clock.GetUtcNow(),
        Reason = reason,
        Data = data ?? new Dictionary<string, string>(),
    };

    /// <summary>
    /// Publishes events in order, as few stream messages as fit: consecutive events go out as one batch (one queue
    /// message on Azure queue streams, where each message costs a round trip) while their estimated size stays under
    /// <see cref="BatchBudgetChars"/>; an event larger than that goes alone. Subscribers still receive each event, in order.
    /// </summary>
    public async Task PublishInOrder(IReadOnlyList<EngineEvent> events)
    {
        var batch = new List<EngineEvent>();
        var size = 0;
        foreach (var item in events)
        {
            var estimate = EstimatedChars(item);
            if (batch.Count > 0 && size + estimate > BatchBudgetChars)
            {
                await Send(batch);
                batch = [];
                size = 0;
            }

            batch.Add(item);
            size += estimate;
        }

        if (batch.Count > 0)
        {
            await Send(batch);
        }
    }

    /// <summary>
    /// What one batch may carry, in characters of the events' text: an Azure queue message holds 64 KiB after base64
    /// (48 KiB of serialized bytes), so 24,000 ASCII characters leave room for the serializer's framing and non-ASCII text.
    /// One hosts.updated event of <see cref="EventTypes.HostsPerEvent"/> hosts is about 15,000.
    /// </summary>
    internal const int BatchBudgetChars = 24_000;

    internal static int EstimatedChars(EngineEvent item)
    {
        var chars = 64 + item.Id.Length + item.Type.Length + item.Subject.Length + (item.Reason?.Length ?? 0);
        foreach (var (key, value) in item.Data)
        {
            chars += key.Length + value.Length + 4;
        }

        return chars;
    }

    private Task Send(List<EngineEvent> batch)
    {
        batch.ForEach(EngineTelemetry.Published);
        return batch.Count == 1 ? _stream.OnNextAsync(batch[0]) : _stream.OnNextBatchAsync(batch);
    }

    public Task PublishBatch(IEnumerable<EngineEvent> events)
    {
        var items = events.ToList();
        items.ForEach(EngineTelemetry.Published);
        return _stream.OnNextBatchAsync(items);
    }
}
