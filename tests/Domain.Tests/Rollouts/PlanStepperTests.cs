using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class PlanStepperTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static readonly PlanStepKind[] Canary =
    [
        PlanStepKind.Deploy, PlanStepKind.Traffic, PlanStepKind.Pause, PlanStepKind.Analysis, PlanStepKind.Deploy, PlanStepKind.Traffic,
    ];

    private static PlanProgress At(int step, RolloutStatus status = RolloutStatus.Progressing, int pending = 0, int failed = 0, int allowed = 0,
        TimeSpan? duration = null, TimeSpan? startedAgo = null, bool actionDone = true, DateTimeOffset? deadline = null,
        bool promote = false, string? breach = null, IReadOnlyList<PlanStepKind>? steps = null) =>
        new(status, steps ?? Canary, step, duration, Now - (startedAgo ?? TimeSpan.Zero), actionDone, pending, failed, allowed,
            deadline, promote, breach, Now);

    [Fact]
    public void Starts_the_first_step()
    {
        var decision = PlanStepper.Next(At(-1));
        Assert.Equal((PlanAction.StartStep, 0), (decision.Action, decision.Step));
        Assert.Equal("starting step 1 of 6 (deploy)", decision.Reason);
    }

    [Fact]
    public void Waits_for_the_hosts_of_a_deploy_step_until_the_deadline_then_expires_them()
    {
        Assert.Equal(PlanAction.Wait, PlanStepper.Next(At(0, pending: 2, deadline: Now.AddSeconds(1))).Action);
        Assert.Equal(PlanAction.ExpirePending, PlanStepper.Next(At(0, pending: 2, deadline: Now)).Action);
    }

    [Fact]
    public void A_paused_rollout_lets_the_deploy_in_flight_finish_but_starts_nothing()
    {
        Assert.Equal(PlanAction.ExpirePending, PlanStepper.Next(At(0, RolloutStatus.Paused, pending: 1, deadline: Now)).Action);
        Assert.Equal(PlanAction.Wait, PlanStepper.Next(At(0, RolloutStatus.Paused)).Action);
    }

    [Fact]
    public void A_pause_held_past_its_deadline_expires()
    {
        var decision = PlanStepper.Next(At(1, RolloutStatus.Paused, deadline: Now.AddSeconds(-1)));
        Assert.Equal(PlanAction.DeadlineExpired, decision.Action);
    }

    [Fact]
    public void A_pause_without_duration_waits_for_a_promote_and_its_deadline()
    {
        Assert.Equal(PlanAction.Wait, PlanStepper.Next(At(2, deadline: Now.AddHours(1))).Action);
        Assert.Equal(PlanAction.DeadlineExpired, PlanStepper.Next(At(2, deadline: Now)).Action);
        Assert.Equal((PlanAction.StartStep, 3), (PlanStepper.Next(At(2, promote: true)).Action, PlanStepper.Next(At(2, promote: true)).Step));
    }

    [Theory]
    [InlineData(PlanStepKind.Pause, 30, 10, false, PlanAction.Wait)]
    [InlineData(PlanStepKind.Pause, 30, 30, false, PlanAction.StartStep)]
    [InlineData(PlanStepKind.Pause, 30, 10, true, PlanAction.StartStep)]
    [InlineData(PlanStepKind.Bake, 30, 10, true, PlanAction.StartStep)]
    [InlineData(PlanStepKind.Analysis, 30, 10, true, PlanAction.Wait)]
    [InlineData(PlanStepKind.Analysis, 30, 31, false, PlanAction.StartStep)]
    [InlineData(PlanStepKind.KeepWarm, 30, 10, true, PlanAction.Wait)]
    public void Timed_steps_end_at_their_duration_and_only_pauses_and_bakes_are_promotable(
        PlanStepKind kind, int seconds, int elapsed, bool promote, PlanAction expected)
    {
        var decision = PlanStepper.Next(At(0, steps: [kind, PlanStepKind.Deploy], duration: TimeSpan.FromSeconds(seconds),
            startedAgo: TimeSpan.FromSeconds(elapsed), promote: promote));
        Assert.Equal(expected, decision.Action);
        if (expected == PlanAction.Wait)
        {
            Assert.Equal(Now.AddSeconds(seconds - elapsed), decision.WakeAt);
        }
    }

    [Fact]
    public void An_analysis_without_a_sample_waits_for_evidence_until_the_analysis_deadline()
    {
        PlanDecision At(bool awaiting, DateTimeOffset deadline) => PlanStepper.Next(new PlanProgress(RolloutStatus.Progressing,
            [PlanStepKind.Analysis, PlanStepKind.Deploy], 0, TimeSpan.FromSeconds(30), Now.AddSeconds(-60), true, 0, 0, 0,
            deadline, false, null, Now, awaiting));

        Assert.Equal(PlanAction.StartStep, At(awaiting: false, Now.AddHours(1)).Action);
        Assert.Equal(PlanAction.Wait, At(awaiting: true, Now.AddHours(1)).Action);
        var expired = At(awaiting: true, Now);
        Assert.Equal(PlanAction.DeadlineExpired, expired.Action);
        Assert.Contains("analysis deadline", expired.Reason);
    }

    [Fact]
    public void A_failed_traffic_action_is_retried_when_the_rollout_runs_again()
    {
        var decision = PlanStepper.Next(At(1, actionDone: false));
        Assert.Equal((PlanAction.StartStep, 1), (decision.Action, decision.Step));
    }

    [Fact]
    public void A_breached_trigger_rolls_back_even_while_paused_and_names_the_trigger()
    {
        var decision = PlanStepper.Next(At(2, RolloutStatus.Paused, breach: "errorRatePercent 7.50 > 5 over 3 hosts"));
        Assert.Equal(PlanAction.RollBack, decision.Action);
        Assert.Equal("errorRatePercent 7.50 > 5 over 3 hosts", decision.Reason);
    }

    [Theory]
    [InlineData(1, 0, PlanAction.RollBack)]
    [InlineData(2, 1, PlanAction.RollBack)]
    [InlineData(1, 1, PlanAction.Wait)]
    public void Rolls_back_only_when_failures_exceed_the_budget(int failed, int allowed, PlanAction expected)
    {
        Assert.Equal(expected, PlanStepper.Next(At(0, pending: 2, failed: failed, allowed: allowed)).Action);
    }

    [Fact]
    public void Completes_after_the_last_step()
    {
        var decision = PlanStepper.Next(At(5, failed: 1, allowed: 1));
        Assert.Equal(PlanAction.Complete, decision.Action);
        Assert.Equal("all 6 steps done with 1 failed hosts (budget 1)", decision.Reason);
    }
}
