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

/// <summary>
/// The hosts each stage (a wave, a pilot group; the whole rollout without waves) deploys and how many of them failed,
/// kept current by every phase change. A CodeDeploy minimum is judged over the current stage on every host report:
/// a scan of the stage there made a 100,000-host AllAtOnce rollout quadratic (every report walked every host).
/// A host belongs to the stage of the deploy step that deploys it (a plan deploys each host once).
/// </summary>
/// <example>Stage 0 deploys a, b; stage 1 deploys c. Hosts(0) = 2, Hosts(1) = 1. a moves Updating → Failed:
/// Failed(0) = 1, Failed(1) = 0; a moves Failed → RollingBack: Failed(0) = 0.</example>
public sealed class StageCounts
{
    private readonly Dictionary<string, int> _stageOf = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _hosts = [];
    private readonly Dictionary<int, int> _failed = [];

    /// <param name="deploySteps">Each deploy step's stage and hosts.</param>
    /// <param name="phaseOf">Each host's phase now.</param>
    public StageCounts(IEnumerable<(int Stage, IEnumerable<string> Hosts)> deploySteps, Func<string, TargetPhase> phaseOf)
    {
        ArgumentNullException.ThrowIfNull(deploySteps);
        ArgumentNullException.ThrowIfNull(phaseOf);
        foreach (var (stage, hosts) in deploySteps)
        {
            foreach (var host in hosts)
            {
                _stageOf[host] = stage;
                _hosts[stage] = _hosts.GetValueOrDefault(stage) + 1;
                if (phaseOf(host) == TargetPhase.Failed)
                {
                    _failed[stage] = _failed.GetValueOrDefault(stage) + 1;
                }
            }
        }
    }

    /// <summary>Hosts the stage deploys.</summary>
    public int Hosts(int stage) => _hosts.GetValueOrDefault(stage);

    /// <summary>Hosts of the stage that are failed now.</summary>
    public int Failed(int stage) => _failed.GetValueOrDefault(stage);

    /// <summary>Records a host's phase change (hosts no deploy step names are not counted).</summary>
    public void Move(string host, TargetPhase from, TargetPhase to)
    {
        if (from == to || (from != TargetPhase.Failed && to != TargetPhase.Failed) || !_stageOf.TryGetValue(host, out var stage))
        {
            return;
        }

        _failed[stage] = _failed.GetValueOrDefault(stage) + (to == TargetPhase.Failed ? 1 : -1);
    }
}
