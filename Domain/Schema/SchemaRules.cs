namespace Deploy.Engine.Domain.Schema;

/// <summary>Expand/contract: expand adds the new schema beside the old, migrate moves data, contract drops the old.</summary>
public enum SchemaPhase
{
    Expand,
    Migrate,
    Contract,
}

/// <summary>
/// What a release declares about its database schema: its phase, the schema version it needs (<paramref name="Requires"/>),
/// and for a contract the old version whose support it removes (<paramref name="Drops"/>). Versions are whole numbers that
/// only grow. <c>{phase: contract, requires: 3, drops: 2}</c>: needs v3, removes what only v2 and older used.
/// </summary>
public sealed record SchemaDeclaration(SchemaPhase Phase, int Requires, int? Drops = null);

/// <summary>A version of the service that runs somewhere: where (environment, or environment/host), and the schema it needs (null: undeclared).</summary>
public sealed record RunningVersion(string Where, string Version, int? Requires);

/// <summary>
/// The expand/contract rules. A contract release is refused while any environment or host runs a version of the service
/// that needs the old schema (<c>requires ≤ drops</c>, or a version that declared no schema: its needs are unknown, so
/// it counts as needing the old one). A contract whose new schema was not already in place where it goes (the release
/// there does not yet require <c>requires</c>: no expand came first) is a breaking change and needs the major class.
/// <para>Examples (contract {requires 3, drops 2}): production runs 2.4.0 (requires 2) → refused, "production runs
/// 2.4.0, which needs schema v2"; every environment runs requires-3 releases and the target ran an expand to v3 → allowed;
/// the target still runs requires 2 (no expand) → needs the major class.</para>
/// </summary>
public static class SchemaRules
{
    public const int MaxVersion = 1_000_000;

    /// <summary>The declaration's own consistency: phase known, versions 1..<see cref="MaxVersion"/>, drops only on a contract and below requires.</summary>
    public static IReadOnlyList<(string Field, string Message)> Validate(string? phase, int? requires, int? drops)
    {
        var errors = new List<(string, string)>();
        var parsed = Phase(phase);
        if (parsed is null) errors.Add(("phase", "is required: expand, migrate or contract"));
        if (requires is null or < 1 or > MaxVersion) errors.Add(("requires", $"is required: the schema version the release needs (1 to {MaxVersion})"));
        if (parsed == SchemaPhase.Contract && drops is null) errors.Add(("drops", "is required for a contract: the old schema version whose support it removes"));
        if (parsed is SchemaPhase.Expand or SchemaPhase.Migrate && drops is not null) errors.Add(("drops", "only a contract drops a schema version"));
        if (drops is < 1 || drops >= requires) errors.Add(("drops", "must be an older version than requires"));
        return errors;
    }

    public static SchemaPhase? Phase(string? text) => text?.ToLowerInvariant() switch
    {
        "expand" => SchemaPhase.Expand,
        "migrate" => SchemaPhase.Migrate,
        "contract" => SchemaPhase.Contract,
        _ => null,
    };

    /// <summary>What still needs the schema a contract drops: one reason per place, empty when the contract may go.</summary>
    public static IReadOnlyList<string> ContractBlockers(SchemaDeclaration release, IEnumerable<RunningVersion> running)
    {
        if (release.Phase != SchemaPhase.Contract || release.Drops is not { } drops)
        {
            return [];
        }

        return running
            .Where(r => r.Requires is null || r.Requires <= drops)
            .Select(r => r.Requires is { } needs
                ? $"{r.Where} runs {r.Version}, which needs schema v{needs} (the contract drops v{drops})"
                : $"{r.Where} runs {r.Version}, which declares no schema (it may need v{drops}, which the contract drops)")
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// A contract is a breaking change unless its schema was expanded first where it goes (the release running there
    /// already requires at least <c>requires</c>); a breaking change needs the major class. Null when the class suffices.
    /// </summary>
    public static string? BreakingWithoutExpand(SchemaDeclaration release, int? targetRequires, string releaseClass)
    {
        if (release.Phase != SchemaPhase.Contract || targetRequires >= release.Requires
            || string.Equals(releaseClass, "major", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var now = targetRequires is { } v ? $"schema v{v}" : "no declared schema";
        return $"contract to schema v{release.Requires} without a preceding expand (the environment runs {now}): a breaking change needs the major release class";
    }
}
