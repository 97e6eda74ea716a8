using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>An engine event in the feed: its position, the stream it came from and what it is about (for filters and key scopes).</summary>
[GenerateSerializer, Immutable]
[Alias("FeedItem")]
public sealed record FeedItem
{
    /// <summary>Position in the feed, from 1, within one <see cref="FeedBatch.Epoch"/>.</summary>
    [Id(0)] public long Sequence { get; init; }

    [Id(1)] public required string Stream { get; init; }

    [Id(2)] public string? Environment { get; init; }

    [Id(3)] public string? Service { get; init; }

    [Id(4)] public string? Rollout { get; init; }

    [Id(5)] public required EngineEvent Event { get; init; }
}

/// <summary>
/// A read of the feed. <c>Epoch</c> names the feed's activation: sequences restart with a new epoch (the feed keeps its
/// window in memory), so a position of another epoch is a gap. <c>Gap</c>: items after the asked position were evicted.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("FeedBatch")]
public sealed record FeedBatch
{
    [Id(0)] public required string Epoch { get; init; }

    [Id(1)] public required IReadOnlyList<FeedItem> Items { get; init; }

    [Id(2)] public bool Gap { get; init; }

    [Id(3)] public long Oldest { get; init; }

    [Id(4)] public long Last { get; init; }
}

/// <summary>
/// The cluster-wide feed of engine events behind <c>GET /v1/events/stream</c>: one activation holds a bounded,
/// sequence-numbered window of the latest events, appended by an event follower on whichever silo the event's history
/// lives, and read by each API node's stream hub with a long-poll. Key: <see cref="GrainKeys.EventFeed"/>.
/// </summary>
[Alias("IEventFeedGrain")]
public interface IEventFeedGrain : IGrainWithStringKey
{
    /// <summary>Appends an event (one already held, by id, is ignored: streams deliver at least once).</summary>
    [Alias("Append")]
    Task Append(string stream, EngineEvent item);

    /// <summary>
    /// Up to <paramref name="max"/> items after <paramref name="after"/>; when there are none yet, waits up to
    /// <paramref name="wait"/> for one. A negative <paramref name="after"/> reads only the position (no items).
    /// </summary>
    [Alias("Read"), AlwaysInterleave]
    Task<FeedBatch> Read(long after, int max, TimeSpan wait);
}
