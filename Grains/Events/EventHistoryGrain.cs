using Deploy.Engine.Grains.Interfaces;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Deploy.Engine.Grains.Events;

[GenerateSerializer]
[Alias("EventHistoryState")]
public sealed class EventHistoryState
{
    [Id(0)] public List<EngineEvent> Events { get; set; } = [];

    [Id(1)] public long LastSequence { get; set; }
}

/// <summary>
/// Appends every event of its subject's stream, in delivery order, numbered. Streams deliver at least once,
/// so an event already held (same id) is not appended twice.
/// </summary>
[ImplicitStreamSubscription(GrainKeys.EventNamespace)]
public sealed class EventHistoryGrain(
    [PersistentState("history", Stores.Blob)] IPersistentState<EventHistoryState> state)
    : Grain, IEventHistoryGrain, IStreamSubscriptionObserver, IAsyncObserver<EngineEvent>
{
    private HashSet<string>? _seen;

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<EngineEvent>().ResumeAsync(this);

    public async Task OnNextAsync(EngineEvent item, StreamSequenceToken? token = null)
    {
        _seen ??= state.State.Events.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        if (!_seen.Add(item.Id))
        {
            return;
        }

        state.State.LastSequence++;
        state.State.Events.Add(item with { Sequence = state.State.LastSequence });
        await state.WriteStateAsync();
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    public Task<Page<EngineEvent>> Read(long afterSequence, int limit)
    {
        var items = state.State.Events.Where(e => e.Sequence > afterSequence).Take(limit).ToList();
        return Task.FromResult(new Page<EngineEvent>
        {
            Items = items,
            Total = state.State.Events.Count,
            Offset = (int)Math.Min(afterSequence, int.MaxValue),
            Limit = limit,
        });
    }
}
