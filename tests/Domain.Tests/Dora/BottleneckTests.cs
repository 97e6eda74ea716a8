using Deploy.Engine.Domain.Dora;

namespace Deploy.Engine.Domain.Tests.Dora;

public class BottleneckTests
{
    private static DateTimeOffset T(string time) => DateTimeOffset.Parse("2026-11-02T" + time + "Z", System.Globalization.CultureInfo.InvariantCulture);

    private static TimedDecision D(string time, string kind, string? step = null, string? gates = null, string actor = "engine") => new(T(time), kind, actor, step, gates);

    [Fact]
    public void The_worked_example_of_the_doc_comment()
    {
        var decisions = new[]
        {
            D("10:00:00", "created", actor: "ci"), D("10:00:05", "awaiting-approval", gates: "approval"), D("10:20:00", "gates-passed"),
            D("10:21:00", "admitted"), D("10:21:00", "step-started", "Deploy"), D("10:25:00", "step-started", "Bake"),
            D("10:35:00", "step-started", "Deploy"), D("10:40:00", "succeeded"),
        };

        var timing = RolloutTiming.Attribute(decisions, T("12:00:00"));

        var by = timing.ByKind;
        Assert.Equal(65, by[WaitKind.Queued]);
        Assert.Equal(19 * 60 + 55, by[WaitKind.Approvals]);
        Assert.Equal(9 * 60, by[WaitKind.Hosts]);
        Assert.Equal(10 * 60, by[WaitKind.Bakes]);
        Assert.Equal(40 * 60, timing.TotalSeconds);
        Assert.Equal(T("10:40:00"), timing.To);                                  // the end decision, not "now"
        Assert.Equal(["Queued", "Approvals", "Queued", "Hosts", "Bakes", "Hosts"], timing.Segments.Select(s => s.Kind.ToString()));
    }

    [Fact]
    public void A_rollback_after_success_is_rollback_time_and_the_timeline_ends_with_it()
    {
        // The worked example, rolled back by an operator at 11:00 inside its rollback window, back at 11:03.
        var decisions = new[]
        {
            D("10:00:00", "created", actor: "ci"), D("10:00:05", "awaiting-approval", gates: "approval"), D("10:20:00", "gates-passed"),
            D("10:21:00", "admitted"), D("10:21:00", "step-started", "Deploy"), D("10:25:00", "step-started", "Bake"),
            D("10:35:00", "step-started", "Deploy"), D("10:40:00", "succeeded"),
            D("11:00:00", "rollback", actor: "alice"), D("11:03:00", "rolled-back"),
        };

        var timing = RolloutTiming.Attribute(decisions, T("12:00:00"));
        var deployed = RolloutTiming.UntilDeployed(decisions, T("12:00:00"));

        //            | whole life (the rollout's timing)      | until deployed (lead-time stages)
        // Rollback   | 11:00 → 11:03 = 180 s                  | 0
        // served     | 10:40 → 11:00: no segment              | —
        // total, to  | 40 min + 3 min = 2580 s, ends 11:03    | 2400 s, ends 10:40
        Assert.Equal(180, timing.ByKind[WaitKind.Rollback]);
        Assert.Equal(2580, timing.TotalSeconds);
        Assert.Equal(T("11:03:00"), timing.To);
        Assert.Equal(["Queued", "Approvals", "Queued", "Hosts", "Bakes", "Hosts", "Rollback"], timing.Segments.Select(s => s.Kind.ToString()));
        Assert.Equal(0, deployed.ByKind[WaitKind.Rollback]);
        Assert.Equal(2400, deployed.TotalSeconds);
        Assert.Equal(T("10:40:00"), deployed.To);
    }

    [Fact]
    public void A_rollback_after_success_still_running_counts_up_to_now()
    {
        var decisions = new[] { D("10:00:00", "created"), D("10:00:00", "admitted"), D("10:00:00", "step-started", "Deploy"), D("10:10:00", "succeeded"), D("10:30:00", "rollback") };

        var timing = RolloutTiming.Attribute(decisions, T("10:32:00"));

        Assert.Equal(600, timing.ByKind[WaitKind.Hosts]);
        Assert.Equal(120, timing.ByKind[WaitKind.Rollback]);
        Assert.Equal(T("10:32:00"), timing.To);
    }

    [Theory]
    // decision (with gates or step kind) → where the time after it goes
    [InlineData("held", "calendar", null, WaitKind.Freezes)]
    [InlineData("held", "incident,calendar", null, WaitKind.Incidents)]        // the first gate named
    [InlineData("held", "change-record", null, WaitKind.ChangeRecords)]
    [InlineData("awaiting-approval", "readiness-review", null, WaitKind.Approvals)]
    [InlineData("held", "dependencies", null, WaitKind.Dependencies)]
    [InlineData("held", "blast-radius", null, WaitKind.Budgets)]
    [InlineData("held", "promotion", null, WaitKind.OtherGates)]
    [InlineData("held", null, null, WaitKind.OtherGates)]
    [InlineData("step-started", null, "Analysis", WaitKind.Analysis)]
    [InlineData("step-started", null, "PauseForPromote", WaitKind.Promotions)]
    [InlineData("step-started", null, "Pause", WaitKind.Bakes)]
    [InlineData("step-started", null, "KeepWarm", WaitKind.Bakes)]
    [InlineData("step-started", null, "Traffic", WaitKind.Hosts)]
    [InlineData("paused", null, null, WaitKind.OperatorPauses)]
    [InlineData("deadline", null, null, WaitKind.OperatorPauses)]
    [InlineData("awaiting-promote", null, null, WaitKind.Promotions)]
    [InlineData("rollback", null, null, WaitKind.Rollback)]
    [InlineData("queued", null, null, WaitKind.Queued)]
    public void Each_decision_starts_a_wait_of_a_kind(string kind, string? gates, string? step, WaitKind expected)
    {
        var timing = RolloutTiming.Attribute([D("10:00:00", "created"), D("10:01:00", kind, step, gates), D("10:11:00", "rolled-back")], T("11:00:00"));

        // created → the decision is a minute of Queued; the ten minutes after the decision go to its kind.
        Assert.Equal(expected == WaitKind.Queued ? 660 : 600, timing.ByKind[expected]);
        Assert.Equal(660, timing.TotalSeconds);
    }

    [Fact]
    public void A_resume_goes_back_to_the_step_it_paused_and_a_live_rollout_runs_to_now()
    {
        var decisions = new[]
        {
            D("10:00:00", "created"), D("10:00:00", "admitted"), D("10:00:00", "step-started", "Analysis"),
            D("10:05:00", "paused", actor: "alice"), D("10:15:00", "resumed", actor: "alice"),
        };

        var timing = RolloutTiming.Attribute(decisions, T("10:20:00"));

        Assert.Equal(600, timing.ByKind[WaitKind.Analysis]);                    // 5 min before the pause, 5 after
        Assert.Equal(600, timing.ByKind[WaitKind.OperatorPauses]);
        Assert.Equal(T("10:20:00"), timing.To);
    }

    [Fact]
    public void No_decisions_no_time()
    {
        var timing = RolloutTiming.Attribute([], T("10:00:00"));
        Assert.Empty(timing.Segments);
        Assert.Null(timing.From);
        Assert.All(timing.ByKind.Values, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Gate_flakiness_is_flips_over_retries_of_the_same_release()
    {
        var runs = new[]
        {
            new GateRun("r1", "staging", "perf", false, T("10:00:00")),
            new GateRun("r1", "staging", "perf", true, T("10:10:00")),
            new GateRun("r1", "staging", "perf", true, T("10:20:00")),
            new GateRun("r2", "staging", "perf", true, T("11:00:00")),
            new GateRun("r1", "production", "perf", false, T("10:30:00")),   // another environment: its own first run
            new GateRun("r1", "staging", "scan", true, T("10:00:00")),
        };

        var gates = Bottlenecks.Gates(runs, historyLimit: 2);

        var perf = gates.Single(g => g.Gate == "perf");
        Assert.Equal((5, 3, 2, 2, 1, 0.5), (perf.Runs, perf.Passed, perf.Failed, perf.Retries, perf.Flips, perf.Flakiness));
        Assert.Equal([T("11:00:00"), T("10:30:00")], perf.History.Select(h => h.At));   // newest first, bounded
        var scan = gates.Single(g => g.Gate == "scan");
        Assert.Equal((1, 0, 0), (scan.Runs, scan.Retries, scan.Flips));
        Assert.Null(scan.Flakiness);
    }

    [Theory]
    // results of one release's retries → flips, retries
    [InlineData(new[] { true, false, true, false }, 3, 3)]
    [InlineData(new[] { false, false, true }, 1, 2)]
    [InlineData(new[] { true, true }, 0, 1)]
    public void A_flip_is_a_retry_that_disagrees_with_the_run_before_it(bool[] results, int flips, int retries)
    {
        var runs = results.Select((passed, i) => new GateRun("r", "staging", "perf", passed, T("10:00:00").AddMinutes(i)));

        var perf = Bottlenecks.Gates(runs).Single();

        Assert.Equal((flips, retries), (perf.Flips, perf.Retries));
    }

    [Fact]
    public void Lead_time_splits_into_commit_to_release_release_to_rollout_and_the_rollout_waits()
    {
        var deployments = new[]
        {
            // commit 08:00, release 09:00, rollout 10:00; then 30 min of approvals and 30 of hosts: 3 h in all.
            new DeploymentTiming(T("08:00:00"), T("09:00:00"), T("10:00:00"), new Dictionary<WaitKind, double> { [WaitKind.Approvals] = 1800, [WaitKind.Hosts] = 1800 }),
            // no commit time: release 09:00, rollout 09:00, 1 h of hosts.
            new DeploymentTiming(null, T("09:00:00"), T("09:00:00"), new Dictionary<WaitKind, double> { [WaitKind.Hosts] = 3600 }),
        };

        var stages = Bottlenecks.WhereLeadTimeGoes(deployments).ToDictionary(s => s.Stage);

        Assert.Equal((3600, 1800, 0.25), (stages["commitToRelease"].TotalSeconds, stages["commitToRelease"].MedianSeconds!.Value, stages["commitToRelease"].Share));
        Assert.Equal(3600, stages["releaseToRollout"].TotalSeconds);
        Assert.Equal((5400, 2700, 0.375), (stages["hosts"].TotalSeconds, stages["hosts"].MedianSeconds!.Value, stages["hosts"].Share));
        Assert.Equal(0.125, stages["approvals"].Share);
        Assert.Equal(0, stages["freezes"].TotalSeconds);
        Assert.Equal(1.0, stages.Values.Sum(s => s.Share), 4);
        Assert.Equal(2 + Enum.GetValues<WaitKind>().Length, stages.Count);
    }
}
