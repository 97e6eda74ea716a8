using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

public class GovernanceRulesTests
{
    [Theory]
    [InlineData(100, 5.0, null, 5)]
    [InlineData(30, 5.0, null, 1)]
    [InlineData(30, 5.0, 3, 1)]
    [InlineData(200, 5.0, 3, 3)]
    [InlineData(200, null, 7, 7)]
    [InlineData(0, 5.0, null, 1)]
    [InlineData(40, 10.0, null, 4)]
    public void Budget_limit_is_the_stricter_of_percent_and_count_and_at_least_one(int hosts, double? percent, int? maxHosts, int limit) =>
        Assert.Equal(limit, BlastRadius.Limit(hosts, percent, maxHosts));

    [Theory]
    [InlineData("h1,h2", "h3,h4", 4, true)]
    [InlineData("h1,h2", "h3,h4,h5", 4, false)]
    [InlineData("h1,h2", "h2,h3", 3, true)] // a host another rollout holds counts once
    [InlineData("", "h1,h2,h3", 2, false)]
    public void A_lease_fits_when_the_union_stays_within_the_limit(string others, string requested, int limit, bool fits) =>
        Assert.Equal(fits, BlastRadius.Fits(Split(others), Split(requested), limit));

    [Fact]
    public void Scope_names_are_canonical() =>
        Assert.Equal("region=eu-west,ring=1", BlastRadius.ScopeName(new Dictionary<string, string> { ["ring"] = "1", ["region"] = "eu-west" }));

    [Theory]
    [InlineData("prod", "shop", null, null, true)]
    [InlineData("prod", "shop", "prod", null, true)]
    [InlineData("prod", "shop", "staging", null, false)]
    [InlineData("prod", "shop", null, "shop", true)]
    [InlineData("prod", "shop", null, "payments", false)]
    [InlineData("prod", "shop", "prod", "payments", false)]
    [InlineData("prod", "shop", "prod", "shop", true)]
    public void Incidents_hold_rollouts_in_their_scope(string environment, string service, string? scopeEnvironment, string? scopeService, bool holds)
    {
        var incident = new ActiveIncident("inc-1", new IncidentScope(scopeEnvironment, scopeService), "checkout errors", "sev1", DateTimeOffset.UnixEpoch, "pager");

        Assert.Equal(holds, IncidentRules.Holding([incident], environment, service, emergency: false).Count == 1);
        Assert.Empty(IncidentRules.Holding([incident], environment, service, emergency: true));
    }

    [Theory]
    [InlineData("payments", ">=2.1.0 <3.0.0", "2.0.3", "needs payments >=2.1.0 <3.0.0 in prod; prod runs 2.0.3")]
    [InlineData("payments", ">=2.1.0 <3.0.0", null, "needs payments >=2.1.0 <3.0.0 in prod; prod does not run payments yet")]
    [InlineData("payments", ">=2.1.0 <3.0.0", "3.0.0", "needs payments >=2.1.0 <3.0.0 in prod; prod runs 3.0.0")]
    [InlineData("payments", ">=2.1.0 <3.0.0", "2.1.0", null)]
    [InlineData("payments", "^2.1", "2.9.1", null)]
    [InlineData("payments", "~2.1.0", "2.2.0", "needs payments ~2.1.0 in prod; prod runs 2.2.0")]
    [InlineData("payments", "*", "0.0.1", null)]
    public void Dependencies_are_met_by_the_deployed_version(string service, string range, string? deployed, string? reason)
    {
        var versions = deployed is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [service] = deployed };

        var unmet = DependencyRules.Unmet([new ServiceDependency(service, range)], versions, "prod");

        Assert.Equal(reason, unmet.SingleOrDefault()?.Reason);
    }

    [Theory]
    [InlineData(">=2.1.0 <3.0.0", true)]
    [InlineData("^1.2 || ^2", true)]
    [InlineData(">1.0.0 <=1.4.0", true)]
    [InlineData("1.2.3 - 1.4.0", false)] // npm hyphen ranges are not the standard syntax
    [InlineData(">=banana", false)]
    [InlineData("", false)]
    public void Ranges_are_checked(string range, bool valid) => Assert.Equal(valid, DependencyRules.IsValidRange(range));

    [Fact]
    public void Trains_order_services_after_their_dependencies()
    {
        var dependsOn = new Dictionary<string, IReadOnlyList<string>>
        {
            ["shop"] = ["payments", "catalog"],
            ["payments"] = ["ledger"],
        };

        var (order, cycle) = DependencyRules.Order(["shop", "payments", "ledger", "catalog"], dependsOn);

        Assert.Null(cycle);
        Assert.Equal(["ledger", "payments", "catalog", "shop"], order);
    }

    [Fact]
    public void A_dependency_cycle_is_named()
    {
        var (order, cycle) = DependencyRules.Order(["a", "b"], new Dictionary<string, IReadOnlyList<string>> { ["a"] = ["b"], ["b"] = ["a"] });

        Assert.Null(order);
        Assert.Equal("a -> b -> a", cycle);
    }

    private static string[] Split(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
