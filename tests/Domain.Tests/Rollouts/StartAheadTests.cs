using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

/// <summary>The rolling window (<see cref="PlanStepper.StartAhead"/>), on the worked examples of its summary.</summary>
public class StartAheadTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static readonly PlanStepKind[] Rolling = [PlanStepKind.Deploy, PlanStepKind.Deploy, PlanStepKind.Deploy];

    private static PlanProgress At(int step, int pending, RolloutStatus status = RolloutStatus.Progressing, int failed = 0, int allowed = 0,
        string? breach = null, IReadOnlyList<PlanStepKind>? steps = null, IReadOnlyList<int>? sizes = null, CodeDeployMinimum? minimum = null) =>
        new(status, steps ?? Rolling, step, null, Now, true, pending, failed, allowed, Now.AddMinutes(10), false, breach, Now,
            Minimum: minimum, StepHosts: sizes ?? [10, 10, 4]);

    public static TheoryData<string, PlanProgress, int, int, int> Examples => new()
    {
        { "step 1, 6 pending: 4 free is fewer than half the window", At(0, pending: 6), 6, 10, 0 },
        { "step 1, 5 pending: 5 free", At(0, pending: 5), 5, 10, 5 },
        { "step 1, 2 pending, 5 started ahead: 3 free", At(0, pending: 2), 7, 5, 0 },
        { "step 1, 1 pending, 5 started ahead: 4 free", At(0, pending: 1), 6, 5, 0 },
        { "step 2, 4 pending, 4 waiting in the last step: all of them", At(1, pending: 4), 4, 4, 4 },
        { "step 2, 9 pending, 4 waiting: 1 free", At(1, pending: 9), 9, 4, 0 },
        { "one host at a time: the one changing fills the window", At(0, pending: 1, sizes: [1, 1, 1]), 1, 1, 0 },
        { "nothing pending: the step ends, the stepper starts the next", At(0, pending: 0), 0, 10, 0 },
        { "nothing left to start", At(0, pending: 5), 5, 0, 0 },
        { "step 1, 4 pending, 2 failed within the budget: the failed stay out of service", At(0, pending: 4, failed: 2, allowed: 2), 6, 10, 0 },
        { "step 1, 3 pending, 2 failed within the budget: 5 free", At(0, pending: 3, failed: 2, allowed: 2), 5, 10, 5 },
        { "more failed hosts than the budget", At(0, pending: 5, failed: 2, allowed: 1), 5, 10, 0 },
        { "as many failed as the budget allows", At(0, pending: 5, failed: 1, allowed: 1), 5, 10, 5 },
        { "a breached trigger", At(0, pending: 5, breach: "error rate 9 % > 5 %"), 5, 10, 0 },
        { "paused", At(0, pending: 5, status: RolloutStatus.Paused), 5, 10, 0 },
        { "the next step is a pause", At(0, pending: 5, steps: [PlanStepKind.Deploy, PlanStepKind.Pause, PlanStepKind.Deploy]), 5, 10, 0 },
        { "the next deploy step is in another wave", At(0, pending: 5, sizes: [10, 0, 0]), 5, 10, 0 },
        { "the last step", At(2, pending: 2), 2, 0, 0 },
        { "a CodeDeploy minimum judges whole batches", At(0, pending: 5, minimum: new CodeDeployMinimum(24, 12, 0)), 5, 10, 0 },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Starts_hosts_of_the_next_step_only_while_the_window_has_room(string example, PlanProgress progress, int changing, int waiting, int expected)
    {
        Assert.True(expected == PlanStepper.StartAhead(progress, changing, waiting), example);
    }
}
