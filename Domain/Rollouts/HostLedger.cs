namespace Deploy.Engine.Domain.Rollouts;

/// <summary>
/// Where one target host stands in a rollout. The rollout's stored <c>HostPhase</c> mirrors it value for value
/// (a test in Grains.Tests holds them together), so the grain converts with a cast.
/// </summary>
public enum TargetPhase
{
    Untouched = 0,
    Updating = 1,
    Updated = 2,
    Failed = 3,
    RollingBack = 4,
    RolledBack = 5,

    /// <summary>Left the environment: an old host an immutable rollout replaced, or a new one its rollback removed.</summary>
    Retired = 6,

    /// <summary>Never acknowledged its rollback command by the rollback's deadline: set aside until an operator clears it.</summary>
    Quarantined = 7,
}

/// <summary>A host's final answer to a rollout's command (a pending answer changes nothing and never reaches the ledger).</summary>
public enum TargetAnswer
{
    ApplySucceeded,
    ApplyFailed,
    RevertSucceeded,
    RevertFailed,
}

/// <summary>How the hosts of a rollback return: to what each ran before (revert), or to the previous release's artifact (redeploy).</summary>
public enum RollbackMethod
{
    /// <summary>Each host returns to the artifact it ran before this rollout touched it (a revert command).</summary>
    Revert,

    /// <summary>Each host is given the previous release's artifact (an apply command): true even when a host's own record moved on.</summary>
    Redeploy,
}

/// <summary>
/// The host-phase transition table of a rollout, in one place. An answer counts only for the command the phase is
/// waiting on: an apply that finishes after the rollout decided to revert is not the host's revert.
/// </summary>
public static class HostLedger
{
    /// <summary>
    /// The phase after a host's answer; the same phase when the answer is stale (it answers a command the phase no longer waits on).
    /// </summary>
    /// <example>(Updating, ApplySucceeded, any) → Updated; (RollingBack, RevertSucceeded, Revert) → RolledBack;
    /// (RollingBack, ApplySucceeded, Revert) → RollingBack (a late apply is not the revert).</example>
    public static TargetPhase Next(TargetPhase phase, TargetAnswer answer, RollbackMethod method) => (phase, answer, method) switch
    {
        (TargetPhase.Updating, TargetAnswer.ApplySucceeded, _) => TargetPhase.Updated,
        (TargetPhase.Updating, TargetAnswer.ApplyFailed, _) => TargetPhase.Failed,
        (TargetPhase.RollingBack, TargetAnswer.RevertSucceeded, RollbackMethod.Revert) => TargetPhase.RolledBack,
        (TargetPhase.RollingBack, TargetAnswer.RevertFailed, RollbackMethod.Revert) => TargetPhase.Failed,
        (TargetPhase.RollingBack, TargetAnswer.ApplySucceeded, RollbackMethod.Redeploy) => TargetPhase.RolledBack,
        (TargetPhase.RollingBack, TargetAnswer.ApplyFailed, RollbackMethod.Redeploy) => TargetPhase.Failed,
        _ => phase,
    };

    /// <summary>Whether a rollback in scope takes this host back: everything this rollout moved or tried to move.</summary>
    public static bool ReturnsOnRollback(TargetPhase phase) =>
        phase is TargetPhase.Updating or TargetPhase.Updated or TargetPhase.Failed;

    /// <summary>What a host is when a deadline passes without its answer: a deploy's silent host failed; a rollback's is quarantined.</summary>
    public static TargetPhase OnDeadline(TargetPhase phase) => phase switch
    {
        TargetPhase.Updating => TargetPhase.Failed,
        TargetPhase.RollingBack => TargetPhase.Quarantined,
        _ => phase,
    };
}

/// <summary>Hosts per phase, kept current by every change so no count needs a scan of the fleet.</summary>
public sealed class PhaseCounts
{
    private readonly int[] _counts = new int[Enum.GetValues<TargetPhase>().Length];

    public PhaseCounts(IEnumerable<TargetPhase> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        foreach (var phase in phases)
        {
            _counts[(int)phase]++;
        }
    }

    public int this[TargetPhase phase] => _counts[(int)phase];

    public void Move(TargetPhase from, TargetPhase to)
    {
        _counts[(int)from]--;
        _counts[(int)to]++;
    }
}
