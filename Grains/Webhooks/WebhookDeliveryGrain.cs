using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Webhooks;

[GenerateSerializer]
[Alias("WebhookDeliveryState")]
public sealed class WebhookDeliveryState
{
    [Id(0)] public WebhookSubscription? Subscription { get; set; }

    /// <summary>The signing secret, encrypted with the engine's Data Protection key ring.</summary>
    [Id(1)] public string ProtectedSecret { get; set; } = string.Empty;

    /// <summary>Events not delivered yet, in the order they were enqueued; the first is the one being delivered.</summary>
    [Id(2)] public List<EngineEvent> Outbox { get; set; } = [];

    /// <summary>Failed rounds of the head event.</summary>
    [Id(3)] public int HeadRounds { get; set; }

    /// <summary>HTTP attempts made for the head event, all rounds together.</summary>
    [Id(4)] public int HeadAttempts { get; set; }

    [Id(5)] public DateTimeOffset? NextAttemptAt { get; set; }

    [Id(6)] public string? LastError { get; set; }

    [Id(7)] public List<WebhookDeadLetter> DeadLetters { get; set; } = [];

    [Id(8)] public long Delivered { get; set; }

    /// <summary>Ids of the last delivered events, so a redelivered stream event is not sent twice.</summary>
    [Id(9)] public List<string> RecentlyDelivered { get; set; } = [];

    [Id(10)] public bool Closed { get; set; }

    [Id(11)] public DateTimeOffset? LastDeliveredAt { get; set; }

    /// <summary>The sequence the next dead letter gets (its place in the list, for paging).</summary>
    [Id(12)] public long NextDeadLetterSequence { get; set; } = 1;

    /// <summary>Events refused while the outbox and the dead-letter list were both full.</summary>
    [Id(13)] public long Refused { get; set; }

    [Id(14)] public string? LastRefusal { get; set; }

    [Id(15)] public DateTimeOffset? LastRefusedAt { get; set; }
}

/// <summary>
/// One subscription's deliveries. <see cref="Enqueue"/> only appends to the persisted outbox and returns (the event
/// follower, and with it the event history, never waits on a receiver); a pump sends the outbox in order, one event at
/// a time: delivered → next; a failed round → the same event again after a backoff (events behind it wait, so a
/// receiver sees them in order); too many failed rounds → dead letter, then the next. The pump runs on an interleaving
/// timer, so enqueues, status reads and re-drives are answered while a receiver hangs; every state write goes through
/// one lock. A reminder, registered while the subscription is open, restarts the pump after a silo restart.
/// <para>
/// Nothing leaves unseen. The outbox holds <see cref="WebhookOptions.MaxPending"/> events and the dead-letter list
/// <see cref="WebhookOptions.MaxDeadLetters"/>; neither drops its oldest. With the outbox full a new event is
/// dead-lettered ("outbox full"); with the dead-letter list full too it is refused, counted and logged
/// (<see cref="WebhookDeliveryStatus.Refused"/>). With the dead-letter list full, an event that fails its last round stays
/// at the head and is retried (<see cref="WebhookDeliveryStatus.Held"/> says why) until an operator re-drives or
/// discards dead letters. None of this reaches a rollout: an enqueue is one append, whatever the receiver does.
/// </para>
/// </summary>
public sealed partial class WebhookDeliveryGrain(
    [PersistentState("webhook-delivery", Stores.Blob)] IPersistentState<WebhookDeliveryState> state,
    IWebhookSender sender,
    IWebhookSecretProtector protector,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliveryGrain> logger) : Grain, IWebhookDeliveryGrain, IRemindable, IDisposable
{
    public const string ReminderName = "webhook-delivery";

    /// <summary>Delivered ids remembered for de-duplication.</summary>
    public const int RememberDelivered = 512;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private IGrainTimer? _timer;
    private bool _pumping;

    private WebhookDeliveryState S => state.State;

    /// <summary>The write lock goes with the activation.</summary>
    public void Dispose() => _writeLock.Dispose();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Dead letters stored before they were numbered get their places now (persisted with the next write).
        if (S.DeadLetters.Any(d => d.Sequence == 0))
        {
            S.DeadLetters = S.DeadLetters.Select(d => d with { Sequence = S.NextDeadLetterSequence++ }).ToList();
        }

        if (!S.Closed && S.Outbox.Count > 0)
        {
            Wake(S.NextAttemptAt);
        }

        return Task.CompletedTask;
    }

    public async Task Open(WebhookSubscription subscription, string protectedSecret)
    {
        S.Subscription = subscription;
        S.ProtectedSecret = protectedSecret;
        S.Closed = false;
        await Save();
        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    public async Task Enqueue(EngineEvent item)
    {
        if (S.Closed || S.Subscription is null || Holds(item.Id))
        {
            return;
        }

        var o = options.Value;
        if (S.Outbox.Count >= o.MaxPending)
        {
            var full = $"outbox full ({o.MaxPending} events waiting behind an undelivered one)";
            if (!AddDeadLetter(new WebhookDeadLetter
                {
                    Event = item,
                    Attempts = 0,
                    Reason = full + "; not sent",
                    DeadLetteredAt = clock.GetUtcNow(),
                }))
            {
                S.Refused++;
                S.LastRefusal = $"event {item.Id} ({item.Type}) refused: {full} and the dead-letter list full ({o.MaxDeadLetters}); re-drive or discard dead letters";
                S.LastRefusedAt = clock.GetUtcNow();
                LogRefused(logger, S.Subscription.Id, item.Id, o.MaxPending, o.MaxDeadLetters);
                Telemetry.EngineTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "refused"));
            }

            await Save();
            return;
        }

        S.Outbox.Add(item);
        await Save();
        if (S.Outbox.Count == 1) Wake(S.NextAttemptAt);
    }

    [ReadOnly]
    public Task<WebhookDeliveryStatus> Status() => Task.FromResult(new WebhookDeliveryStatus
    {
        Pending = S.Outbox.Count,
        Delivered = S.Delivered,
        DeadLetters = S.DeadLetters.Count,
        NextAttemptAt = S.NextAttemptAt,
        LastError = S.LastError,
        LastDeliveredAt = S.LastDeliveredAt,
        HeadAttempts = S.HeadAttempts,
        Held = DeadLettersFull && S.Outbox.Count > 0
            ? $"the dead-letter list is full ({options.Value.MaxDeadLetters}): an event that fails its last round stays in the outbox and is retried; re-drive or discard dead letters to make room"
            : null,
        Refused = S.Refused,
        LastRefusal = S.LastRefusal,
        LastRefusedAt = S.LastRefusedAt,
        DeadLetterCapacity = options.Value.MaxDeadLetters,
    });

    [ReadOnly]
    public Task<IReadOnlyList<WebhookDeadLetter>> DeadLetters() => Task.FromResult<IReadOnlyList<WebhookDeadLetter>>(S.DeadLetters.ToList());

    [ReadOnly]
    public Task<WebhookDeadLetterPage> DeadLetterPage(long after, int limit)
    {
        // The list is in sequence order (appended with increasing numbers), so a page is a run of it.
        var page = S.DeadLetters.Where(d => d.Sequence > after).Take(limit + 1).ToList();
        var more = page.Count > limit;
        if (more) page.RemoveAt(limit);
        return Task.FromResult(new WebhookDeadLetterPage { Items = page, Total = S.DeadLetters.Count, Next = more ? page[^1].Sequence : null });
    }

    public async Task<int> Redrive(IReadOnlyList<string>? eventIds)
    {
        if (S.Closed) return 0;
        var wanted = eventIds?.ToHashSet(StringComparer.Ordinal);
        var room = Math.Max(0, options.Value.MaxPending - S.Outbox.Count);
        var moving = S.DeadLetters.Where(d => wanted is null || wanted.Contains(d.Event.Id)).Take(room).ToList();
        if (moving.Count == 0) return 0;
        var wasEmpty = S.Outbox.Count == 0;
        var moved = moving.Select(d => d.Sequence).ToHashSet();
        S.DeadLetters.RemoveAll(d => moved.Contains(d.Sequence));
        S.Outbox.AddRange(moving.Select(d => d.Event).Where(e => !S.Outbox.Any(o => o.Id == e.Id)));
        await Save();
        if (wasEmpty) Wake(S.NextAttemptAt);
        return moving.Count;
    }

    public async Task<int> Discard(IReadOnlyList<string>? eventIds)
    {
        if (S.Closed) return 0;
        var wanted = eventIds?.ToHashSet(StringComparer.Ordinal);
        var count = S.DeadLetters.RemoveAll(d => wanted is null || wanted.Contains(d.Event.Id));
        if (count == 0) return 0;
        await Save();
        return count;
    }

    public async Task Close()
    {
        S.Closed = true;
        S.Outbox.Clear();
        S.DeadLetters.Clear();
        S.NextAttemptAt = null;
        S.ProtectedSecret = string.Empty;
        await Save();
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _timer?.Dispose();
        _timer = null;
        DeactivateOnIdle();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!S.Closed && S.Outbox.Count > 0 && !_pumping) Wake(S.NextAttemptAt);
        return Task.CompletedTask;
    }

    /// <summary>Runs the pump at <paramref name="at"/> (now when null or past) on an interleaving timer.</summary>
    private void Wake(DateTimeOffset? at)
    {
        var due = at is { } t ? t - clock.GetUtcNow() : TimeSpan.Zero;
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        if (_timer is null)
        {
            _timer = this.RegisterGrainTimer(Pump, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task Pump(CancellationToken cancellationToken)
    {
        if (_pumping) return;
        _pumping = true;
        try
        {
            while (!S.Closed && S.Outbox.Count > 0 && S.Subscription is { } subscription)
            {
                // Waiting out a backoff: the timer comes back when it ends.
                if (S.NextAttemptAt is { } next && next > clock.GetUtcNow())
                {
                    Wake(next);
                    return;
                }

                var head = S.Outbox[0];
                var key = protector.Unprotect(S.ProtectedSecret) is { } secret ? WebhookSignature.Key(secret) : null;
                var result = key is null
                    ? new DeliveryResult(false, 0, "the signing secret cannot be read (the key ring changed); delete and re-create the subscription")
                    : await sender.Deliver(subscription, key, head, CancellationToken.None);

                // The world may have moved while the receiver was answering: closed, or the head dead-lettered elsewhere.
                if (S.Closed || S.Outbox.Count == 0 || !string.Equals(S.Outbox[0].Id, head.Id, StringComparison.Ordinal))
                {
                    continue;
                }

                var now = clock.GetUtcNow();
                if (result.Ok)
                {
                    S.Outbox.RemoveAt(0);
                    S.Delivered++;
                    S.LastDeliveredAt = now;
                    S.RecentlyDelivered.Add(head.Id);
                    if (S.RecentlyDelivered.Count > RememberDelivered) S.RecentlyDelivered.RemoveRange(0, S.RecentlyDelivered.Count - RememberDelivered);
                    ResetHead();
                }
                else
                {
                    S.HeadRounds++;
                    S.HeadAttempts += result.Attempts;
                    var o = options.Value;
                    var verdict = DeliverySchedule.AfterFailure(S.HeadRounds, o.MaxRounds, o.RoundBaseDelay, o.MaxRoundDelay, now, result.Error ?? "failed");
                    if (verdict.Outcome == DeliveryOutcome.DeadLetter && AddDeadLetter(new WebhookDeadLetter { Event = head, Attempts = S.HeadAttempts, Reason = verdict.Reason, DeadLetteredAt = now }))
                    {
                        S.Outbox.RemoveAt(0);
                        LogDeadLettered(logger, subscription.Id, head.Id, S.HeadAttempts);
                        Telemetry.EngineTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "dead_lettered"));
                        ResetHead();
                    }
                    else if (verdict.Outcome == DeliveryOutcome.DeadLetter)
                    {
                        // No room to dead-letter it: it stays at the head, retried at the longest backoff, and Held says why.
                        S.NextAttemptAt = now + o.MaxRoundDelay;
                        S.LastError = verdict.Reason + $"; kept in the outbox: the dead-letter list is full ({o.MaxDeadLetters})";
                    }
                    else
                    {
                        S.NextAttemptAt = verdict.RetryAt;
                        S.LastError = verdict.Reason;
                    }
                }

                await Save();
            }
        }
        finally
        {
            _pumping = false;
        }

        // An event enqueued while the last save was in flight found the pump still running and did not wake it.
        if (!S.Closed && S.Outbox.Count > 0 && S.Subscription is not null && S.NextAttemptAt is null) Wake(null);
    }

    private void ResetHead()
    {
        S.HeadRounds = 0;
        S.HeadAttempts = 0;
        S.NextAttemptAt = null;
        S.LastError = null;
    }

    private bool DeadLettersFull => S.DeadLetters.Count >= options.Value.MaxDeadLetters;

    /// <summary>Adds a dead letter with the next sequence; false (nothing added) when the list is full: the oldest is never dropped.</summary>
    private bool AddDeadLetter(WebhookDeadLetter letter)
    {
        if (DeadLettersFull) return false;
        S.DeadLetters.Add(letter with { Sequence = S.NextDeadLetterSequence++ });
        return true;
    }

    private bool Holds(string id) =>
        S.Outbox.Any(e => string.Equals(e.Id, id, StringComparison.Ordinal))
        || S.RecentlyDelivered.Contains(id, StringComparer.Ordinal)
        || S.DeadLetters.Any(d => string.Equals(d.Event.Id, id, StringComparison.Ordinal));

    private async Task Save()
    {
        await _writeLock.WaitAsync();
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Subscription}: event {EventId} dead-lettered after {Attempts} attempt(s)")]
    private static partial void LogDeadLettered(ILogger logger, string subscription, string eventId, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {Subscription}: event {EventId} refused: the outbox ({MaxPending}) and the dead-letter list ({MaxDeadLetters}) are full")]
    private static partial void LogRefused(ILogger logger, string subscription, string eventId, int maxPending, int maxDeadLetters);
}
