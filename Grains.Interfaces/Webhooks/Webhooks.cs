namespace Deploy.Engine.Grains.Interfaces;

/// <summary>A webhook subscription as stored and shown; its secret is never part of it (shown once, at creation).</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookSubscription")]
public sealed record WebhookSubscription
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Url { get; init; }

    /// <summary>Event types or prefixes ending in <c>*</c>; empty: every type.</summary>
    [Id(2)] public IReadOnlyList<string> Types { get; init; } = [];

    /// <summary>Environments; empty: events about any environment, or none.</summary>
    [Id(3)] public IReadOnlyList<string> Environments { get; init; } = [];

    /// <summary>Services; empty: events about any service, or none.</summary>
    [Id(4)] public IReadOnlyList<string> Services { get; init; } = [];

    [Id(5)] public string? Description { get; init; }

    [Id(6)] public required string CreatedBy { get; init; }

    [Id(7)] public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What a caller asks for when subscribing (validated by the API, the URL checked again by the registry).</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookDraft")]
public sealed record WebhookDraft
{
    [Id(0)] public required string Url { get; init; }

    [Id(1)] public IReadOnlyList<string> Types { get; init; } = [];

    [Id(2)] public IReadOnlyList<string> Environments { get; init; } = [];

    [Id(3)] public IReadOnlyList<string> Services { get; init; } = [];

    [Id(4)] public string? Description { get; init; }

    [Id(5)] public required string Actor { get; init; }

    [Id(6)] public string? Role { get; init; }
}

/// <summary>The answer to a subscription: the only place its signing secret ever appears.</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookCreated")]
public sealed record WebhookCreated
{
    [Id(0)] public required WebhookSubscription Subscription { get; init; }

    /// <summary><c>whsec_</c> + base64 of 32 random bytes (Standard Webhooks form).</summary>
    [Id(1)] public required string Secret { get; init; }
}

/// <summary>Where a subscription's deliveries stand.</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookDeliveryStatus")]
public sealed record WebhookDeliveryStatus
{
    /// <summary>Events waiting in the outbox, the one being delivered included.</summary>
    [Id(0)] public int Pending { get; init; }

    [Id(1)] public long Delivered { get; init; }

    [Id(2)] public int DeadLetters { get; init; }

    /// <summary>When the event at the head of the outbox is tried next, while it waits after a failed round.</summary>
    [Id(3)] public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>Why the last round failed (status code, timeout, refused address), while the head is retried.</summary>
    [Id(4)] public string? LastError { get; init; }

    [Id(5)] public DateTimeOffset? LastDeliveredAt { get; init; }

    /// <summary>HTTP attempts made for the event at the head so far.</summary>
    [Id(6)] public int HeadAttempts { get; init; }

    /// <summary>
    /// Why deliveries are held, when they are: the dead-letter list is full, so an event that fails its last round stays
    /// at the head of the outbox (retried) instead of being dropped; re-drive or discard dead letters to make room.
    /// </summary>
    [Id(7)] public string? Held { get; init; }

    /// <summary>Events refused because the outbox and the dead-letter list were both full: counted, never dropped unseen.</summary>
    [Id(8)] public long Refused { get; init; }

    /// <summary>Why the last event was refused, and when.</summary>
    [Id(9)] public string? LastRefusal { get; init; }

    [Id(10)] public DateTimeOffset? LastRefusedAt { get; init; }

    /// <summary>How many dead letters the subscription keeps (<c>Webhooks:MaxDeadLetters</c>).</summary>
    [Id(11)] public int DeadLetterCapacity { get; init; }
}

/// <summary>A page of dead letters, oldest first; <see cref="Next"/> continues after the last one (null: no more).</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookDeadLetterPage")]
public sealed record WebhookDeadLetterPage
{
    [Id(0)] public required IReadOnlyList<WebhookDeadLetter> Items { get; init; }

    /// <summary>Dead letters held in all.</summary>
    [Id(1)] public int Total { get; init; }

    /// <summary>The sequence of the last item when more follow: pass it as <c>after</c> for the next page.</summary>
    [Id(2)] public long? Next { get; init; }
}

/// <summary>An event a subscription gave up on, kept (with the event) until re-driven.</summary>
[GenerateSerializer, Immutable]
[Alias("WebhookDeadLetter")]
public sealed record WebhookDeadLetter
{
    [Id(0)] public required EngineEvent Event { get; init; }

    /// <summary>HTTP attempts made, all rounds together.</summary>
    [Id(1)] public int Attempts { get; init; }

    [Id(2)] public required string Reason { get; init; }

    [Id(3)] public required DateTimeOffset DeadLetteredAt { get; init; }

    /// <summary>Its place in the subscription's dead-letter list: increasing, never reused, so paging holds while letters leave.</summary>
    [Id(4)] public long Sequence { get; init; }
}

/// <summary>The subscriptions of the engine. Key: <see cref="GrainKeys.Webhooks"/>.</summary>
[Alias("IWebhookRegistryGrain")]
public interface IWebhookRegistryGrain : IGrainWithStringKey
{
    /// <summary>Checks the URL against the outbound policy, stores the subscription, and returns it with its new secret.</summary>
    [Alias("Create")]
    Task<CommandResult<WebhookCreated>> Create(WebhookDraft draft);

    [Alias("List")]
    Task<IReadOnlyList<WebhookSubscription>> List();

    [Alias("Get")]
    Task<WebhookSubscription?> Get(string id);

    /// <summary>Stops deliveries (the outbox and dead letters are dropped) and forgets the subscription; false when unknown.</summary>
    [Alias("Delete")]
    Task<bool> Delete(string id, string actor, string? role);

    /// <summary>Ids of the subscriptions whose filters accept an event of this type about this environment and service.</summary>
    [Alias("Match")]
    Task<IReadOnlyList<string>> Match(string type, string? environment, string? service);
}

/// <summary>
/// One subscription's deliveries: a persisted outbox sent in order, one event at a time, with retries and a dead-letter
/// list. Key: the subscription id.
/// </summary>
[Alias("IWebhookDeliveryGrain")]
public interface IWebhookDeliveryGrain : IGrainWithStringKey
{
    /// <summary>Starts deliveries for <paramref name="subscription"/>, signing with the (protected) secret.</summary>
    [Alias("Open")]
    Task Open(WebhookSubscription subscription, string protectedSecret);

    /// <summary>Appends an event to the outbox (an event already held or delivered recently is ignored); returns once stored.</summary>
    [Alias("Enqueue")]
    Task Enqueue(EngineEvent item);

    [Alias("Status")]
    Task<WebhookDeliveryStatus> Status();

    [Alias("DeadLetters")]
    Task<IReadOnlyList<WebhookDeadLetter>> DeadLetters();

    /// <summary>Up to <paramref name="limit"/> dead letters whose sequence is above <paramref name="after"/>, oldest first.</summary>
    [Alias("DeadLetterPage")]
    Task<WebhookDeadLetterPage> DeadLetterPage(long after, int limit);

    /// <summary>Drops dead letters (those named, or all when <paramref name="eventIds"/> is null) for good; returns how many.</summary>
    [Alias("Discard")]
    Task<int> Discard(IReadOnlyList<string>? eventIds);

    /// <summary>
    /// Moves dead letters (those named, or all when <paramref name="eventIds"/> is null), oldest first, back to the
    /// outbox's end, as many as the outbox has room for (<c>Webhooks:MaxPending</c>); returns how many moved.
    /// </summary>
    [Alias("Redrive")]
    Task<int> Redrive(IReadOnlyList<string>? eventIds);

    /// <summary>Stops for good: the outbox and dead letters are dropped.</summary>
    [Alias("Close")]
    Task Close();
}
