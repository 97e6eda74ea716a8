using System.Security.Cryptography;
using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Webhooks;

[GenerateSerializer]
[Alias("WebhookRegistryState")]
public sealed class WebhookRegistryState
{
    [Id(0)] public List<WebhookSubscription> Subscriptions { get; set; } = [];
}

/// <summary>
/// Every webhook subscription, in one grain: there are few, and the event follower asks it, read-only and interleaved,
/// which subscriptions want each event. The secret is made here, handed to the delivery grain encrypted, returned once,
/// and never stored in this grain's state.
/// </summary>
public sealed class WebhookRegistryGrain(
    [PersistentState("webhooks", Stores.Table)] IPersistentState<WebhookRegistryState> state,
    IOptions<WebhookOptions> options,
    IWebhookSecretProtector protector,
    TimeProvider clock) : Grain, IWebhookRegistryGrain
{
    /// <summary>More would make the per-event match a scan worth indexing; no organisation has needed it.</summary>
    public const int MaxSubscriptions = 200;

    /// <summary>The subscriptions' filters, built on first match after a change.</summary>
    private List<(string Id, WebhookFilter Filter)>? _filters;

    private List<WebhookSubscription> Subscriptions => state.State.Subscriptions;

    public async Task<CommandResult<WebhookCreated>> Create(WebhookDraft draft)
    {
        var o = options.Value;
        if (OutboundAddressPolicy.CheckUrl(draft.Url, o.AllowedHosts, o.AllowLoopback, o.AllowPrivateNetworks) is { } refusal)
        {
            return CommandResult<WebhookCreated>.Fail(ErrorKind.PolicyRefused, "url " + refusal,
                new Dictionary<string, string[]> { ["url"] = [refusal] });
        }

        if (Subscriptions.Count >= MaxSubscriptions)
        {
            return CommandResult<WebhookCreated>.Fail(ErrorKind.Conflict, $"at most {MaxSubscriptions} webhook subscriptions; delete one first");
        }

        var subscription = new WebhookSubscription
        {
            Id = GrainKeys.NewWebhook(Guid.NewGuid()),
            Url = draft.Url,
            Types = draft.Types,
            Environments = draft.Environments,
            Services = draft.Services,
            Description = draft.Description,
            CreatedBy = draft.Actor,
            CreatedAt = clock.GetUtcNow(),
        };
        var secret = WebhookSignature.SecretFor(RandomNumberGenerator.GetBytes(WebhookSignature.SecretBytes));

        // The delivery grain first: a subscription listed here can always sign.
        await GrainFactory.Ref<IWebhookDeliveryGrain>(subscription.Id).Open(subscription, protector.Protect(secret));
        Subscriptions.Add(subscription);
        _filters = null;
        await state.WriteStateAsync();
        return CommandResult<WebhookCreated>.Success(new WebhookCreated { Subscription = subscription, Secret = secret });
    }

    [ReadOnly]
    public Task<IReadOnlyList<WebhookSubscription>> List() => Task.FromResult<IReadOnlyList<WebhookSubscription>>(Subscriptions.ToList());

    [ReadOnly]
    public Task<WebhookSubscription?> Get(string id) =>
        Task.FromResult(Subscriptions.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.Ordinal)));

    public async Task<bool> Delete(string id, string actor, string? role)
    {
        var index = Subscriptions.FindIndex(s => string.Equals(s.Id, id, StringComparison.Ordinal));
        if (index < 0)
        {
            return false;
        }

        // Close first: once it is forgotten here nothing would stop its outbox.
        await GrainFactory.Ref<IWebhookDeliveryGrain>(id).Close();
        Subscriptions.RemoveAt(index);
        _filters = null;
        await state.WriteStateAsync();
        return true;
    }

    [ReadOnly]
    public Task<IReadOnlyList<string>> Match(string type, string? environment, string? service)
    {
        _filters ??= Subscriptions.Select(s => (s.Id, new WebhookFilter(s.Types, s.Environments, s.Services))).ToList();
        return Task.FromResult<IReadOnlyList<string>>(
            _filters.Count == 0 ? [] : _filters.Where(f => f.Filter.Matches(type, environment, service)).Select(f => f.Id).ToList());
    }
}
