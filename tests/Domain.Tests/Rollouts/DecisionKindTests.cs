using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class DecisionKindTests
{
    [Theory]
    [InlineData(DecisionKind.StepStarted, "step-started")]
    [InlineData(DecisionKind.RolledBack, "rolled-back")]
    [InlineData(DecisionKind.AwaitingPromote, "awaiting-promote")]
    [InlineData(DecisionKind.Escalated, "escalated")]
    public void Each_kind_has_its_wire_name(DecisionKind kind, string name) => Assert.Equal(name, kind.Name());

    [Fact]
    public void Every_kind_has_a_distinct_name() =>
        Assert.Equal(Enum.GetValues<DecisionKind>().Length, Enum.GetValues<DecisionKind>().Select(k => k.Name()).Distinct().Count());
}
