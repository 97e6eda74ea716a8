using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rolling;

/// <summary>
/// CodeDeploy minimum healthy hosts deciding success, separately from maxFailures. Each row cites the AWS CodeDeploy
/// User Guide: instances-health.html#minimum-healthy-hosts ("Minimum healthy instances and deployments") and
/// deployment-configurations.html (the predefined configurations).
/// </summary>
public class MinimumHealthyRuleTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    [Theory]
    // minimum, targets, required
    [InlineData(8, 10, 8)]   // "succeeds if ... deployed to at least the minimum number of healthy instances"
    [InlineData(0, 4, 1)]    // AllAtOnce: "succeeds if the application revision is deployed to at least one instance"
    [InlineData(0, 1, 1)]
    [InlineData(6, 5, 5)]    // never more than the targets
    [InlineData(0, 0, 0)]
    public void Required_successes_are_the_minimum_at_least_one(int minimum, int targets, int required) =>
        Assert.Equal(required, MinimumHealthyRule.Required(minimum, targets));

    [Theory]
    // type, value, hosts, resolved minimum: "rounding up any fractional instances" for a percentage; a count as is
    [InlineData("FLEET_PERCENT", 75, 10, 8)]  // ⌈7.5⌉
    [InlineData("FLEET_PERCENT", 50, 9, 5)]   // ⌈4.5⌉
    [InlineData("FLEET_PERCENT", 1, 3, 1)]    // ⌈0.03⌉
    [InlineData("HOST_COUNT", 6, 9, 6)]
    [InlineData("HOST_COUNT", 0, 9, 0)]
    public void A_percentage_rounds_up_and_a_count_is_taken_as_is(string type, int value, int hosts, int minimum)
    {
        var spec = RollingSpecParser.Parse(null, null, type, value, null, null).Value!;
        Assert.Equal(minimum, spec.MinimumHealthy!.Value.Resolve(hosts));
    }

    [Theory]
    // targets, minimum, failed, still reachable
    [InlineData(10, 8, 2, true)]   // 8 can still succeed
    [InlineData(10, 8, 3, false)]  // at most 7: fail at once, not at the end
    [InlineData(4, 0, 3, true)]    // AllAtOnce: one success is enough
    [InlineData(4, 0, 4, false)]   // ...and none is a failure (the at-least-one rule)
    public void The_deployment_fails_as_soon_as_the_minimum_cannot_be_reached(int targets, int minimum, int failed, bool reachable)
    {
        var reason = MinimumHealthyRule.Unreachable(targets, minimum, failed);
        Assert.Equal(reachable, reason is null);
        if (!reachable) Assert.Contains($"{failed} failed", reason, StringComparison.Ordinal);
    }

    [Theory]
    // targets, minimum, failed, next batch, may start: "a deployment must never cause the number of healthy instances to
    // fall below the minimum number of healthy instances you have specified"
    [InlineData(5, 4, 0, 1, true)]    // OneAtATime on 5 hosts
    [InlineData(5, 4, 1, 1, false)]   // OneAtATime: after one failure no other host may go
    [InlineData(10, 5, 0, 5, true)]   // HalfAtATime
    [InlineData(10, 5, 1, 5, false)]  // 10 − 1 − 5 = 4 < 5
    [InlineData(10, 0, 9, 1, true)]   // AllAtOnce: minimum 0 never holds a batch back
    public void A_batch_may_start_only_if_the_healthy_count_stays_at_the_minimum(int targets, int minimum, int failed, int batch, bool may) =>
        Assert.Equal(may, MinimumHealthyRule.NextBatchRefused(targets, minimum, failed, batch) is null);

    private static readonly PlanStepKind[] FiveBatches = [PlanStepKind.Deploy, PlanStepKind.Deploy, PlanStepKind.Deploy, PlanStepKind.Deploy, PlanStepKind.Deploy];

    private static PlanProgress OneAtATime(int step, int failed, int allowed) =>
        new(RolloutStatus.Progressing, FiveBatches, step, null, Now, true, 0, failed, allowed, null, false, null, Now,
            Minimum: new CodeDeployMinimum(5, 4, failed), StepHosts: [1, 1, 1, 1, 1]);

    [Fact]
    public void OneAtATime_rolls_back_after_a_failure_that_is_not_the_last_host_whatever_the_budget()
    {
        // The budget would allow 3 failures; the minimum (4 of 5) stops the next host from going out of service.
        var decision = PlanStepper.Next(OneAtATime(step: 1, failed: 1, allowed: 3));
        Assert.Equal(PlanAction.RollBack, decision.Action);
        Assert.Contains("below the minimum of 4", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OneAtATime_succeeds_when_only_the_last_host_fails()
    {
        // "if deployment to the last instance fails, the overall deployment still succeeds"
        Assert.Equal(PlanAction.Complete, PlanStepper.Next(OneAtATime(step: 4, failed: 1, allowed: 5)).Action);
    }

    [Fact]
    public void The_budget_still_applies_separately()
    {
        // A declared maxFailures of 0 rolls back on the first failure even where the minimum would allow it.
        Assert.Equal(PlanAction.RollBack, PlanStepper.Next(OneAtATime(step: 4, failed: 1, allowed: 0)).Action);
    }

    [Theory]
    [InlineData("OneAtATime", null, 100)]   // no maxFailures with a minimum: the minimum alone decides
    [InlineData("OneAtATime", "0", 0)]
    [InlineData(null, null, 0)]             // Kubernetes style without a minimum: the budget defaults to 0
    public void Without_maxFailures_a_declared_minimum_decides_alone(string? preset, string? maxFailures, int allowedOf100)
    {
        var spec = RollingSpecParser.Parse(null, null, null, null, preset, maxFailures).Value!;
        Assert.Equal(allowedOf100, RollingPlanner.Plan(spec, 100).AllowedFailures);
    }

    [Fact]
    public void The_plan_states_the_successes_required()
    {
        var plan = RollingPlanner.Plan(RollingSpecParser.Parse(null, null, "FLEET_PERCENT", 75, null, null).Value!, 10);
        Assert.Equal(8, plan.RequiredSuccesses);
        Assert.Contains("succeeds when at least 8 hosts succeed", plan.Explanation, StringComparison.Ordinal);
        Assert.Null(RollingPlanner.Plan(RollingSpec.Default, 10).RequiredSuccesses);
    }
}
