namespace Deploy.Engine.Grains.Provisioning;

/// <summary>Asks for <paramref name="Count"/> fresh hosts for <paramref name="Service"/>, labelled <paramref name="Labels"/> (immutable strategy).</summary>
public sealed record ProvisionRequest(
    string RolloutId,
    string Environment,
    string Service,
    int Count,
    IReadOnlyDictionary<string, string> Labels);

/// <summary>Creates and retires hosts for the immutable strategy.</summary>
public interface IHostProvisioner
{
    /// <summary>
    /// Creates the hosts and returns their ids. Must be idempotent: the same request returns the same ids, so a
    /// rollout that crashed mid-provisioning and asks again gets the hosts it already has, not a second set.
    /// </summary>
    Task<IReadOnlyList<string>> Provision(ProvisionRequest request, CancellationToken ct);

    /// <summary>Releases the hosts. Retiring a host already retired (or never created) is not an error.</summary>
    Task Retire(string environment, IReadOnlyList<string> hostIds, CancellationToken ct);
}
