namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>A vulnerability the operator knows about (from a scanner or an advisory), for components named by purl.</summary>
public sealed record KnownVulnerability(string Id, Severity Severity, string AffectsPurl);

/// <summary>
/// What one environment requires of a release's dependencies. <see cref="MinimumBlockedSeverity"/> null = no
/// vulnerability check; <see cref="AllowedLicenses"/> null = no licence check.
/// </summary>
public sealed record SbomPolicy
{
    public Severity? MinimumBlockedSeverity { get; init; }

    public IReadOnlySet<string>? AllowedLicenses { get; init; }

    /// <summary>Whether a component that declares no licence is a finding (when licences are checked at all).</summary>
    public bool RequireLicence { get; init; } = true;

    /// <summary>Whether a licence given only by name (no SPDX id) is a finding (it cannot be matched to the allow-list).</summary>
    public bool BlockUnidentifiedLicences { get; init; } = true;

    public IReadOnlyList<KnownVulnerability> KnownVulnerabilities { get; init; } = [];
}

public enum FindingKind
{
    Vulnerability,
    Licence,
    NoLicence,
}

/// <summary>
/// One policy finding. Its id is stable across evaluations so a waiver can name it:
/// <c>vuln:{vulnerability id}@{component}</c>, <c>licence:{licence}@{component}</c> or <c>no-licence@{component}</c>,
/// where the component is its purl (else name@version).
/// </summary>
public sealed record SbomFinding(string Id, FindingKind Kind, string Component, string Detail);

/// <summary>A waiver of exactly one finding in one environment, by an approver, until it expires.</summary>
public sealed record Waiver(string FindingId, string Environment, string Approver, string Reason, DateTimeOffset ExpiresAt)
{
    public bool ActiveAt(DateTimeOffset now) => now < ExpiresAt;
}

/// <summary>A finding and, when a live waiver covers it, that waiver.</summary>
public sealed record EvaluatedFinding(SbomFinding Finding, Waiver? WaivedBy)
{
    public bool Blocking => WaivedBy is null;
}

public static class SbomFindingIds
{
    public static string Vulnerability(string id, string component) => $"vuln:{id}@{component}";

    public static string Licence(string licence, string component) => $"licence:{licence}@{component}";

    public static string NoLicence(string component) => $"no-licence@{component}";
}

/// <summary>
/// Applies an environment's SBOM policy: vulnerabilities at or above the blocked severity (from the SBOM, unless its
/// VEX analysis says not_affected, false_positive, resolved or resolved_with_pedigree; and from the operator's list,
/// matched by purl), licences outside the allow-list, and components without a licence. Each finding is waived by a
/// waiver for exactly its id and this environment that has not expired at <c>now</c>.
/// </summary>
public static class SbomEvaluator
{
    private static readonly HashSet<string> VexResolved = new(StringComparer.Ordinal)
    {
        "not_affected", "false_positive", "resolved", "resolved_with_pedigree",
    };

    public static IReadOnlyList<EvaluatedFinding> Evaluate(
        CycloneDxBom bom, SbomPolicy policy, string environment, IReadOnlyList<Waiver> waivers, DateTimeOffset now)
    {
        var findings = Findings(bom, policy);
        return findings
            .Select(f => new EvaluatedFinding(f, waivers
                .Where(w => w.FindingId == f.Id && w.Environment == environment && w.ActiveAt(now))
                .OrderByDescending(w => w.ExpiresAt)
                .FirstOrDefault()))
            .ToList();
    }

    public static IReadOnlyList<SbomFinding> Findings(CycloneDxBom bom, SbomPolicy policy)
    {
        var findings = new List<SbomFinding>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(SbomFinding f)
        {
            if (seen.Add(f.Id))
            {
                findings.Add(f);
            }
        }

        var byRef = bom.Components.GroupBy(c => c.BomRef, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (policy.MinimumBlockedSeverity is { } minimum)
        {
            foreach (var v in bom.Vulnerabilities)
            {
                if (v.Severity == Severity.Unknown || v.Severity < minimum || (v.AnalysisState is { } state && VexResolved.Contains(state)))
                {
                    continue;
                }

                foreach (var reference in v.Affects)
                {
                    var component = byRef.TryGetValue(reference, out var c) ? c.Key : reference;
                    Add(new SbomFinding(SbomFindingIds.Vulnerability(v.Id, component), FindingKind.Vulnerability, component,
                        $"{v.Id} ({Severities.Name(v.Severity)}) affects {component}"));
                }
            }

            foreach (var known in policy.KnownVulnerabilities.Where(k => k.Severity != Severity.Unknown && k.Severity >= minimum))
            {
                foreach (var c in bom.Components.Where(c => c.Purl is not null && PurlMatches(known.AffectsPurl, c.Purl)))
                {
                    Add(new SbomFinding(SbomFindingIds.Vulnerability(known.Id, c.Key), FindingKind.Vulnerability, c.Key,
                        $"{known.Id} ({Severities.Name(known.Severity)}, from the operator's list) affects {c.Key}"));
                }
            }
        }

        if (policy.AllowedLicenses is { } allowed)
        {
            foreach (var c in bom.Components)
            {
                foreach (var finding in LicenceFindings(c, allowed, policy))
                {
                    Add(finding);
                }
            }
        }

        return findings;
    }

    /// <summary>
    /// An operator's purl matches a component's when equal ignoring qualifiers (?...) and subpath (#...), or when it
    /// names no version ("pkg:npm/lodash" matches every lodash).
    /// </summary>
    public static bool PurlMatches(string pattern, string purl)
    {
        static string Core(string p)
        {
            var cut = p.IndexOfAny(['?', '#']);
            return (cut >= 0 ? p[..cut] : p).ToLowerInvariant();
        }

        var a = Core(pattern);
        var b = Core(purl);
        return a == b || (!a.Contains('@', StringComparison.Ordinal) && b.StartsWith(a + "@", StringComparison.Ordinal));
    }

    private static IEnumerable<SbomFinding> LicenceFindings(BomComponent c, IReadOnlySet<string> allowed, SbomPolicy policy)
    {
        if (!c.Licences.Declared)
        {
            if (policy.RequireLicence)
            {
                yield return new SbomFinding(SbomFindingIds.NoLicence(c.Key), FindingKind.NoLicence, c.Key, $"{c.Key}: no licence declared");
            }

            yield break;
        }

        foreach (var id in c.Licences.Ids.Where(id => !allowed.Contains(id)))
        {
            yield return new SbomFinding(SbomFindingIds.Licence(id, c.Key), FindingKind.Licence, c.Key, $"{c.Key}: licence {id} is not on the allow-list");
        }

        if (policy.BlockUnidentifiedLicences)
        {
            foreach (var name in c.Licences.Names.Where(n => !allowed.Contains(n)))
            {
                yield return new SbomFinding(SbomFindingIds.Licence(name, c.Key), FindingKind.Licence, c.Key,
                    $"{c.Key}: licence '{name}' has no SPDX id and is not on the allow-list");
            }
        }

        if (c.Licences.Expression is { } text)
        {
            if (!SpdxExpression.TryParse(text, out var expression, out var error))
            {
                yield return new SbomFinding(SbomFindingIds.Licence(text, c.Key), FindingKind.Licence, c.Key,
                    $"{c.Key}: licence expression '{text}' is not valid SPDX ({error})");
            }
            else
            {
                var blocking = new List<string>();
                if (!expression!.IsAllowed(allowed, blocking))
                {
                    yield return new SbomFinding(SbomFindingIds.Licence(text, c.Key), FindingKind.Licence, c.Key,
                        $"{c.Key}: licence expression '{text}' is not allowed ({string.Join(", ", blocking.Distinct(StringComparer.OrdinalIgnoreCase))} not on the allow-list)");
                }
            }
        }
    }
}
