namespace Deploy.Engine.Domain.Rollouts;

/// <summary>
/// One decision of a rollout, as data: its kind, the reason people read (the rollout's <c>statusReason</c>), who took
/// it, and the state-machine trigger it fires (none for a decision that leaves the status as it is). The rollout grain
/// applies it to its state, persists, and only then publishes what it announces, all in one place: nobody hears of a
/// decision that storage does not hold.
/// </summary>
/// <param name="Gates">The gates that held the rollout, for a hold.</param>
public sealed record Decision(DecisionKind Kind, string Reason, string Actor, RolloutTrigger? Trigger = null, string? Gates = null)
{
    /// <summary>The actor of every decision the engine takes on its own.</summary>
    public const string Engine = "engine";

    /// <summary>
    /// The status after this decision, from <see cref="RolloutTransitions"/>; a decision the state machine refuses is a
    /// bug in the caller (commands ask the table first and answer 409), so it throws rather than record a lie.
    /// </summary>
    public RolloutStatus After(RolloutStatus status)
    {
        if (Trigger is not { } trigger)
        {
            return status;
        }

        var transition = RolloutTransitions.Apply(status, trigger);
        return transition.Allowed
            ? transition.Next
            : throw new InvalidOperationException($"{Kind.Name()} decision refused by the state machine: {transition.Refusal}");
    }
}

/// <summary>
/// The decisions whose trigger or wording depends on where the rollout stands, in one place (the reason texts are part
/// of the API: clients read them in <c>statusReason</c> and the decision log).
/// </summary>
public static class Decisions
{
    /// <summary>An operator's command: "paused by alice: looks odd", or "paused by alice" without a reason.</summary>
    public static Decision ByOperator(DecisionKind kind, RolloutTrigger trigger, string actor, string? reason) =>
        new(kind, OperatorReason(kind.Name(), actor, reason), actor, trigger);

    /// <summary>What an operator did, by whom, and why when they said.</summary>
    /// <example>("aborted", "alice", "wrong build") → "aborted by alice: wrong build"; ("aborted", "alice", " ") → "aborted by alice".</example>
    public static string OperatorReason(string what, string actor, string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? $"{what} by {actor}" : $"{what} by {actor}: {reason}";

    /// <summary>
    /// A hold for a person (an action failed, an analysis was not a pass): a progressing rollout pauses; one already
    /// paused stays paused with the new reason.
    /// </summary>
    public static Decision HoldForHuman(RolloutStatus status, string reason) =>
        new(DecisionKind.Paused, reason, Decision.Engine, status == RolloutStatus.Progressing ? RolloutTrigger.Pause : null);

    /// <summary>A deadline expired and the spec says a person decides: hold, with no further deadline (the spec chose that).</summary>
    public static Decision HoldOnExpiry(RolloutStatus status, string reason) =>
        new(DecisionKind.Deadline, $"deadline expired: {reason}; the spec says hold for a human (resume, promote or abort)", Decision.Engine,
            status == RolloutStatus.Progressing ? RolloutTrigger.Pause : null);

    /// <summary>A pause step only a person ends: the rollout shows Paused until a promote, or the deadline.</summary>
    /// <example>(step index 2, deadline 10:00Z) → "step 3 waits for an operator to promote by 2026-…T10:00:00.0000000+00:00 (promote goes on; abort stops)".</example>
    public static Decision AwaitPromote(int stepIndex, DateTimeOffset? deadline) =>
        new(DecisionKind.AwaitingPromote,
            $"step {stepIndex + 1} waits for an operator to promote{(deadline is { } by ? $" by {by:O}" : string.Empty)} (promote goes on; abort stops)",
            Decision.Engine, RolloutTrigger.Pause);

    /// <summary>
    /// The decision that ends a rollout in <paramref name="outcome"/>: the trigger follows from where it stands (an abort
    /// before admission ends at once; one that rolled hosts back completes the abort).
    /// </summary>
    public static Decision Finish(RolloutStatus status, RolloutStatus outcome, DecisionKind kind, string reason, string actor) =>
        new(kind, reason, actor, outcome switch
        {
            RolloutStatus.Succeeded => RolloutTrigger.Complete,
            RolloutStatus.RolledBack => RolloutTrigger.CompleteRollback,
            RolloutStatus.Aborted when status == RolloutStatus.RollingBack => RolloutTrigger.CompleteAbort,
            RolloutStatus.Aborted => RolloutTrigger.Abort,
            _ => RolloutTrigger.Fail,
        });
}
