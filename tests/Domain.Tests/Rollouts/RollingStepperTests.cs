using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class RollingStepperTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static RollingProgress Progress(int current, int pending, int failed = 0, int allowed = 0,
        RolloutStatus status = RolloutStatus.Progressing, DateTimeOffset? deadline = null) =>
        new(status, [5, 5, 2], current, pending, failed, allowed, deadline ?? Now.AddMinutes(10), Now);

    [Fact]
    public void Starts_the_first_batch()
    {
        var decision = RollingStepper.Next(Progress(-1, 0));
        Assert.Equal(StepAction.StartBatch, decision.Action);
        Assert.Equal(0, decision.Batch);
        Assert.Contains("batch 1 of 3 (5 hosts)", decision.Reason);
    }

    [Fact]
    public void Waits_while_hosts_of_the_batch_are_pending()
    {
        var decision = RollingStepper.Next(Progress(1, 3));
        Assert.Equal(StepAction.Wait, decision.Action);
        Assert.Contains("3 hosts of batch 2", decision.Reason);
    }

    [Fact]
    public void Moves_on_when_the_batch_is_done()
    {
        Assert.Equal(new StepDecision(StepAction.StartBatch, 2, "starting batch 3 of 3 (2 hosts)"), RollingStepper.Next(Progress(1, 0)));
    }

    [Fact]
    public void Completes_after_the_last_batch()
    {
        Assert.Equal(StepAction.Complete, RollingStepper.Next(Progress(2, 0, failed: 1, allowed: 1)).Action);
    }

    [Theory]
    [InlineData(1, 0, StepAction.RollBack)]
    [InlineData(2, 1, StepAction.RollBack)]
    [InlineData(1, 1, StepAction.Wait)]
    public void Rolls_back_only_when_failures_exceed_the_budget(int failed, int allowed, StepAction expected)
    {
        Assert.Equal(expected, RollingStepper.Next(Progress(0, 2, failed, allowed)).Action);
    }

    [Fact]
    public void The_budget_is_enforced_while_paused()
    {
        var decision = RollingStepper.Next(Progress(0, 0, failed: 2, allowed: 1, status: RolloutStatus.Paused));
        Assert.Equal(StepAction.RollBack, decision.Action);
        Assert.Equal("2 hosts failed, more than the failure budget of 1", decision.Reason);
    }

    [Fact]
    public void A_paused_rollout_starts_no_new_batch()
    {
        Assert.Equal(StepAction.Wait, RollingStepper.Next(Progress(0, 0, status: RolloutStatus.Paused)).Action);
    }

    [Fact]
    public void Silent_hosts_expire_at_the_deadline()
    {
        var decision = RollingStepper.Next(Progress(0, 2, deadline: Now));
        Assert.Equal(StepAction.ExpirePending, decision.Action);
        Assert.Contains("2 hosts of batch 1 did not report", decision.Reason);
    }
}
