using Deploy.Engine.Domain.Hosts;

namespace Deploy.Engine.Domain.Tests.Hosts;

/// <summary>The worked examples of <see cref="HostOwnership.AfterRegistration"/>.</summary>
public class HostOwnershipTests
{
    [Theory]
    // exists, current, registering, byOperator, adoptBy, simulated → owner, refused
    [InlineData(false, null, "agent-1", false, null, false, "agent-1", false)]      // a new host belongs to the key that registers it
    [InlineData(false, null, null, false, null, true, null, false)]                 // the engine creates a simulated host: no owner
    [InlineData(true, "agent-1", "agent-1", false, null, false, "agent-1", false)]  // its own agent registers again
    [InlineData(true, "agent-1", "agent-2", false, null, false, "agent-1", true)]   // another agent key: refused
    [InlineData(true, null, "agent-1", false, null, false, null, true)]             // ownerless (simulated or legacy): no agent takes it
    [InlineData(true, null, "alice", true, null, false, null, false)]               // an operator re-registers: the owner stays (none)
    [InlineData(true, "agent-1", "alice", true, null, false, "agent-1", false)]     // an operator re-labels an agent's host: still the agent's
    [InlineData(true, null, "alice", true, "agent-1", false, "agent-1", false)]     // an operator hands an ownerless host to agent-1
    [InlineData(true, "agent-1", null, false, null, true, "agent-1", true)]         // a simulated fleet over an agent's host: refused
    [InlineData(true, "agent-1", null, false, null, false, "agent-1", false)]       // the engine brings an old host back: unchanged
    public void Ownership_after_a_registration(
        bool exists, string? current, string? registering, bool byOperator, string? adoptBy, bool simulated, string? owner, bool refused)
    {
        var decision = HostOwnership.AfterRegistration("h1", exists, current, registering, byOperator, adoptBy, simulated);
        Assert.Equal(owner, decision.Owner);
        Assert.Equal(refused, decision.Refusal is not null);
    }
}
