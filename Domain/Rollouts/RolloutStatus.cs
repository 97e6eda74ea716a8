namespace Deploy.Engine.Domain.Rollouts;

/// <summary>
/// <c>Pending → Queued → Progressing ⇄ Paused → Succeeded</c>, or <c>→ RollingBack → RolledBack</c>,
/// <c>→ Failed</c>, <c>→ Aborted</c>. AwaitingApproval is reserved for the governance gates.
/// </summary>
public enum RolloutStatus
{
    Pending,
    AwaitingApproval,
    Queued,
    Progressing,
    Paused,
    Succeeded,
    RollingBack,
    RolledBack,
    Failed,
    Aborted,
}

/// <summary>What can happen to a rollout: operator commands and the engine's own decisions.</summary>
public enum RolloutTrigger
{
    Enqueue,
    Admit,
    Pause,
    Resume,
    Abort,
    Rollback,
    DecideRollback,
    Complete,
    CompleteRollback,
    CompleteAbort,
    Fail,

    /// <summary>An operator skips the current pause (or bake).</summary>
    Promote,

    /// <summary>A governance gate wants a person's approval before the rollout may be admitted.</summary>
    AwaitApproval,
}

public static class RolloutStatusExtensions
{
    /// <summary>A terminal rollout never changes again, except a Succeeded one that an operator rolls back.</summary>
    public static bool IsTerminal(this RolloutStatus status) => status is
        RolloutStatus.Succeeded or RolloutStatus.RolledBack or RolloutStatus.Failed or RolloutStatus.Aborted;

    /// <summary>True while the rollout holds (or waits for) one of the environment's concurrency slots.</summary>
    public static bool HoldsSlot(this RolloutStatus status) => status is
        RolloutStatus.Progressing or RolloutStatus.Paused or RolloutStatus.RollingBack;
}
