using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("LearningsState")]
public sealed class LearningsState
{
    [Id(0)] public List<ReviewFactorsRecord> Reviews { get; set; } = [];

    [Id(1)] public List<ChecklistDecisionRecord> Decisions { get; set; } = [];
}

/// <summary>
/// The factors of every filed post-mortem and the approvers' decisions on proposed checklist items (one grain:
/// written when a review is filed or a proposal decided, read by the readiness gate). Bounded to the latest
/// <see cref="MaxReviews"/> reviews.
/// </summary>
public sealed class LearningsGrain(
    [PersistentState("learnings", Stores.Blob)] IPersistentState<LearningsState> state,
    TimeProvider clock) : Grain, ILearningsGrain
{
    public const int MaxReviews = 2000;

    public async Task Note(ReviewFactorsRecord review)
    {
        var factors = review.Factors.Select(PostmortemLearning.Normalise).Distinct(StringComparer.Ordinal).ToList();
        var reviews = state.State.Reviews;
        reviews.RemoveAll(r => r.ReviewId == review.ReviewId);
        reviews.Add(review with { Factors = factors });
        if (reviews.Count > MaxReviews) reviews.RemoveRange(0, reviews.Count - MaxReviews);
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<LearningsSnapshot> Get() => Task.FromResult(new LearningsSnapshot
    {
        Reviews = state.State.Reviews.ToList(),
        Decisions = state.State.Decisions.ToList(),
    });

    public async Task<CommandResult<ChecklistDecisionRecord>> Decide(string item, bool adopt, GovernanceActor actor)
    {
        var proposals = PostmortemLearning.Propose(
            PostmortemLearning.Count(state.State.Reviews.Select(r => new ReviewFactors(r.ReviewId, r.Factors))),
            new Dictionary<string, ProposalDecision>());
        if (proposals.FirstOrDefault(p => p.Item == item) is not { } proposal)
        {
            return CommandResult<ChecklistDecisionRecord>.Fail(ErrorKind.NotFound,
                $"'{item}' is not a proposed checklist item (a contributing factor is proposed once {PostmortemLearning.DefaultThreshold} filed reviews name it)");
        }

        if (state.State.Decisions.FirstOrDefault(d => d.Item == item) is { } decided)
        {
            return CommandResult<ChecklistDecisionRecord>.Fail(ErrorKind.InvalidTransition,
                $"'{item}' was already {decided.Decision} by {decided.DecidedBy} at {decided.DecidedAt:u}");
        }

        var decision = new ChecklistDecisionRecord
        {
            Item = item, Decision = adopt ? "adopted" : "dismissed", DecidedBy = actor.Name, DecidedAt = clock.GetUtcNow(), Reason = actor.Reason,
        };
        state.State.Decisions.Add(decision);
        await state.WriteStateAsync();
        await new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.LearningsEvents, clock).Publish(
            adopt ? EventTypes.ChecklistItemAdopted : EventTypes.ChecklistItemDismissed, "checklist/" + item,
            $"readiness-checklist item '{item}' {decision.Decision} (named by {proposal.Factor.Count} reviews: {string.Join(", ", proposal.Factor.Reviews)})"
                + (string.IsNullOrWhiteSpace(actor.Reason) ? string.Empty : ": " + actor.Reason),
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [AuditFields.Actor] = actor.Name,
                [AuditFields.Role] = actor.Role ?? "unknown",
                ["item"] = item,
                ["reviews"] = string.Join(',', proposal.Factor.Reviews),
            });
        return CommandResult<ChecklistDecisionRecord>.Success(decision);
    }

    [ReadOnly]
    public Task<IReadOnlyList<string>> Adopted() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Decisions.Where(d => d.Decision == "adopted").Select(d => d.Item).ToList());
}
