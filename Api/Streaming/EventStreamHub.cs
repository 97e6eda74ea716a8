using System.Threading.Channels;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Streaming;

/// <summary>Bound from configuration section "Api:EventStream".</summary>
public sealed class EventStreamOptions
{
    public const string Section = "Api:EventStream";

    /// <summary>Seconds between heartbeat comment lines on an idle stream.</summary>
    public int HeartbeatSeconds { get; set; } = 15;

    /// <summary>Events buffered per connection; a client that falls this far behind is disconnected.</summary>
    public int BufferSize { get; set; } = 512;

    /// <summary>How long one long-poll of the feed waits for a new event before asking again.</summary>
    public int PollSeconds { get; set; } = 10;
}

/// <summary>What a connection wants: its filters and its key's scope (empty sets: unscoped).</summary>
public sealed record StreamFilter(string? Environment, string? Service, string? Rollout, IReadOnlySet<string> ScopeEnvironments, IReadOnlySet<string> ScopeServices)
{
    public bool Matches(FeedItem item) =>
        (Environment is null || item.Environment == Environment)
        && (Service is null || item.Service == Service)
        && (Rollout is null || item.Rollout == Rollout)
        && (ScopeEnvironments.Count == 0 || (item.Environment is not null && ScopeEnvironments.Contains(item.Environment)))
        && (ScopeServices.Count == 0 || (item.Service is not null && ScopeServices.Contains(item.Service)));
}

/// <summary>An item for one connection: an event of the feed, or word that the feed lost events (a new epoch).</summary>
public sealed record StreamFrame(FeedItem? Item, string Epoch, string? Gap);

/// <summary>One connection's bounded buffer. <see cref="Dropped"/> fires when the hub found it full.</summary>
public sealed class StreamSubscription : IDisposable
{
    private readonly EventStreamHub _hub;
    private readonly CancellationTokenSource _dropped = new();

    internal StreamSubscription(EventStreamHub hub, StreamFilter filter, int capacity)
    {
        _hub = hub;
        Filter = filter;
        // Wait mode with TryWrite only: a full buffer makes TryWrite fail (the hub never waits), and the hub then
        // disconnects the client, so a slow reader loses its connection, never events in the middle of its stream.
        Channel = System.Threading.Channels.Channel.CreateBounded<StreamFrame>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true,
        });
    }

    public StreamFilter Filter { get; }

    public Channel<StreamFrame> Channel { get; }

    public CancellationToken Dropped => _dropped.Token;

    internal void Offer(StreamFrame frame)
    {
        if (!Channel.Writer.TryWrite(frame))
        {
            Drop();
        }
    }

    internal void Drop()
    {
        Channel.Writer.TryComplete();

        // Off the hub's loop: cancelling runs the connection's callbacks, which must not run on (and hold up) the loop.
        ThreadPool.QueueUserWorkItem(static s => ((StreamSubscription)s!).Cancel(), this);
    }

    private void Cancel()
    {
        try
        {
            _dropped.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection already ended.
        }
    }

    public void Dispose()
    {
        _hub.Remove(this);
        Channel.Writer.TryComplete();
        _dropped.Dispose();
    }
}

/// <summary>
/// One per API node: a single long-poll loop reads the cluster-wide event feed (<see cref="IEventFeedGrain"/>) and
/// fans each event out to this node's connections whose filters match, through their bounded buffers. The loop runs
/// while at least one connection is open. It never waits on a connection: a full buffer disconnects that client.
/// </summary>
public sealed partial class EventStreamHub(IGrainFactory grains, IOptions<EventStreamOptions> options, ILogger<EventStreamHub> logger)
{
    private readonly Lock _gate = new();
    private readonly List<StreamSubscription> _subscriptions = [];
    private Task? _pump;
    private TaskCompletionSource _positioned = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Connections
    {
        get
        {
            lock (_gate) return _subscriptions.Count;
        }
    }

    /// <summary>
    /// Registers a connection. Returns once the loop holds a position in the feed: every event after that position
    /// will be offered to the connection, so a caller that then reads the feed up to its end has no hole between.
    /// </summary>
    public async Task<StreamSubscription> Subscribe(StreamFilter filter, CancellationToken cancellation)
    {
        var subscription = new StreamSubscription(this, filter, options.Value.BufferSize);
        Task positioned;
        lock (_gate)
        {
            _subscriptions.Add(subscription);
            if (_pump is null || _pump.IsCompleted)
            {
                _positioned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _pump = Task.Run(Pump, CancellationToken.None);
            }

            positioned = _positioned.Task;
        }

        try
        {
            await positioned.WaitAsync(cancellation);
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return subscription;
    }

    internal void Remove(StreamSubscription subscription)
    {
        lock (_gate) _subscriptions.Remove(subscription);
    }

    private async Task Pump()
    {
        var feed = grains.Ref<IEventFeedGrain>(GrainKeys.EventFeed);
        string? epoch = null;
        long after = -1;
        var wait = TimeSpan.FromSeconds(Math.Clamp(options.Value.PollSeconds, 1, 20));
        while (true)
        {
            lock (_gate)
            {
                if (_subscriptions.Count == 0)
                {
                    _pump = null;
                    return;
                }
            }

            FeedBatch batch;
            try
            {
                // At most a buffer's worth per read: one read can never overflow a connection that keeps up.
                batch = await feed.Read(after, Math.Clamp(options.Value.BufferSize, 1, 500), after < 0 ? TimeSpan.Zero : wait);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogFeedUnavailable(logger, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(1));
                continue;
            }

            // The connections as they are now, after the read: one that subscribed while the read waited read its own
            // start position after subscribing, so it must be offered this batch (anything it already has is skipped).
            StreamSubscription[] current;
            lock (_gate) current = [.. _subscriptions];

            if (epoch is not null && batch.Epoch != epoch)
            {
                // The feed was reactivated (its silo left): what happened in between is not in its window.
                foreach (var s in current) s.Offer(new StreamFrame(null, batch.Epoch, "the event feed restarted; events in between may be missing"));
                epoch = batch.Epoch;
                after = -1;
                continue;
            }

            epoch = batch.Epoch;
            if (after < 0)
            {
                after = batch.Last;
                lock (_gate) _positioned.TrySetResult();
                continue;
            }

            if (batch.Gap)
            {
                // This node fell further behind than the feed retains (it could not read for a long while).
                foreach (var s in current) s.Offer(new StreamFrame(null, epoch, "this API node fell behind the event feed; events in between are missing"));
            }

            foreach (var item in batch.Items)
            {
                foreach (var s in current)
                {
                    if (s.Filter.Matches(item)) s.Offer(new StreamFrame(item, epoch, null));
                }
            }

            after = batch.Items.Count > 0 ? batch.Items[^1].Sequence : after;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "event feed unavailable ({Error}); retrying")]
    private static partial void LogFeedUnavailable(ILogger logger, string error);
}
