using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Deploy.Engine.Grains.Events;

[GenerateSerializer]
[Alias("EventHistoryState")]
public sealed class EventHistoryState
{
    /// <summary>The open page: events after the last sealed page.</summary>
    [Id(0)] public List<EngineEvent> Events { get; set; } = [];

    [Id(1)] public long LastSequence { get; set; }

    [Id(2)] public long SealedPages { get; set; }

    /// <summary>Ids of the last sealed page, so a redelivery that straddles a page boundary is still recognised.</summary>
    [Id(3)] public List<string> PreviousPageIds { get; set; } = [];
}

/// <summary>
/// Appends every event of its subject's stream, in delivery order, numbered from 1. Streams deliver at least
/// once, so an event already held (same id) is not appended twice. Full pages of <see cref="PageSize"/> events
/// are sealed into page grains, so an append writes at most one page however long the history grows.
/// </summary>
[ImplicitStreamSubscription(GrainKeys.EventNamespace)]
public sealed class EventHistoryGrain(
    [PersistentState("history", Stores.Blob)] IPersistentState<EventHistoryState> state,
    IEnumerable<IEventFollower> followers)
    : Grain, IEventHistoryGrain, IStreamSubscriptionObserver, IAsyncObserver<EngineEvent>
{
    public const int PageSize = 64;

    private HashSet<string>? _seen;

    private string Key => this.GetPrimaryKeyString();

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<EngineEvent>().ResumeAsync(this);

    public async Task OnNextAsync(EngineEvent item, StreamSequenceToken? token = null)
    {
        var s = state.State;
        _seen ??= s.Events.Select(e => e.Id).Concat(s.PreviousPageIds).ToHashSet(StringComparer.Ordinal);
        if (_seen.Contains(item.Id))
        {
            return;
        }

        // Followers first (the audit trail, reviews): if one fails the event is redelivered and all try again (each
        // ignores a duplicate), so an event in the history has always been followed too.
        foreach (var follower in followers)
        {
            await follower.Follow(Key, item, GrainFactory);
        }

        _seen.Add(item.Id);

        if (s.Events.Count == PageSize)
        {
            // Seal first: if the seal fails the event is redelivered and the open page is still intact.
            await GrainFactory.Ref<IEventPageGrain>(GrainKeys.EventPage(Key, s.SealedPages)).Seal(s.Events);
            s.PreviousPageIds = s.Events.Select(e => e.Id).ToList();
            s.SealedPages++;
            s.Events = [];
            _seen = s.PreviousPageIds.ToHashSet(StringComparer.Ordinal);
            _seen.Add(item.Id);
        }

        s.LastSequence++;
        s.Events.Add(item with { Sequence = s.LastSequence });
        await state.WriteStateAsync();
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    [ReadOnly]
    public async Task<Page<EngineEvent>> Read(long afterSequence, int limit)
    {
        var s = state.State;
        var items = new List<EngineEvent>(Math.Min(limit, PageSize));
        for (var page = Math.Max(0, afterSequence) / PageSize; page <= s.SealedPages && items.Count < limit; page++)
        {
            var events = page < s.SealedPages
                ? await GrainFactory.Ref<IEventPageGrain>(GrainKeys.EventPage(Key, page)).Read()
                : s.Events;
            items.AddRange(events.Where(e => e.Sequence > afterSequence).Take(limit - items.Count));
        }

        return new Page<EngineEvent>
        {
            Items = items,
            Total = (int)Math.Min(s.LastSequence, int.MaxValue),
            Offset = (int)Math.Min(afterSequence, int.MaxValue),
            Limit = limit,
        };
    }
}

[GenerateSerializer]
[Alias("EventPageState")]
public sealed class EventPageState
{
    [Id(0)] public List<EngineEvent> Events { get; set; } = [];
}

/// <summary>One sealed page of a history; written once.</summary>
public sealed class EventPageGrain(
    [PersistentState("history-page", Stores.Blob)] IPersistentState<EventPageState> state) : Grain, IEventPageGrain
{
    public async Task Seal(IReadOnlyList<EngineEvent> events)
    {
        state.State.Events = events.ToList();
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<IReadOnlyList<EngineEvent>> Read() => Task.FromResult<IReadOnlyList<EngineEvent>>(state.State.Events);
}
