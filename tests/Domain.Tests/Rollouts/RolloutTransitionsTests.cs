using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class RolloutTransitionsTests
{
    [Theory]
    [InlineData(RolloutStatus.Pending, RolloutTrigger.Enqueue, RolloutStatus.Queued)]
    [InlineData(RolloutStatus.Queued, RolloutTrigger.Admit, RolloutStatus.Progressing)]
    [InlineData(RolloutStatus.Pending, RolloutTrigger.Admit, RolloutStatus.Progressing)]
    [InlineData(RolloutStatus.Queued, RolloutTrigger.Abort, RolloutStatus.Aborted)]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.Pause, RolloutStatus.Paused)]
    [InlineData(RolloutStatus.Paused, RolloutTrigger.Resume, RolloutStatus.Progressing)]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.Complete, RolloutStatus.Succeeded)]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.DecideRollback, RolloutStatus.RollingBack)]
    [InlineData(RolloutStatus.Paused, RolloutTrigger.DecideRollback, RolloutStatus.RollingBack)]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.Abort, RolloutStatus.RollingBack)]
    [InlineData(RolloutStatus.Succeeded, RolloutTrigger.Rollback, RolloutStatus.RollingBack)]
    [InlineData(RolloutStatus.RollingBack, RolloutTrigger.CompleteRollback, RolloutStatus.RolledBack)]
    [InlineData(RolloutStatus.RollingBack, RolloutTrigger.CompleteAbort, RolloutStatus.Aborted)]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.Fail, RolloutStatus.Failed)]
    public void Allowed_transitions(RolloutStatus from, RolloutTrigger trigger, RolloutStatus to)
    {
        var transition = RolloutTransitions.Apply(from, trigger);
        Assert.True(transition.Allowed, transition.Refusal);
        Assert.Equal(to, transition.Next);
    }

    [Theory]
    [InlineData(RolloutStatus.Succeeded, RolloutTrigger.Resume, "cannot resume a rollout that has succeeded")]
    [InlineData(RolloutStatus.RolledBack, RolloutTrigger.Pause, "cannot pause a rollout that has rolledback")]
    [InlineData(RolloutStatus.Paused, RolloutTrigger.Pause, "already paused")]
    [InlineData(RolloutStatus.Progressing, RolloutTrigger.Resume, "not paused")]
    [InlineData(RolloutStatus.RollingBack, RolloutTrigger.Pause, "rolling back")]
    [InlineData(RolloutStatus.Aborted, RolloutTrigger.Rollback, "cannot roll back")]
    [InlineData(RolloutStatus.Queued, RolloutTrigger.Pause, "cannot pause a rollout that is queued")]
    [InlineData(RolloutStatus.Failed, RolloutTrigger.Fail, "cannot fail")]
    public void Refusals_say_why(RolloutStatus from, RolloutTrigger trigger, string why)
    {
        var transition = RolloutTransitions.Apply(from, trigger);
        Assert.False(transition.Allowed);
        Assert.Contains(why, transition.Refusal);
    }

    [Fact]
    public void Terminal_states_accept_nothing_but_a_rollback_of_success()
    {
        foreach (var status in Enum.GetValues<RolloutStatus>().Where(s => s.IsTerminal()))
        {
            foreach (var trigger in Enum.GetValues<RolloutTrigger>())
            {
                var allowed = RolloutTransitions.Apply(status, trigger).Allowed;
                Assert.Equal(status == RolloutStatus.Succeeded && trigger == RolloutTrigger.Rollback, allowed);
            }
        }
    }
}
