using Deploy.Engine.Grains.Interfaces;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Opens a post-implementation review when a rollout ends rolled back or failed. An implicit subscriber of the
/// events namespace (like the event history), so the rollout grain knows nothing about reviews; it looks only at
/// rollout streams' pipelinerun.finished events, whose data names the service, release, environment and status.
/// Streams deliver at least once; opening a review twice changes nothing.
/// </summary>
[ImplicitStreamSubscription(GrainKeys.EventNamespace)]
public sealed class ReviewOpenerGrain : Grain, IReviewOpenerGrain, IStreamSubscriptionObserver, IAsyncObserver<EngineEvent>
{
    private static readonly string RolloutPrefix = GrainKeys.RolloutEvents(string.Empty);

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<EngineEvent>().ResumeAsync(this);

    public async Task OnNextAsync(EngineEvent item, StreamSequenceToken? token = null)
    {
        var key = this.GetPrimaryKeyString();
        if (item.Type != EventTypes.PipelineRunFinished || !key.StartsWith(RolloutPrefix, StringComparison.Ordinal)
            || !item.Data.TryGetValue("status", out var status) || status is not ("RolledBack" or "Failed")
            || !item.Data.TryGetValue("service", out var service) || string.IsNullOrEmpty(service))
        {
            return;
        }

        var rolloutId = key[RolloutPrefix.Length..];
        await GrainFactory.GetGrain<IReviewBookGrain>(service).Open(new ReviewSnapshot
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

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}

/// <summary>Marker interface of the review opener (it has no callable methods; streams drive it).</summary>
public interface IReviewOpenerGrain : IGrainWithStringKey;
