namespace Deploy.Engine.Domain.Environments;

/// <summary>
/// Compares two environments' declared baselines field by field, whatever their tiers: every service version,
/// every configuration hash and every runtime fact that one side declares differently from (or without) the other.
/// Ordered by field path, so the answer reads the same every time.
/// </summary>
/// <example>
/// staging {shop 2.0.0, os-image ubuntu-24.04} vs production {shop 1.9.0, os-image ubuntu-22.04, cart 1.0.0} →
/// runtime.os-image (ubuntu-24.04 / ubuntu-22.04), services.cart.version (null / 1.0.0), services.shop.version (2.0.0 / 1.9.0).
/// </example>
public static class BaselineParity
{
    /// <summary>Expected is <paramref name="a"/>'s value, Actual <paramref name="b"/>'s.</summary>
    public static IReadOnlyList<FieldDifference> Compare(Baseline a, Baseline b)
    {
        var differences = new List<FieldDifference>();
        foreach (var service in a.Services.Keys.Union(b.Services.Keys, StringComparer.Ordinal))
        {
            var left = a.Services.GetValueOrDefault(service);
            var right = b.Services.GetValueOrDefault(service);
            Add(differences, BaselineFields.Version(service), left?.Version, right?.Version);
            Add(differences, BaselineFields.ConfigHash(service), left?.ConfigHash, right?.ConfigHash);
        }

        foreach (var key in a.Runtime.Keys.Union(b.Runtime.Keys, StringComparer.Ordinal))
        {
            Add(differences, BaselineFields.Runtime(key), a.Runtime.GetValueOrDefault(key), b.Runtime.GetValueOrDefault(key));
        }

        return differences.OrderBy(d => d.Field, StringComparer.Ordinal).ToList();
    }

    private static void Add(List<FieldDifference> differences, string field, string? a, string? b)
    {
        if (!string.Equals(a, b, StringComparison.Ordinal))
        {
            differences.Add(new FieldDifference(field, a, b));
        }
    }
}
