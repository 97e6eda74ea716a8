namespace Deploy.Engine.Domain.Environments;

/// <summary>
/// Compares what a host reports it runs with what its environment declares. The rules:
/// <list type="bullet">
/// <item>a reported service that the baseline declares: its version differs, or its configuration hash differs
/// from a declared one (a hash the agent did not report counts as different);</item>
/// <item>a reported service that the baseline does not declare is drift (expected: null), with its configuration hash if reported;</item>
/// <item>every declared runtime fact must be reported with the same value (missing counts as different);
/// runtime facts the baseline does not declare are ignored (agents report more than anyone declares);</item>
/// <item>a declared service that the host does not report is not drift: hosts of an environment run a subset of its services.</item>
/// </list>
/// </summary>
/// <example>
/// declared {shop 2.0.0 cfg sha256:aa…, os-image ubuntu-24.04}, reported {shop 2.0.1 cfg sha256:aa…, os-image ubuntu-24.04,
/// kernel 6.8} → [services.shop.version: 2.0.0 / 2.0.1].
/// </example>
public static class DriftComparer
{
    public static IReadOnlyList<FieldDifference> Compare(Baseline declared, HostFacts actual)
    {
        var drift = new List<FieldDifference>();
        foreach (var (service, facts) in actual.Services)
        {
            if (!declared.Services.TryGetValue(service, out var expected))
            {
                drift.Add(new FieldDifference(BaselineFields.Version(service), null, facts.Version));
                if (facts.ConfigHash is not null)
                {
                    drift.Add(new FieldDifference(BaselineFields.ConfigHash(service), null, facts.ConfigHash));
                }

                continue;
            }

            if (!string.Equals(expected.Version, facts.Version, StringComparison.Ordinal))
            {
                drift.Add(new FieldDifference(BaselineFields.Version(service), expected.Version, facts.Version));
            }

            if (expected.ConfigHash is not null && !string.Equals(expected.ConfigHash, facts.ConfigHash, StringComparison.Ordinal))
            {
                drift.Add(new FieldDifference(BaselineFields.ConfigHash(service), expected.ConfigHash, facts.ConfigHash));
            }
        }

        foreach (var (key, value) in declared.Runtime)
        {
            var reported = actual.Runtime.GetValueOrDefault(key);
            if (!string.Equals(value, reported, StringComparison.Ordinal))
            {
                drift.Add(new FieldDifference(BaselineFields.Runtime(key), value, reported));
            }
        }

        return drift.OrderBy(d => d.Field, StringComparer.Ordinal).ToList();
    }
}
