using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using static Deploy.Engine.Domain.Rollouts.RollbackAction;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class RollbackPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly ReleaseRef This = new("rel-2", "2.0.0");
    private static readonly ReleaseRef Before = new("rel-1", "1.0.0");

    public static TheoryData<string, RollbackSituation, RollbackAction[], RollbackMethod> Plans => new()
    {
        { "rolling in flight: hosts revert", new(StrategyKind.Rolling, false, This, Now, Previous: Before), [ReturnHosts], RollbackMethod.Revert },
        { "rolling after success: the previous release is redeployed", new(StrategyKind.Rolling, true, This, Now, Previous: Before, Current: This), [ReturnHosts], RollbackMethod.Redeploy },
        { "rolling after success, nothing recorded before: hosts revert", new(StrategyKind.Rolling, true, This, Now, Current: This), [ReturnHosts], RollbackMethod.Revert },
        { "canary with traffic: traffic first", new(StrategyKind.Canary, false, This, Now, TrafficWeight: 20), [ResetTraffic, ReturnHosts], RollbackMethod.Revert },
        { "canary without traffic", new(StrategyKind.Canary, false, This, Now), [ReturnHosts], RollbackMethod.Revert },
        { "canary after success", new(StrategyKind.Canary, true, This, Now, TrafficWeight: 100, Previous: Before, Current: This), [ResetTraffic, ReturnHosts], RollbackMethod.Redeploy },
        { "blue-green inside the warm window: switch back", new(StrategyKind.BlueGreen, true, This, Now, Switched: true, WarmUntil: Now.AddSeconds(1), Previous: Before, Current: This), [SwitchBack], RollbackMethod.Revert },
        { "blue-green after the warm window: redeploy on the active slot", new(StrategyKind.BlueGreen, true, This, Now, Switched: true, WarmUntil: Now, Previous: Before, Current: This), [ReturnHosts], RollbackMethod.Redeploy },
        { "blue-green before the switch: the idle slot returns", new(StrategyKind.BlueGreen, false, This, Now, Previous: Before), [ReturnHosts], RollbackMethod.Revert },
        { "immutable before the old hosts retired", new(StrategyKind.Immutable, false, This, Now), [RetireNew], RollbackMethod.Revert },
        { "immutable after the old hosts retired", new(StrategyKind.Immutable, true, This, Now, OldHostsRetired: true, Current: This), [RetireNew, RestoreOld], RollbackMethod.Revert },
    };

    [Theory]
    [MemberData(nameof(Plans))]
    public void Each_strategy_rolls_back_its_own_way(string why, RollbackSituation situation, RollbackAction[] actions, RollbackMethod method)
    {
        var plan = RollbackPlanner.Plan(situation);

        Assert.False(plan.Refused, $"{why}: {plan.Refusal}");
        Assert.Equal(actions, plan.Actions);
        Assert.Equal(method, plan.Method);
        Assert.False(string.IsNullOrWhiteSpace(plan.Explanation));
    }

    public static TheoryData<string, RollbackSituation, string> Refusals => new()
    {
        { "a newer release replaced it", new(StrategyKind.Rolling, true, This, Now, Previous: Before, Current: new ReleaseRef("rel-3", "3.0.0")), "release 'rel-3' (3.0.0) has replaced 2.0.0" },
        { "another rollout of the service is in flight", new(StrategyKind.Rolling, true, This, Now, Previous: Before, Current: This, OtherRollouts: ["rel-3@prod"]), "rollout 'rel-3@prod' of the same service is in progress" },
        { "blue-green past the window with nothing to return to", new(StrategyKind.BlueGreen, true, This, Now, Switched: true, WarmUntil: Now.AddSeconds(-1), Current: This), "past its warm window" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_rollback_that_could_not_end_true_is_refused_with_the_reason(string why, RollbackSituation situation, string reason)
    {
        var plan = RollbackPlanner.Plan(situation);

        Assert.True(plan.Refused, why);
        Assert.Empty(plan.Actions);
        Assert.Contains(reason, plan.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rollout_in_flight_is_never_refused_for_what_the_environment_records()
    {
        // Before success the environment still records the previous release, and the rollout itself is the one in flight.
        var plan = RollbackPlanner.Plan(new(StrategyKind.Rolling, false, This, Now, Previous: Before, Current: Before, OtherRollouts: ["other"]));
        Assert.False(plan.Refused);
    }
}

public class RollbackDeadlineTests
{
    private static readonly DeadlineSpec Progress600 = DeadlineSpec.Default with { Progress = TimeSpan.FromSeconds(600) };

    [Theory]
    [InlineData(null, null, 600)]
    [InlineData(null, 120, 120)]
    [InlineData(30, 120, 30)]
    [InlineData(30, null, 30)]
    public void The_strategy_s_rollback_deadline_wins_then_the_environment_s_then_progress(int? strategy, int? environment, int expected) =>
        Assert.Equal(TimeSpan.FromSeconds(expected), RollbackPlanner.Deadline(
            Progress600 with { Rollback = strategy is { } s ? TimeSpan.FromSeconds(s) : null },
            environment is { } e ? TimeSpan.FromSeconds(e) : null));

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(604_801, false)]
    public void The_strategy_parser_bounds_rollback_seconds(int seconds, bool valid)
    {
        var parsed = StrategySpecParser.Parse(new StrategyInput { Deadlines = new DeadlinesInput { RollbackSeconds = seconds } });

        Assert.Equal(valid, parsed.IsValid);
        if (valid) Assert.Equal(TimeSpan.FromSeconds(seconds), parsed.Value!.Deadlines.Rollback);
        else Assert.Contains("strategy.deadlines.rollbackSeconds", parsed.Errors.Keys);
    }
}
