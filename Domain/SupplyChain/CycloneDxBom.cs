using System.Text.Json;

namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>CycloneDX severities, in order; a policy blocks at or above one.</summary>
public enum Severity
{
    None = 0,
    Info = 1,
    Low = 2,
    Medium = 3,
    High = 4,
    Critical = 5,

    /// <summary>A rating the SBOM calls "unknown" (or none given): never blocks by severity alone.</summary>
    Unknown = -1,
}

public static class Severities
{
    public static bool TryParse(string? text, out Severity severity)
    {
        severity = text?.Trim().ToLowerInvariant() switch
        {
            "critical" => Severity.Critical,
            "high" => Severity.High,
            "medium" or "moderate" => Severity.Medium,
            "low" => Severity.Low,
            "info" => Severity.Info,
            "none" => Severity.None,
            "unknown" => Severity.Unknown,
            _ => (Severity)(-2),
        };
        return (int)severity != -2;
    }

    public static string Name(Severity severity) => severity.ToString().ToLowerInvariant();
}

/// <summary>
/// A component's licences: the SPDX ids or names listed (each one applies: all must be allowed), or one SPDX expression.
/// </summary>
public sealed record ComponentLicences(IReadOnlyList<string> Ids, IReadOnlyList<string> Names, string? Expression)
{
    public static readonly ComponentLicences None = new([], [], null);

    public bool Declared => Ids.Count > 0 || Names.Count > 0 || Expression is not null;
}

public sealed record BomComponent(string BomRef, string Name, string? Version, string? Purl, ComponentLicences Licences)
{
    /// <summary>How findings name the component: its purl, else name@version.</summary>
    public string Key => Purl ?? (Version is null ? Name : $"{Name}@{Version}");
}

/// <summary>A vulnerability affecting components (by bom-ref), its highest rated severity, and its VEX state if any.</summary>
public sealed record BomVulnerability(string Id, Severity Severity, IReadOnlyList<string> Affects, string? AnalysisState);

public sealed record CycloneDxBom(string SpecVersion, IReadOnlyList<BomComponent> Components, IReadOnlyList<BomVulnerability> Vulnerabilities);

/// <summary>Parses the subset of CycloneDX 1.4-1.6 JSON the policy reads, with strict size bounds; never throws.</summary>
public static class CycloneDxParser
{
    public const int MaxChars = 4 * 1024 * 1024;

    public const int MaxComponents = 20_000;

    public const int MaxVulnerabilities = 20_000;

    public static bool TryParse(string? json, out CycloneDxBom? bom, out string field, out string error) =>
        BoundedJson.TryParse<CycloneDxBom>(json, MaxChars, 64, "sbom", TryParse, out bom, out field, out error);

    public static bool TryParse(JsonElement root, out CycloneDxBom? bom, out string field, out string error)
    {
        bom = null;
        field = "sbom";
        error = string.Empty;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "must be a CycloneDX JSON object";
            return false;
        }

        if (Str(root, "bomFormat") != "CycloneDX")
        {
            (field, error) = ("bomFormat", "must be \"CycloneDX\"");
            return false;
        }

        var spec = Str(root, "specVersion");
        if (spec is not ("1.4" or "1.5" or "1.6" or "1.7"))
        {
            (field, error) = ("specVersion", "must be 1.4, 1.5, 1.6 or 1.7");
            return false;
        }

        var components = new List<BomComponent>();
        if (root.TryGetProperty("components", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                (field, error) = ("components", "must be an array");
                return false;
            }

            if (!AddComponents(list, components, "components", 0, out field, out error))
            {
                return false;
            }
        }

        var vulnerabilities = new List<BomVulnerability>();
        if (root.TryGetProperty("vulnerabilities", out var vulns) && vulns.ValueKind != JsonValueKind.Null)
        {
            if (vulns.ValueKind != JsonValueKind.Array || vulns.GetArrayLength() > MaxVulnerabilities)
            {
                (field, error) = ("vulnerabilities", $"must be an array of at most {MaxVulnerabilities}");
                return false;
            }

            var i = 0;
            foreach (var v in vulns.EnumerateArray())
            {
                var at = $"vulnerabilities[{i++}]";
                if (v.ValueKind != JsonValueKind.Object || Str(v, "id") is not { Length: > 0 and <= 256 } id)
                {
                    (field, error) = (at + ".id", "is required (1-256 characters)");
                    return false;
                }

                var severity = Severity.Unknown;
                if (v.TryGetProperty("ratings", out var ratings) && ratings.ValueKind == JsonValueKind.Array)
                {
                    foreach (var r in ratings.EnumerateArray())
                    {
                        if (r.ValueKind == JsonValueKind.Object && Severities.TryParse(Str(r, "severity"), out var s) && s > severity)
                        {
                            severity = s;
                        }
                    }
                }

                var affects = new List<string>();
                if (v.TryGetProperty("affects", out var aff) && aff.ValueKind == JsonValueKind.Array)
                {
                    foreach (var a in aff.EnumerateArray())
                    {
                        if (a.ValueKind == JsonValueKind.Object && Str(a, "ref") is { Length: > 0 } reference)
                        {
                            affects.Add(reference);
                        }
                    }
                }

                var state = v.TryGetProperty("analysis", out var analysis) && analysis.ValueKind == JsonValueKind.Object
                    ? Str(analysis, "state")
                    : null;
                vulnerabilities.Add(new BomVulnerability(id, severity, affects, state));
            }
        }

        bom = new CycloneDxBom(spec, components, vulnerabilities);
        return true;
    }

    /// <summary>Components, including nested ones (components[].components), flattened.</summary>
    private static bool AddComponents(JsonElement list, List<BomComponent> into, string path, int depth, out string field, out string error)
    {
        (field, error) = (path, string.Empty);
        var i = 0;
        foreach (var c in list.EnumerateArray())
        {
            var at = $"{path}[{i++}]";
            if (into.Count >= MaxComponents)
            {
                (field, error) = ("components", $"has more than {MaxComponents} components");
                return false;
            }

            if (c.ValueKind != JsonValueKind.Object || Str(c, "name") is not { Length: > 0 and <= 512 } name)
            {
                (field, error) = (at + ".name", "is required (1-512 characters)");
                return false;
            }

            var version = Str(c, "version");
            var purl = Str(c, "purl");
            var bomRef = Str(c, "bom-ref") ?? purl ?? (version is null ? name : $"{name}@{version}");
            into.Add(new BomComponent(bomRef, name, version, purl, Licences(c)));
            if (depth < 8 && c.TryGetProperty("components", out var nested) && nested.ValueKind == JsonValueKind.Array
                && !AddComponents(nested, into, at + ".components", depth + 1, out field, out error))
            {
                return false;
            }
        }

        return true;
    }

    private static ComponentLicences Licences(JsonElement component)
    {
        if (!component.TryGetProperty("licenses", out var licences) || licences.ValueKind != JsonValueKind.Array)
        {
            return ComponentLicences.None;
        }

        var ids = new List<string>();
        var names = new List<string>();
        string? expression = null;
        foreach (var entry in licences.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (Str(entry, "expression") is { Length: > 0 } e)
            {
                expression = expression is null ? e : $"({expression}) AND ({e})";
            }
            else if (entry.TryGetProperty("license", out var l) && l.ValueKind == JsonValueKind.Object)
            {
                if (Str(l, "id") is { Length: > 0 } id) ids.Add(id);
                else if (Str(l, "name") is { Length: > 0 } n) names.Add(n);
            }
        }

        return new ComponentLicences(ids, names, expression);
    }

    private static string? Str(JsonElement e, string name) => BoundedJson.Str(e, name);
}
