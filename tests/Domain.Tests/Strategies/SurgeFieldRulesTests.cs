using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Strategies;

/// <summary>maxSurge and maxUnavailable refused where the strategy cannot honour them, with the reason, not reinterpreted.</summary>
public class SurgeFieldRulesTests
{
    [Theory]
    // in place: a host is out of service while it updates and none is added
    [InlineData("rolling", "1", "0", "cannot be 0 for an in-place update")]
    [InlineData("rolling", null, "0%", "cannot be 0 for an in-place update")]
    [InlineData("canary", "25%", "0", "cannot be 0 for an in-place update")]
    // surge-capable: Kubernetes' ValidateRollingUpdateDeployment refuses both 0 ("may not be 0 when `maxSurge` is 0")
    [InlineData("immutable", "0", "0", "may not be 0 when maxSurge is 0")]
    [InlineData("immutable", "0%", "0", "may not be 0 when maxSurge is 0")]
    public void Refused_with_the_reason(string type, string? surge, string unavailable, string message)
    {
        var parsed = StrategySpecParser.Parse(new StrategyInput { Type = type, Rolling = new RollingInput { MaxSurge = surge, MaxUnavailable = unavailable } });
        Assert.False(parsed.IsValid);
        Assert.Contains(message, Assert.Single(parsed.Errors["strategy.maxUnavailable"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("immutable", "1", "0")]     // surge carries it
    [InlineData("blueGreen", "1", "0")]     // the idle slot serves nothing
    [InlineData("rolling", "0", "1")]
    [InlineData("rolling", "3", "10%")]     // in place maxSurge bounds nothing the update exceeds; 10% may round to 0 (the plan says)
    public void Accepted(string type, string surge, string unavailable) =>
        Assert.True(StrategySpecParser.Parse(new StrategyInput { Type = type, Rolling = new RollingInput { MaxSurge = surge, MaxUnavailable = unavailable } }).IsValid);
}
