using Deploy.Engine.Domain.Rolling;

namespace Deploy.Engine.Domain.Tests.Rolling;

/// <summary>
/// The immutable strategy's surge window against Kubernetes' Deployment controller (kubernetes/kubernetes at 277391ee):
/// pkg/controller/deployment/util/deployment_util.go ResolveFenceposts (surge rounds up, unavailable rounds down, both 0
/// → unavailable 1) and NewRSNewReplicas (scale up to desired + maxSurge), pkg/controller/deployment/rolling.go
/// reconcileOldReplicaSets (maxScaledDown = allPods − minAvailable − newRSUnavailable). Worked by hand.
/// </summary>
public class SurgeWindowPlannerTests
{
    private static RollingSpec Spec(string? surge, string? unavailable)
    {
        var parsed = RollingSpecParser.Parse(surge, unavailable, null, null, null, null);
        Assert.True(parsed.IsValid);
        return parsed.Value!;
    }

    private static string Shape(SurgeWindowPlan plan) =>
        string.Join(" ", plan.Steps.Select(s => (s.Provision, s.Retire) switch
        {
            (0, var r) => $"-{r}",
            (var p, 0) => $"+{p}",
            var (p, r) => $"+{p}-{r}",
        }));

    [Theory]
    // hosts, maxSurge, maxUnavailable, resolved surge, resolved unavailable, steps (+provisioned −retired)
    [InlineData(10, "25%", "25%", 3, 2, "+3-2 +2-3 +3-2 +2-3")]      // rolling.go's own example: 10 replicas, 3 surge, 2 unavailable
    [InlineData(3, "1", "0", 1, 0, "+1 -1 +1 -1 +1 -1")]             // never fewer than 3 serving, never more than 4
    [InlineData(5, "0", "1", 0, 1, "-1 +1 -1 +1 -1 +1 -1 +1 -1 +1")] // never more than 5, never fewer than 4 serving
    [InlineData(2, "0%", "1%", 0, 1, "-1 +1 -1 +1")]                 // ResolveFenceposts' comment: old(-1), new(+1), old(-1), new(+1)
    [InlineData(2, "1%", "25%", 1, 0, "+1 -1 +1 -1")]                // "2 desired, max unavailable 25%, surge 1%: new(+1), old(-1), …"
    [InlineData(1, "1%", "0%", 1, 0, "+1 -1")]
    [InlineData(4, "100%", "0", 4, 0, "+4 -4")]                     // blue-green-like: all new first, then all old out
    [InlineData(4, "0", "100%", 0, 4, "-4 +4")]                     // recreate-like
    [InlineData(3, "5", "0", 5, 0, "+3 -3")]                        // surge above the fleet: never more new than desired
    public void Kubernetes_windows(int hosts, string surge, string unavailable, int expectedSurge, int expectedUnavailable, string expected)
    {
        var plan = SurgeWindowPlanner.Plan(Spec(surge, unavailable), hosts);

        Assert.True(plan.IsFeasible, plan.Infeasible);
        Assert.Equal((expectedSurge, expectedUnavailable), (plan.MaxSurge, plan.MaxUnavailable));
        Assert.Equal(expected, Shape(plan));
        // The two invariants the brief names, at every step.
        Assert.All(plan.Steps, s => Assert.True(s.Available >= hosts - plan.MaxUnavailable, $"{s.Available} serving"));
        Assert.All(plan.Steps, s => Assert.True(s.Total <= hosts + plan.MaxSurge, $"{s.Total} hosts"));
        Assert.Equal((0, hosts), (plan.Steps[^1].Old, plan.Steps[^1].New));
        Assert.Equal(hosts, plan.Steps.Sum(s => s.Provision));
        Assert.Equal(hosts, plan.Steps.Sum(s => s.Retire));
    }

    [Fact]
    public void The_counts_of_the_ten_host_example()
    {
        var plan = SurgeWindowPlanner.Plan(Spec("25%", "25%"), 10);
        Assert.Equal(
            [
                new SurgeWindowStep(3, 2, 8, 3, 8, 13),
                new SurgeWindowStep(2, 3, 5, 5, 8, 13),
                new SurgeWindowStep(3, 2, 3, 8, 8, 13),
                new SurgeWindowStep(2, 3, 0, 10, 8, 13),
            ],
            plan.Steps);
        Assert.Equal((8, 13), (plan.MinAvailable, plan.MaxTotal));
    }

    [Fact]
    public void Both_resolving_to_zero_makes_unavailable_one()
    {
        // 5 hosts, maxSurge 0%, maxUnavailable 10%: ⌊0.5⌋ = 0 and 0 surge → unavailable 1 (ResolveFenceposts). A literal
        // 0/0 is refused earlier, as Kubernetes' validation refuses it (StrategySpecParser).
        var plan = SurgeWindowPlanner.Plan(Spec("0%", "10%"), 5);
        Assert.Equal((0, 1), (plan.MaxSurge, plan.MaxUnavailable));
        Assert.Contains("both resolve to 0", plan.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_codedeploy_minimum_that_keeps_everyone_serving_without_surge_is_infeasible()
    {
        var parsed = RollingSpecParser.Parse(null, null, "HOST_COUNT", 5, null, null);
        var plan = SurgeWindowPlanner.Plan(parsed.Value!, 5);
        Assert.False(plan.IsFeasible);
        Assert.Contains("can never be replaced", plan.Infeasible, StringComparison.Ordinal);
    }
}
