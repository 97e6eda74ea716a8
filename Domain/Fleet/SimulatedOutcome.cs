using System.Security.Cryptography;
using System.Text;

namespace Deploy.Engine.Domain.Fleet;

/// <summary>
/// Whether a simulated host fails to apply an artifact. Deterministic in (host, artifact): the same fleet and
/// release fail the same hosts on every run, so a demo or a test is reproducible, while the share of failing
/// hosts over a large fleet approaches the declared probability.
/// </summary>
public static class SimulatedOutcome
{
    public static bool Fails(string hostId, string artifact, double failureProbability)
    {
        if (failureProbability <= 0) return false;
        if (failureProbability >= 1) return true;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(hostId + "\n" + artifact), hash);
        var sample = BitConverter.ToUInt64(hash) / (double)ulong.MaxValue;
        return sample < failureProbability;
    }
}
