using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class ResumeDeadlineTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly DeadlineSpec Deadlines = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(2), DeadlineAction.Pause);

    [Theory]
    // A pause for a promote whose deadline expired (and was cleared) gets a fresh approval deadline.
    [InlineData(PlanStepKind.Pause, null, 0, null, 2)]
    [InlineData(PlanStepKind.Pause, null, 0, -1, 2)]
    // One still ahead is kept.
    [InlineData(PlanStepKind.Pause, null, 0, 1, 1)]
    [InlineData(PlanStepKind.Deploy, null, 3, null, 10)]
    [InlineData(PlanStepKind.Deploy, null, 3, 5, 5)]
    [InlineData(PlanStepKind.Analysis, 30, 0, null, 20)]
    public void A_resumed_wait_always_has_a_deadline(PlanStepKind kind, int? durationSeconds, int pending, int? currentInSeconds, int expectedInSeconds)
    {
        var deadline = PlanStepper.DeadlineOnResume(kind, durationSeconds is { } d ? TimeSpan.FromSeconds(d) : null, pending,
            currentInSeconds is { } c ? Now.AddSeconds(c) : null, Deadlines, Now);
        Assert.Equal(Now.AddSeconds(expectedInSeconds), deadline);
    }

    [Fact]
    public void A_timed_step_needs_none() =>
        Assert.Null(PlanStepper.DeadlineOnResume(PlanStepKind.Bake, TimeSpan.FromSeconds(5), 0, null, Deadlines, Now));

    [Fact]
    public void A_pause_for_a_promote_is_a_wait_only_an_operator_ends()
    {
        var decision = PlanStepper.Next(new PlanProgress(RolloutStatus.Progressing, [PlanStepKind.Deploy, PlanStepKind.Pause], 1, null, Now, true,
            0, 0, 0, Now.AddSeconds(5), false, null, Now));
        Assert.Equal(PlanAction.Wait, decision.Action);
        Assert.True(decision.AwaitsOperator);
        Assert.Equal(Now.AddSeconds(5), decision.WakeAt);
    }
}
