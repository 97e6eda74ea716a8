using Deploy.Engine.Domain.Environments;
using Microsoft.Extensions.Time.Testing;

namespace Deploy.Engine.Domain.Tests.Environments;

public class PromotionAndLifecycleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, GateOutcome> Results(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => s.Split('='))
        .ToDictionary(s => s[0], s => new GateOutcome(s[0], s[1] == "passed", T0, s[1] == "failed" ? "2 critical findings" : null));

    [Theory]
    [InlineData(true, "security-scan=passed, performance-test=passed", "")]
    [InlineData(false, "security-scan=passed, performance-test=passed",
        "release rel-1 has not succeeded in 'staging' (promotion order: dev → staging → production); roll it out there first")]
    [InlineData(true, "performance-test=passed",
        "gate 'security-scan' has no passing result for 'staging'; the pipeline posts one with POST /v1/releases/rel-1/gates")]
    [InlineData(true, "security-scan=failed, performance-test=passed",
        "gate 'security-scan' failed for 'staging' at 2026-11-27 10:00:00Z (2 critical findings); a passing result must be recorded after it")]
    public void A_release_is_promoted_only_after_the_previous_environment_and_its_gates(bool succeeded, string results, string expected)
    {
        var missing = PromotionRules.Missing("rel-1", "production", "staging", ["dev", "staging", "production"], succeeded,
            ["security-scan", "performance-test"], Results(results));
        Assert.Equal(expected, string.Join(" | ", missing));
    }

    [Fact]
    public void Gates_of_an_environment_first_in_order_are_checked_for_itself()
    {
        var missing = PromotionRules.Missing("rel-1", "dev", null, ["dev"], false, ["unit-tests"], Results(""));
        Assert.Equal(["gate 'unit-tests' has no passing result for 'dev'; the pipeline posts one with POST /v1/releases/rel-1/gates"], missing);
    }

    [Fact]
    public void The_promotion_order_follows_after_links_and_stops_at_a_loop()
    {
        var afters = new Dictionary<string, string?> { ["production"] = "staging", ["staging"] = "dev", ["dev"] = null, ["a"] = "b", ["b"] = "a" };
        Assert.Equal(["dev", "staging", "production"], PromotionRules.Order("production", n => afters.GetValueOrDefault(n)));
        Assert.Equal(["b", "a"], PromotionRules.Order("a", n => afters.GetValueOrDefault(n)));
    }

    [Theory]
    [InlineData(false, "orders-anon", "")]
    [InlineData(false, "orders-prod",
        "release rel-1 points non-production environment 'staging' (anonymised data) at data source 'orders-prod', classified production (declared by 'production'); use a synthetic or anonymised source")]
    [InlineData(false, "nowhere", "release rel-1 names data source 'nowhere' for 'staging', which no environment declares; declare it with its classification")]
    [InlineData(true, "orders-prod", "")]
    public void Non_production_environments_never_point_at_production_data(bool targetIsProduction, string source, string expected)
    {
        var catalogue = new Dictionary<string, DeclaredDataSource>
        {
            ["orders-prod"] = new("orders-prod", DataClass.Production, "production"),
            ["orders-anon"] = new("orders-anon", DataClass.Anonymised, "staging"),
        };
        Assert.Equal(expected, string.Join(" | ", IsolationRules.Violations("rel-1", "staging", targetIsProduction, DataClass.Anonymised, [source], catalogue)));
    }

    [Fact]
    public void An_ephemeral_environment_expires_exactly_at_its_time_to_live()
    {
        var clock = new FakeTimeProvider(T0);
        var ttl = TimeSpan.FromHours(1);
        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.False(Lifecycle.IsExpired(T0, ttl, clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(Lifecycle.IsExpired(T0, ttl, clock.GetUtcNow()));
    }

    [Theory]
    [InlineData(3, 2, 1, null)]
    [InlineData(3, 2, 2, "environment 'pr-42' has a host quota of 3: it has 2 hosts, registering 2 more would make 4")]
    [InlineData(0, 0, 1, "environment 'pr-42' has a host quota of 0: it has 0 hosts, registering 1 more would make 1")]
    [InlineData(null, 500, 500, null)]
    [InlineData(3, 5, 0, null)]
    public void Host_quota(int? quota, int current, int adding, string? expected) =>
        Assert.Equal(expected, Lifecycle.QuotaRefusal("pr-42", quota, current, adding));

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("12h", 43200)]
    [InlineData("7d", 604800)]
    [InlineData("01:30:00", 5400)]
    [InlineData("0s", -1)]
    [InlineData("400d", -1)]
    [InlineData("2 h", -1)]
    [InlineData("soon", -1)]
    [InlineData("-5m", -1)]
    public void Durations(string text, long seconds)
    {
        var ok = Lifecycle.TryParseDuration(text, out var duration);
        Assert.Equal(seconds >= 0, ok);
        if (ok) Assert.Equal(seconds, (long)duration.TotalSeconds);
    }
}
