using Deploy.Engine.Domain.Rollouts;
using static Deploy.Engine.Domain.Rollouts.TargetAnswer;
using static Deploy.Engine.Domain.Rollouts.TargetPhase;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class HostLedgerTests
{
    [Theory]
    [InlineData(Updating, ApplySucceeded, RollbackMethod.Revert, Updated)]
    [InlineData(Updating, ApplyFailed, RollbackMethod.Revert, Failed)]
    [InlineData(RollingBack, RevertSucceeded, RollbackMethod.Revert, RolledBack)]
    [InlineData(RollingBack, RevertFailed, RollbackMethod.Revert, Failed)]
    [InlineData(RollingBack, ApplySucceeded, RollbackMethod.Redeploy, RolledBack)]
    [InlineData(RollingBack, ApplyFailed, RollbackMethod.Redeploy, Failed)]
    // Stale answers change nothing: a late apply is not a revert, a revert answer is not a redeploy's.
    [InlineData(RollingBack, ApplySucceeded, RollbackMethod.Revert, RollingBack)]
    [InlineData(RollingBack, RevertSucceeded, RollbackMethod.Redeploy, RollingBack)]
    [InlineData(Updating, RevertSucceeded, RollbackMethod.Revert, Updating)]
    [InlineData(Updated, ApplyFailed, RollbackMethod.Revert, Updated)]
    [InlineData(RolledBack, RevertFailed, RollbackMethod.Revert, RolledBack)]
    [InlineData(Quarantined, RevertSucceeded, RollbackMethod.Revert, Quarantined)]
    [InlineData(Retired, ApplySucceeded, RollbackMethod.Revert, Retired)]
    public void An_answer_moves_a_host_only_from_the_phase_waiting_on_it(TargetPhase phase, TargetAnswer answer, RollbackMethod method, TargetPhase expected) =>
        Assert.Equal(expected, HostLedger.Next(phase, answer, method));

    [Theory]
    [InlineData(Untouched, false)]
    [InlineData(Updating, true)]
    [InlineData(Updated, true)]
    [InlineData(Failed, true)]
    [InlineData(RollingBack, false)]
    [InlineData(RolledBack, false)]
    [InlineData(Retired, false)]
    [InlineData(Quarantined, false)]
    public void A_rollback_takes_back_every_host_the_rollout_moved_or_tried_to(TargetPhase phase, bool returns) =>
        Assert.Equal(returns, HostLedger.ReturnsOnRollback(phase));

    [Theory]
    [InlineData(Updating, Failed)]
    [InlineData(RollingBack, Quarantined)]
    [InlineData(Updated, Updated)]
    [InlineData(RolledBack, RolledBack)]
    public void A_silent_host_fails_a_deploy_and_is_quarantined_by_a_rollback(TargetPhase phase, TargetPhase expected) =>
        Assert.Equal(expected, HostLedger.OnDeadline(phase));

    [Fact]
    public void Counts_follow_every_move()
    {
        var counts = new PhaseCounts([Untouched, Untouched, Updating]);
        counts.Move(Untouched, Updating);
        counts.Move(Updating, Updated);

        Assert.Equal(1, counts[Untouched]);
        Assert.Equal(1, counts[Updating]);
        Assert.Equal(1, counts[Updated]);
        Assert.Equal(0, counts[Quarantined]);
    }
}
