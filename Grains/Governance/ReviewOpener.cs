using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Opens a post-implementation review when a rollout ends rolled back or failed: it follows the rollout streams'
/// pipelinerun.finished events, whose data names the service, release, environment and status, so the rollout grain
/// knows nothing about reviews. Opening a review twice changes nothing. A rollback drill's rollout is a rehearsal: no review.
/// </summary>
public sealed class ReviewOpener : IEventFollower
{
    private static readonly string RolloutPrefix = GrainKeys.RolloutEvents(string.Empty);

    public Task Follow(string streamKey, EngineEvent item, IGrainFactory grains)
    {
        if (item.Type != EventTypes.PipelineRunFinished || !streamKey.StartsWith(RolloutPrefix, StringComparison.Ordinal)
            || !item.Data.TryGetValue("status", out var status) || status is not ("RolledBack" or "Failed")
            || !item.Data.TryGetValue("service", out var service) || string.IsNullOrEmpty(service)
            || GrainKeys.IsDrillRelease(item.Data.GetValueOrDefault("release")))
        {
            return Task.CompletedTask;
        }

        var rolloutId = streamKey[RolloutPrefix.Length..];
        return grains.Ref<IReviewBookGrain>(service).Open(new ReviewSnapshot
        {
            Id = GrainKeys.Review(rolloutId),
            Service = service,
            RolloutId = rolloutId,
            ReleaseId = item.Data.GetValueOrDefault("release", string.Empty),
            Environment = item.Data.GetValueOrDefault("environment", string.Empty),
            Outcome = status,
            OutcomeReason = item.Reason,
            OpenedAt = item.Timestamp,
        });
    }
}
