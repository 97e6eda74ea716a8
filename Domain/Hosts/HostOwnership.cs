namespace Deploy.Engine.Domain.Hosts;

/// <summary>Who owns a host after a registration, or why the registration is refused (nothing changes then).</summary>
public sealed record OwnershipDecision(string? Owner, string? Refusal);

/// <summary>
/// A host belongs to the agent key that registered it (issue 14). A host with no owning key (created by the engine, such
/// as a simulated one, or stored before hosts had owners) is never taken over by the first agent key that registers it:
/// only an operator hands it to an agent key, by naming that key. Decided in the host's own turn, so two registrations
/// racing for one host cannot both win.
/// </summary>
public static class HostOwnership
{
    /// <summary>
    /// <paramref name="registering"/>: the key that registers (null: the engine itself: a simulated fleet, a provisioning
    /// step, a rollback bringing old hosts back); <paramref name="adoptBy"/>: the agent key an operator hands the host to.
    /// Examples: new host by agent-1 → agent-1; existing host of agent-1 by agent-1 → agent-1; by agent-2 → refused;
    /// ownerless host by agent-1 → refused; ownerless host by an operator naming agent-1 → agent-1; an agent's host
    /// re-created as simulated → refused; any host re-registered by the engine without a simulation → unchanged.
    /// </summary>
    public static OwnershipDecision AfterRegistration(
        string hostId, bool exists, string? current, string? registering, bool byOperator, string? adoptBy, bool simulated)
    {
        if (!exists) return new(adoptBy ?? registering, null);
        if (adoptBy is not null) return new(adoptBy, null);
        if (registering is null)
        {
            return simulated && current is not null
                ? new(current, $"host '{hostId}' was registered by agent key '{current}'; a simulated fleet does not take it over")
                : new(current, null);
        }

        if (byOperator) return new(current, null);
        if (current is null)
        {
            return new(null, $"host '{hostId}' has no owning agent key (the engine created it, or it was registered before hosts had owners): " +
                "no agent key takes it over by registering it; an operator hands it to one (POST /v1/hosts with owner)");
        }

        return string.Equals(current, registering, StringComparison.Ordinal)
            ? new(current, null)
            : new(current, $"host '{hostId}' was registered by another agent key; only that key speaks for it");
    }
}
