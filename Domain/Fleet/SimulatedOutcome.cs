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
        return Uniform(hostId + "\n" + artifact) < failureProbability;
    }

    /// <summary>
    /// A simulated metric reading: <paramref name="value"/> scaled by a factor in [1 − spread, 1 + spread], deterministic
    /// in (host, metric, sequence), so samples vary like real ones while a run stays reproducible.
    /// Example: value 100, spread 0.1 → a reading between 90 and 110.
    /// </summary>
    public static double Reading(string hostId, string metric, int sequence, double value, double spread = 0.1) =>
        value * (1 + spread * (2 * Uniform($"{hostId}\n{metric}\n{sequence}") - 1));

    private static double Uniform(string seed)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed), hash);
        return BitConverter.ToUInt64(hash) / (double)ulong.MaxValue;
    }
}
