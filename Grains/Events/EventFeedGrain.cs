using Deploy.Engine.Domain.Streaming;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Events;

/// <summary>Bound from configuration section "Engine:EventFeed".</summary>
public sealed class EventFeedOptions
{
    public const string Section = "Engine:EventFeed";

    /// <summary>How many of the latest events the feed retains for clients that reconnect (Last-Event-ID).</summary>
    public int Capacity { get; set; } = 10_000;
}

/// <summary>
/// The cluster-wide, in-memory window of the latest engine events (see <see cref="IEventFeedGrain"/>). One activation
/// in the cluster, so every API node on every silo reads the same sequence; the window is memory only (the histories
/// are the durable record), so a new activation starts a new epoch and readers of the old one are told of the gap.
/// Appends are one short in-memory call per event; reads interleave with appends and park on a signal, not a loop.
/// </summary>
[KeepAlive]
public sealed class EventFeedGrain(IOptions<EventFeedOptions> options, TimeProvider clock) : Grain, IEventFeedGrain
{
    private readonly EventWindow<FeedItem> _window = new(Math.Max(1, options.Value.Capacity));
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly string _epoch = Guid.NewGuid().ToString("n")[..12];
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Append(string stream, EngineEvent item)
    {
        if (!_ids.Add(item.Id))
        {
            return Task.CompletedTask;
        }

        var (environment, service, rollout) = EventScope.Of(stream, item);
        _window.Append(new FeedItem
        {
            Sequence = _window.Last + 1,
            Stream = stream,
            Environment = environment,
            Service = service,
            Rollout = rollout,
            Event = item,
        }, out var evicted, out var didEvict);
        if (didEvict)
        {
            _ids.Remove(evicted!.Event.Id);
        }

        var waiting = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.TrySetResult();
        return Task.CompletedTask;
    }

    public async Task<FeedBatch> Read(long after, int max, TimeSpan wait)
    {
        if (after >= 0 && _window.Last <= after && wait > TimeSpan.Zero)
        {
            // Why bounded: the caller's grain call times out (30 s by default); it asks again.
            var bounded = wait < TimeSpan.FromSeconds(20) ? wait : TimeSpan.FromSeconds(20);
            await Task.WhenAny(_appended.Task, Task.Delay(bounded, clock));
        }

        var read = _window.Read(after < 0 ? _window.Last : after, after < 0 ? 0 : Math.Clamp(max, 1, 1000));
        return new FeedBatch { Epoch = _epoch, Items = read.Items, Gap = read.Gap, Oldest = read.Oldest, Last = read.Last };
    }
}

/// <summary>What an event is about, for the stream's filters and key scopes: from its data, else from its stream key.</summary>
public static class EventScope
{
    public static (string? Environment, string? Service, string? Rollout) Of(string stream, EngineEvent item)
    {
        var environment = item.Data.GetValueOrDefault("environment");
        var service = item.Data.GetValueOrDefault("service");
        var rollout = item.Data.GetValueOrDefault("rollout");
        var slash = stream.IndexOf('/', StringComparison.Ordinal);
        var (kind, key) = slash > 0 ? (stream[..slash], stream[(slash + 1)..]) : (stream, string.Empty);
        switch (kind)
        {
            case "rollout" when GrainKeys.TryParseRollout(key, out _, out var env):
                rollout ??= key;
                environment ??= env;
                break;
            case "environment" or "governance":
                environment ??= key;
                break;
            case "service" or "reviews":
                service ??= key;
                break;
        }

        return (Empty(environment), Empty(service), Empty(rollout));
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
