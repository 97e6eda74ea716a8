using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("ReviewBookState")]
public sealed class ReviewBookState
{
    [Id(0)] public List<ReviewSnapshot> Reviews { get; set; } = [];
}

/// <summary>
/// The post-implementation reviews of one service: opened by <see cref="ReviewOpener"/> when a rollout ends
/// rolled back or failed, filed by a person. Open reviews block the service's major releases; all reviews in the
/// failure window count as the service's recent failures for the risk classifier.
/// </summary>
public sealed class ReviewBookGrain(
    [PersistentState("reviews", Stores.Blob)] IPersistentState<ReviewBookState> state,
    TimeProvider clock) : Grain, IReviewBookGrain
{
    private string Service => this.GetPrimaryKeyString();

    private EventPublisher Events => new(this.GetStreamProvider(Stores.Events), GrainKeys.ReviewEvents(Service), clock);

    public async Task Open(ReviewSnapshot review)
    {
        if (state.State.Reviews.Any(r => r.Id == review.Id))
        {
            return;
        }

        state.State.Reviews.Add(review with { State = "open", Actions = [] });
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.ReviewOpened, GrainKeys.ReviewEvents(Service),
            $"post-implementation review {review.Id} opened: rollout {review.RolloutId} {review.Outcome.ToLowerInvariant()} ({review.OutcomeReason})",
            Data(review, "engine", "engine"));
    }

    [ReadOnly]
    public Task<IReadOnlyList<ReviewSnapshot>> List() => Task.FromResult<IReadOnlyList<ReviewSnapshot>>(state.State.Reviews.ToList());

    public async Task<CommandResult<ReviewSnapshot>> File(string reviewId, ReviewFiling filing)
    {
        var index = state.State.Reviews.FindIndex(r => r.Id == reviewId);
        if (index < 0) return CommandResult<ReviewSnapshot>.Fail(ErrorKind.NotFound, $"review '{reviewId}' does not exist");
        var review = state.State.Reviews[index];
        if (review.State == "filed")
        {
            return CommandResult<ReviewSnapshot>.Fail(ErrorKind.InvalidTransition, $"review '{reviewId}' was already filed by {review.FiledBy} at {review.FiledAt:u}");
        }

        var filed = review with
        {
            State = "filed",
            Findings = filing.Findings,
            RootCause = filing.RootCause,
            Actions = filing.Actions.ToList(),
            FiledBy = filing.Actor,
            FiledAt = clock.GetUtcNow(),
            ContributingFactors = filing.ContributingFactors.ToList(),
            ActionItems = filing.ActionItems.Select((a, i) => a with { Number = i + 1, Status = "open" }).ToList(),
            Incidents = filing.Incidents.ToList(),
            LinkedRollouts = filing.LinkedRollouts.ToList(),
        };
        if (filed.ContributingFactors.Count > 0)
        {
            // Counted across every service's reviews, before the filing is stored: a stored filing is refused when
            // filed again, so a count that failed after it would never be made. A filing that then fails to store
            // leaves its factors counted until the reviewer files again (the same review's entry is replaced).
            await GrainFactory.Ref<ILearningsGrain>(GrainKeys.Learnings).Note(new ReviewFactorsRecord
            {
                ReviewId = filed.Id, Service = Service, Factors = filed.ContributingFactors,
            });
        }

        state.State.Reviews[index] = filed;
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.ReviewFiled, GrainKeys.ReviewEvents(Service), $"root cause: {filing.RootCause}", Data(filed, filing.Actor, filing.Role));
        return CommandResult<ReviewSnapshot>.Success(filed);
    }

    public async Task<CommandResult<ReviewSnapshot>> UpdateAction(string reviewId, int number, string status, GovernanceActor actor)
    {
        var index = state.State.Reviews.FindIndex(r => r.Id == reviewId);
        if (index < 0) return CommandResult<ReviewSnapshot>.Fail(ErrorKind.NotFound, $"review '{reviewId}' does not exist");
        var review = state.State.Reviews[index];
        if (review.ActionItems.FirstOrDefault(a => a.Number == number) is not { } item)
        {
            return CommandResult<ReviewSnapshot>.Fail(ErrorKind.NotFound, $"review '{reviewId}' has no action item {number}");
        }

        if (item.Status == status)
        {
            return CommandResult<ReviewSnapshot>.Success(review);
        }

        var updated = review with
        {
            ActionItems = review.ActionItems.Select(a => a.Number == number ? a with { Status = status, UpdatedBy = actor.Name, UpdatedAt = clock.GetUtcNow() } : a).ToList(),
        };
        state.State.Reviews[index] = updated;
        await state.WriteStateAsync();
        var data = Data(updated, actor.Name, actor.Role);
        data["action"] = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        data["status"] = status;
        await Events.Publish(EventTypes.ReviewActionUpdated, GrainKeys.ReviewEvents(Service),
            $"action {number} of {reviewId} ('{item.Title}', owner {item.Owner}) is {status}", data);
        return CommandResult<ReviewSnapshot>.Success(updated);
    }

    private static Dictionary<string, string> Data(ReviewSnapshot review, string actor, string? role) => new(StringComparer.Ordinal)
    {
        [AuditFields.Actor] = actor,
        [AuditFields.Role] = role ?? "unknown",
        ["review"] = review.Id,
        ["rollout"] = review.RolloutId,
        ["release"] = review.ReleaseId,
        ["environment"] = review.Environment,
        ["service"] = review.Service,
    };
}
