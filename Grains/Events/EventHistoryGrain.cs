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

    /// <summary>
    /// The first sequence of each sealed page. Pages sealed before pages had a size budget hold exactly
    /// <see cref="EventHistoryGrain.PageSize"/> events each and have no entry here (see <see cref="EventHistoryGrain.PageStarts"/>).
    /// </summary>
    [Id(4)] public List<long> PageStarts { get; set; } = [];
}

/// <summary>
/// Appends every event of its subject's stream, in delivery order, numbered from 1. Streams deliver at least
/// once, so an event already held (same id) is not appended twice. A page is sealed into a page grain when it holds
/// <see cref="PageSize"/> events or <see cref="PageBudgetChars"/> characters of them, so an append writes at most one
/// page of bounded size however long the history grows: a 10,000-host rollback announces its hosts as twenty events of
/// 500 hosts (about 15,000 characters each), and with a count alone each of them rewrote a page growing past 300 KB.
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

    /// <summary>The open page is sealed before an event would take it past this many characters (estimated).</summary>
    public const int PageBudgetChars = 48_000;

    private HashSet<string>? _seen;

    /// <summary>The open page's estimated size in characters (<see cref="EventPublisher.EstimatedChars"/>).</summary>
    private int? _openChars;

    private string Key => this.GetPrimaryKeyString();

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<EngineEvent>().ResumeAsync((IAsyncBatchObserver<EngineEvent>)this);

    public async Task OnNextAsync(IList<SequentialItem<EngineEvent>> items)
    {
        try
        {
            await Append(items);
        }
        catch
        {
            // Whatever failed (a follower, a seal, the write), events this activation holds in memory count as seen
            // although storage may not hold them: the redelivery goes to a fresh activation, which starts from storage.
            this.DeactivateOnIdle();
            throw;
        }
    }

    private async Task Append(IList<SequentialItem<EngineEvent>> items)
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

            var size = EventPublisher.EstimatedChars(item);
            _openChars ??= s.Events.Sum(EventPublisher.EstimatedChars);
            if (s.Events.Count == PageSize || (s.Events.Count > 0 && _openChars + size > PageBudgetChars))
            {
                // Seal first: the stored open page stays intact if the seal fails. A page sealed before this batch's
                // write failed is sealed again, with the same events, on the redelivery.
                await GrainFactory.Ref<IEventPageGrain>(GrainKeys.EventPage(Key, s.SealedPages)).Seal(s.Events);
                s.PageStarts = [.. PageStarts(s), s.Events[0].Sequence];
                s.PreviousPageIds = s.Events.Select(e => e.Id).ToList();
                s.SealedPages++;
                s.Events = [];
                _openChars = 0;
                _seen = s.PreviousPageIds.ToHashSet(StringComparer.Ordinal);
                _seen.Add(item.Id);
            }

            s.LastSequence++;
            s.Events.Add(item with { Sequence = s.LastSequence });
            _openChars += size;
            appended = true;
        }

        if (appended)
        {
            await state.WriteStateAsync();
        }
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    [ReadOnly]
    public async Task<Page<EngineEvent>> Read(long afterSequence, int limit)
    {
        var s = state.State;
        var items = new List<EngineEvent>(Math.Min(limit, PageSize));
        for (var page = PageOf(s, Math.Max(0, afterSequence) + 1); page <= s.SealedPages && items.Count < limit; page++)
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

    /// <summary>
    /// The first sequence of every sealed page: as stored, after those of pages sealed before pages had a size budget,
    /// which hold <see cref="PageSize"/> events each.
    /// </summary>
    public static List<long> PageStarts(EventHistoryState s)
    {
        var legacy = (int)Math.Max(0, s.SealedPages - s.PageStarts.Count);
        return [.. Enumerable.Range(0, legacy).Select(i => (long)i * PageSize + 1), .. s.PageStarts];
    }

    /// <summary>The page holding <paramref name="sequence"/>: a sealed page's index, or <c>SealedPages</c> for the open page.</summary>
    public static long PageOf(EventHistoryState s, long sequence)
    {
        var starts = PageStarts(s);
        starts.Add(s.Events.Count > 0 ? s.Events[0].Sequence : s.LastSequence + 1);
        var index = starts.BinarySearch(sequence);
        return index >= 0 ? index : Math.Max(0, ~index - 1);
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
