using Deploy.Engine.Domain.Rolling;

namespace Deploy.Engine.Domain.Tests.Rolling;

public class RollingPlannerTests
{
    private static RollingSpec Spec(string? surge = null, string? unavailable = null, string? minType = null, int? minValue = null,
        string? preset = null, string? maxFailures = null)
    {
        var parsed = RollingSpecParser.Parse(surge, unavailable, minType, minValue, preset, maxFailures);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.SelectMany(e => e.Value.Select(m => e.Key + ": " + m))));
        return parsed.Value!;
    }

    [Theory]
    // In place (rolling, canary): the batch is maxUnavailable, rounded down, as Kubernetes' ResolveFenceposts resolves it
    // (kubernetes/kubernetes 277391ee, pkg/controller/deployment/util/deployment_util.go ResolveFenceposts: surge rounds
    // up, unavailable rounds down, both 0 → unavailable 1). No host is added in place, so maxSurge (default 0) adds none.
    // hosts, maxSurge, maxUnavailable, expected surge, expected unavailable, expected batch size
    [InlineData(10, null, null, 0, 2, 2)]            // default maxUnavailable 25%: ⌊2.5⌋
    [InlineData(10, "0", "10%", 0, 1, 1)]
    [InlineData(3, "0", "25%", 0, 1, 1)]             // both 0 → unavailable 1
    [InlineData(3, "0%", "0%", 0, 1, 1)]
    [InlineData(3, null, "25%", 0, 1, 1)]            // maxSurge undeclared is 0 in place, so the fallback applies
    [InlineData(1, null, null, 0, 1, 1)]             // ⌊0.25⌋ = 0, default: at least 1
    [InlineData(200, "25%", "25%", 50, 50, 50)]      // maxSurge resolved and shown, adds no host
    [InlineData(9, "2", "3", 2, 3, 3)]
    [InlineData(4, "100%", "100%", 4, 4, 4)]         // capped at the host count
    [InlineData(101, "1%", "1%", 2, 1, 1)]
    public void In_place_the_batch_is_max_unavailable(int hosts, string? surge, string? unavailable, int expectedSurge, int expectedUnavailable, int batch)
    {
        var plan = RollingPlanner.Plan(Spec(surge, unavailable), hosts);

        Assert.True(plan.IsFeasible, plan.Infeasible);
        Assert.Equal(expectedSurge, plan.MaxSurge);
        Assert.Equal(expectedUnavailable, plan.MaxUnavailable);
        Assert.Equal(batch, plan.BatchSize);
        Assert.Equal(Enumerable.Range(0, hosts).Chunk(batch).Select(c => c.Length), plan.Batches);
    }

    [Theory]
    // Kubernetes would surge a pod here; in place nothing is added, so the declared maxUnavailable cannot be honoured.
    [InlineData(10, "1", "0")]
    [InlineData(7, "10%", "10%")]                    // ⌈0.7⌉ = 1 surge, ⌊0.7⌋ = 0 unavailable
    [InlineData(3, "1", "25%")]
    public void In_place_a_max_unavailable_of_0_with_surge_is_infeasible_not_reinterpreted(int hosts, string surge, string unavailable)
    {
        var plan = RollingPlanner.Plan(Spec(surge, unavailable), hosts);

        Assert.False(plan.IsFeasible);
        Assert.Equal("maxUnavailable", plan.InfeasibleField);
        Assert.Contains("rounds down to 0", plan.Infeasible, StringComparison.Ordinal);
        Assert.Contains("an in-place update takes each host out of service", plan.Infeasible, StringComparison.Ordinal);
        Assert.Empty(plan.Batches);
    }

    [Theory]
    // A blue-green idle slot serves nothing while it is updated: surge + unavailable at a time.
    [InlineData(10, null, null, new[] { 5, 5 })]     // ⌈2.5⌉ + ⌊2.5⌋
    [InlineData(10, "1", "0", new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(9, "2", "3", new[] { 5, 4 })]
    public void An_idle_slot_takes_surge_plus_unavailable(int hosts, string? surge, string? unavailable, int[] expected) =>
        Assert.Equal(expected, RollingPlanner.Plan(Spec(surge, unavailable), hosts, HostUpdate.Idle).Batches);

    [Theory]
    // CodeDeploy's own examples: 9 hosts, HOST_COUNT 6 → 3 at a time; FLEET_PERCENT 40 → min ⌈3.6⌉ = 4 → 5 at a time.
    [InlineData(9, "HOST_COUNT", 6, 6, new[] { 3, 3, 3 })]
    [InlineData(9, "FLEET_PERCENT", 40, 4, new[] { 5, 4 })]
    [InlineData(10, "FLEET_PERCENT", 75, 8, new[] { 2, 2, 2, 2, 2 })]  // ⌈7.5⌉ = 8
    [InlineData(10, "HOST_COUNT", 0, 0, new[] { 10 })]
    [InlineData(3, "FLEET_PERCENT", 1, 1, new[] { 2, 1 })]             // ⌈0.03⌉ = 1
    public void Minimum_healthy_hosts_caps_the_batch(int hosts, string type, int value, int expectedMinimum, int[] expected)
    {
        var plan = RollingPlanner.Plan(Spec(minType: type, minValue: value), hosts);

        Assert.True(plan.IsFeasible, plan.Infeasible);
        Assert.Equal(expectedMinimum, plan.MinimumHealthy);
        Assert.Equal(expected, plan.Batches);
    }

    [Theory]
    [InlineData("OneAtATime", 5, new[] { 1, 1, 1, 1, 1 })]
    [InlineData("OneAtATime", 1, new[] { 1 })]
    [InlineData("HalfAtATime", 10, new[] { 5, 5 })]
    [InlineData("HalfAtATime", 9, new[] { 4, 4, 1 })]   // min ⌈4.5⌉ = 5 healthy → 4 at a time
    [InlineData("AllAtOnce", 50, new[] { 50 })]
    public void Presets(string preset, int hosts, int[] expected)
    {
        Assert.Equal(expected, RollingPlanner.Plan(Spec(preset: preset), hosts).Batches);
    }

    [Theory]
    [InlineData(5, "HOST_COUNT", 5)]
    [InlineData(5, "HOST_COUNT", 9)]
    [InlineData(5, "FLEET_PERCENT", 100)]
    [InlineData(1, "FLEET_PERCENT", 50)]   // ⌈0.5⌉ = 1 of 1 host
    public void A_minimum_that_cannot_be_met_is_infeasible_with_a_reason(int hosts, string type, int value)
    {
        var plan = RollingPlanner.Plan(Spec(minType: type, minValue: value), hosts);

        Assert.False(plan.IsFeasible);
        Assert.Empty(plan.Batches);
        Assert.Contains("minimumHealthyHosts", plan.Infeasible);
        Assert.Contains($"of {hosts} hosts", plan.Infeasible);
    }

    [Fact]
    public void No_hosts_is_infeasible()
    {
        var plan = RollingPlanner.Plan(RollingSpec.Default, 0);
        Assert.False(plan.IsFeasible);
        Assert.Contains("no target hosts", plan.Infeasible);
    }

    [Fact]
    public void The_stricter_style_wins_when_both_are_declared()
    {
        // surge 3 + unavailable 3 = 6, but HOST_COUNT 8 of 10 leaves 2.
        var plan = RollingPlanner.Plan(Spec("3", "3", "HOST_COUNT", 8), 10);
        Assert.Equal(2, plan.BatchSize);

        // surge 0 + unavailable 1 = 1 is stricter than FLEET_PERCENT 50.
        Assert.Equal(1, RollingPlanner.Plan(Spec("0", "1", "FLEET_PERCENT", 50), 10).BatchSize);
    }

    [Theory]
    [InlineData(null, 200, 0)]
    [InlineData("0", 200, 0)]
    [InlineData("3", 200, 3)]
    [InlineData("5%", 200, 10)]
    [InlineData("5%", 39, 1)]     // ⌊1.95⌋ = 1
    [InlineData("1%", 50, 0)]     // ⌊0.5⌋ = 0
    [InlineData("500", 10, 10)]   // never more than the fleet
    public void Failure_budget_rounds_down(string? maxFailures, int hosts, int allowed)
    {
        Assert.Equal(allowed, RollingPlanner.Plan(Spec(maxFailures: maxFailures), hosts).AllowedFailures);
    }
}
