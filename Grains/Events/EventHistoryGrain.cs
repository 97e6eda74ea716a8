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
/// Events arrive as the batches they were published in (a rollout's commit publishes its events as one stream
/// message), and a batch is stored with one write: a rollout's step boundary (the finished step's hosts, the batch
/// completed, the next batch started) is one write of the open page, not three.
/// </summary>
[ImplicitStreamSubscription(GrainKeys.EventNamespace)]
public sealed class EventHistoryGrain(
    [PersistentState("history", Stores.Blob)] IPersistentState<EventHistoryState> state,
    IEnumerable<IEventFollower> followers)
    : Grain, IEventHistoryGrain, IStreamSubscriptionObserver, IAsyncBatchObserver<EngineEvent>
{
    public const int PageSize = 64;

    private HashSet<string>? _seen;

    private string Key => this.GetPrimaryKeyString();

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<EngineEvent>().ResumeAsync((IAsyncBatchObserver<EngineEvent>)this);

    public async Task OnNextAsync(IList<SequentialItem<EngineEvent>> items)
    {
        var s = state.State;
        _seen ??= s.Events.Select(e => e.Id).Concat(s.PreviousPageIds).ToHashSet(StringComparer.Ordinal);
        var appended = false;
        foreach (var sequential in items)
        {
            var item = sequential.Item;
            if (_seen.Contains(item.Id))
            {
                continue;
            }

            // Followers first (the audit trail, reviews): if one fails the batch is redelivered and all try again (each
            // ignores a duplicate), so an event in the history has always been followed too.
            foreach (var follower in followers)
            {
                await follower.Follow(Key, item, GrainFactory);
            }

            _seen.Add(item.Id);

            if (s.Events.Count == PageSize)
            {
                // Seal first: if the seal fails the batch is redelivered, and the stored open page is still intact. A
                // page sealed before this batch's write is sealed again, with the same events, on a redelivery.
                await GrainFactory.Ref<IEventPageGrain>(GrainKeys.EventPage(Key, s.SealedPages)).Seal(s.Events);
                s.PreviousPageIds = s.Events.Select(e => e.Id).ToList();
                s.SealedPages++;
                s.Events = [];
                _seen = s.PreviousPageIds.ToHashSet(StringComparer.Ordinal);
                _seen.Add(item.Id);
            }

            s.LastSequence++;
            s.Events.Add(item with { Sequence = s.LastSequence });
            appended = true;
        }

        if (appended)
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // What is in memory was not stored, yet counts as seen: the redelivery goes to a fresh activation,
                // which starts from what storage holds and appends the batch again.
                this.DeactivateOnIdle();
                throw;
            }
        }
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
