using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Deploy.Engine.Grains.Provisioning;

/// <summary>
/// Provisions nothing real, instantly: it names the hosts a real provisioner would create, and the host grains
/// become them. Ids are <c>{service}-{shortRollout}-{n:0000}</c>, n from 1, where shortRollout is the first 8 hex
/// characters (lowercase) of SHA-256 over the UTF-8 rollout id: a function of the request alone, so a retried
/// provisioning creates the same hosts.
/// <example>service "checkout", 2 hosts → "checkout-{h}-0001", "checkout-{h}-0002", h = sha256(rolloutId)[..8].</example>
/// Retire does nothing: the rollout grain marks the hosts retired.
/// </summary>
public sealed class SimulatedHostProvisioner : IHostProvisioner
{
    public Task<IReadOnlyList<string>> Provision(ProvisionRequest request, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(request.Count);
        var prefix = $"{request.Service}-{ShortRollout(request.RolloutId)}-";
        IReadOnlyList<string> ids = Enumerable.Range(1, request.Count)
            .Select(n => prefix + n.ToString("0000", CultureInfo.InvariantCulture))
            .ToArray();
        return Task.FromResult(ids);
    }

    public Task Retire(string environment, IReadOnlyList<string> hostIds, CancellationToken ct) => Task.CompletedTask;

    /// <summary>First 8 lowercase hex characters of SHA-256(UTF-8 <paramref name="rolloutId"/>).</summary>
    public static string ShortRollout(string rolloutId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rolloutId)), 0, 4);
}
