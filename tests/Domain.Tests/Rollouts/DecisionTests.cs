using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

/// <summary>The decisions the rollout grain commits: the status each leaves, and the reasons operators read.</summary>
public class DecisionTests
{
    [Theory]
    // Ending a rollout: the trigger follows from where it stands (Decisions.Finish).
    [InlineData(RolloutStatus.Progressing, RolloutStatus.Succeeded, RolloutStatus.Succeeded)]
    [InlineData(RolloutStatus.RollingBack, RolloutStatus.RolledBack, RolloutStatus.RolledBack)]
    [InlineData(RolloutStatus.RollingBack, RolloutStatus.Aborted, RolloutStatus.Aborted)] // the abort rolled hosts back
    [InlineData(RolloutStatus.Queued, RolloutStatus.Aborted, RolloutStatus.Aborted)] // never admitted: nothing to roll back
    [InlineData(RolloutStatus.RollingBack, RolloutStatus.Failed, RolloutStatus.Failed)] // an escalated rollback
    [InlineData(RolloutStatus.Progressing, RolloutStatus.Failed, RolloutStatus.Failed)] // a plan that cannot run
    public void A_finish_ends_where_it_says_from_where_the_rollout_stands(RolloutStatus from, RolloutStatus outcome, RolloutStatus expected) =>
        Assert.Equal(expected, Decisions.Finish(from, outcome, DecisionKind.Succeeded, "done", Decision.Engine).After(from));

    [Theory]
    // A hold for a person pauses a progressing rollout and keeps a paused one paused (with the new reason).
    [InlineData(RolloutStatus.Progressing, RolloutStatus.Paused)]
    [InlineData(RolloutStatus.Paused, RolloutStatus.Paused)]
    public void A_hold_leaves_the_rollout_paused(RolloutStatus from, RolloutStatus expected)
    {
        Assert.Equal(expected, Decisions.HoldForHuman(from, "router failed").After(from));
        Assert.Equal(expected, Decisions.HoldOnExpiry(from, "no promote").After(from));
    }

    [Fact]
    public void A_decision_the_state_machine_refuses_is_never_recorded() =>
        Assert.Throws<InvalidOperationException>(() =>
            Decisions.ByOperator(DecisionKind.Resumed, RolloutTrigger.Resume, "alice", null).After(RolloutStatus.Succeeded));

    [Fact]
    public void A_decision_without_a_trigger_keeps_the_status() =>
        Assert.Equal(RolloutStatus.Progressing, new Decision(DecisionKind.AnalysisPassed, "pass", Decision.Engine).After(RolloutStatus.Progressing));

    [Theory]
    [InlineData("wrong build", "aborted by alice: wrong build")]
    [InlineData(" ", "aborted by alice")]
    [InlineData(null, "aborted by alice")]
    public void An_operator_reason_names_who_and_why(string? reason, string expected) =>
        Assert.Equal(expected, Decisions.OperatorReason("aborted", "alice", reason));

    [Fact]
    public void Waiting_for_a_promote_names_the_step_and_its_deadline()
    {
        var decision = Decisions.AwaitPromote(2, new DateTimeOffset(2026, 1, 2, 10, 0, 0, TimeSpan.Zero));
        Assert.Equal("step 3 waits for an operator to promote by 2026-01-02T10:00:00.0000000+00:00 (promote goes on; abort stops)", decision.Reason);
        Assert.Equal(RolloutStatus.Paused, decision.After(RolloutStatus.Progressing));
    }
}
