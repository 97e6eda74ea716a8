namespace Deploy.Engine.Domain.Rollouts;

/// <summary>The outcome of asking the state machine for a transition.</summary>
public readonly record struct Transition(bool Allowed, RolloutStatus Next, string? Refusal)
{
    public static Transition To(RolloutStatus next) => new(true, next, null);

    public static Transition Refused(string why) => new(false, default, why);
}

/// <summary>
/// The rollout state machine as one table. Every transition the engine makes goes through <see cref="Apply"/>,
/// so an API call that asks for an impossible one (resume a finished rollout) is refused with the reason.
/// </summary>
public static class RolloutTransitions
{
    public static Transition Apply(RolloutStatus status, RolloutTrigger trigger) => (status, trigger) switch
    {
        (RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval, RolloutTrigger.Enqueue) => Transition.To(RolloutStatus.Queued),
        (RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval, RolloutTrigger.AwaitApproval) => Transition.To(RolloutStatus.AwaitingApproval),
        (RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval, RolloutTrigger.Admit) => Transition.To(RolloutStatus.Progressing),
        (RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval, RolloutTrigger.Abort) => Transition.To(RolloutStatus.Aborted),

        (RolloutStatus.Progressing, RolloutTrigger.Pause) => Transition.To(RolloutStatus.Paused),
        (RolloutStatus.Paused, RolloutTrigger.Resume) => Transition.To(RolloutStatus.Progressing),
        (RolloutStatus.Progressing, RolloutTrigger.Complete) => Transition.To(RolloutStatus.Succeeded),
        (RolloutStatus.Progressing or RolloutStatus.Paused, RolloutTrigger.Promote) => Transition.To(RolloutStatus.Progressing),

        (RolloutStatus.Progressing or RolloutStatus.Paused, RolloutTrigger.Abort or RolloutTrigger.Rollback or RolloutTrigger.DecideRollback)
            => Transition.To(RolloutStatus.RollingBack),
        (RolloutStatus.Succeeded, RolloutTrigger.Rollback) => Transition.To(RolloutStatus.RollingBack),

        (RolloutStatus.RollingBack, RolloutTrigger.CompleteRollback) => Transition.To(RolloutStatus.RolledBack),
        (RolloutStatus.RollingBack, RolloutTrigger.CompleteAbort) => Transition.To(RolloutStatus.Aborted),

        (not (RolloutStatus.Succeeded or RolloutStatus.RolledBack or RolloutStatus.Failed or RolloutStatus.Aborted), RolloutTrigger.Fail)
            => Transition.To(RolloutStatus.Failed),

        _ => Transition.Refused(Describe(status, trigger)),
    };

    private static string Describe(RolloutStatus status, RolloutTrigger trigger) => (status, trigger) switch
    {
        (RolloutStatus.Paused, RolloutTrigger.Pause) => "the rollout is already paused",
        (RolloutStatus.Progressing, RolloutTrigger.Resume) => "the rollout is not paused",
        (RolloutStatus.RollingBack, _) => $"cannot {Verb(trigger)} a rollout that is rolling back",
        _ when status.IsTerminal() => $"cannot {Verb(trigger)} a rollout that has {status.ToString().ToLowerInvariant()}",
        _ => $"cannot {Verb(trigger)} a rollout that is {status.ToString().ToLowerInvariant()}",
    };

    private static string Verb(RolloutTrigger trigger) => trigger switch
    {
        RolloutTrigger.DecideRollback or RolloutTrigger.Rollback => "roll back",
        RolloutTrigger.CompleteRollback or RolloutTrigger.CompleteAbort => "complete the rollback of",
        _ => trigger.ToString().ToLowerInvariant(),
    };
}
