using System.Collections.Concurrent;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Catalog;

/// <summary>
/// Keeps the rollout catalog current from the rollouts' own events: each carries the rollout's identity and status
/// (<c>Describe()</c>). Host events (subject <c>host/…</c>) are skipped, and so is an event whose status this silo has
/// already recorded for that rollout, so the catalog is called a few times per rollout, never once per host.
/// </summary>
public sealed class CatalogFollower : IEventFollower
{
    /// <summary>Bounds the per-silo memory of statuses already recorded; forgetting one only costs a redundant (no-op) call.</summary>
    private const int RememberedRollouts = 4096;

    private readonly ConcurrentDictionary<string, RolloutStatus> _recorded = new(StringComparer.Ordinal);

    public async Task Follow(string streamKey, EngineEvent item, IGrainFactory grains)
    {
        if (!item.Subject.StartsWith("rollout/", StringComparison.Ordinal)
            || !item.Data.TryGetValue("rollout", out var id)
            || !item.Data.TryGetValue("status", out var statusText)
            || !Enum.TryParse<RolloutStatus>(statusText, out var status)
            || !item.Data.TryGetValue("release", out var release) || release.Length == 0)
        {
            return;
        }

        if (_recorded.TryGetValue(id, out var known) && known == status)
        {
            return;
        }

        await grains.Ref<IRolloutCatalogGrain>(GrainKeys.RolloutCatalog).Record(new RolloutSummary
        {
            Id = id,
            ReleaseId = release,
            Environment = item.Data.GetValueOrDefault("environment") ?? string.Empty,
            Service = item.Data.GetValueOrDefault("service") ?? string.Empty,
            Version = item.Data.GetValueOrDefault("version") ?? string.Empty,
            Status = status,
            StatusReason = item.Reason,
            CreatedAt = item.Timestamp,
            UpdatedAt = item.Timestamp,
        });
        if (_recorded.Count >= RememberedRollouts)
        {
            _recorded.Clear();
        }

        _recorded[id] = status;
    }
}

/// <summary>Hands every event to the cluster-wide feed behind the event stream.</summary>
public sealed class FeedFollower : IEventFollower
{
    public Task Follow(string streamKey, EngineEvent item, IGrainFactory grains) =>
        grains.Ref<IEventFeedGrain>(GrainKeys.EventFeed).Append(streamKey, item);
}
