namespace Deploy.Engine.Domain.Environments;

public enum DataClass
{
    Synthetic = 0,
    Anonymised = 1,
    Production = 2,
}

/// <summary>A data source some environment declares, and who declared it.</summary>
public sealed record DeclaredDataSource(string Name, DataClass Classification, string DeclaredBy);

/// <summary>
/// Isolation: a non-production environment uses synthetic or anonymised data only. A release that names, for a
/// non-production target, a data source classified production (wherever declared) is refused; so is a data source
/// no environment declares (nobody can vouch for its classification). Production targets are not restricted here.
/// </summary>
/// <example>
/// staging (anonymised) and a release naming [orders-prod] where production declares orders-prod as production →
/// "release rel-1 points non-production environment 'staging' (anonymised data) at data source 'orders-prod',
/// classified production (declared by 'production'); use a synthetic or anonymised source".
/// </example>
public static class IsolationRules
{
    public static IReadOnlyList<string> Violations(
        string releaseId, string target, bool targetIsProduction, DataClass targetData,
        IReadOnlyList<string> releaseSources, IReadOnlyDictionary<string, DeclaredDataSource> catalogue)
    {
        if (targetIsProduction)
        {
            return [];
        }

        var violations = new List<string>();
        foreach (var name in releaseSources)
        {
            if (!catalogue.TryGetValue(name, out var source))
            {
                violations.Add($"release {releaseId} names data source '{name}' for '{target}', which no environment declares; declare it with its classification");
            }
            else if (source.Classification == DataClass.Production)
            {
                violations.Add($"release {releaseId} points non-production environment '{target}' ({Word(targetData)} data) at data source '{name}', " +
                    $"classified production (declared by '{source.DeclaredBy}'); use a synthetic or anonymised source");
            }
        }

        return violations;
    }

    public static string Word(DataClass data) => data switch
    {
        DataClass.Synthetic => "synthetic",
        DataClass.Anonymised => "anonymised",
        _ => "production",
    };
}
