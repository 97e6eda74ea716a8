namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>What one environment requires of a release's supply chain.</summary>
public sealed record EnvironmentSupplyChainPolicy
{
    public bool RequireProvenance { get; init; }

    public bool RequireSbom { get; init; }

    public SbomPolicy Sbom { get; init; } = new();

    public bool ChecksSbom => RequireSbom || Sbom.MinimumBlockedSeverity is not null || Sbom.AllowedLicenses is not null;
}

/// <summary>The evidence one release carries for one environment, as recorded.</summary>
public sealed record SupplyChainEvidence
{
    public required string ReleaseId { get; init; }

    /// <summary>The facts of the attestation verified for this environment, as recorded when it was verified.</summary>
    public ProvenanceFacts? Provenance { get; init; }

    /// <summary>Why attached attestations were refused for this environment (latest first), when none verified.</summary>
    public IReadOnlyList<string> ProvenanceRejections { get; init; } = [];

    public CycloneDxBom? Sbom { get; init; }

    public IReadOnlyList<Waiver> Waivers { get; init; } = [];
}

/// <summary>The answer for one environment: pass, or every reason it is refused (each says what to do).</summary>
public sealed record SupplyChainVerdict(bool Passed, IReadOnlyList<string> Reasons, IReadOnlyList<EvaluatedFinding> Findings)
{
    public string Reason => Passed ? "supply chain checks passed" : string.Join("; ", Reasons);
}

/// <summary>
/// Decides whether a release may enter an environment. Provenance is decided by the recorded verification for that
/// environment (a verification is a fact about the past: rotating or revoking the key later does not undo it).
/// </summary>
public static class SupplyChainDecision
{
    /// <summary>How many blocking findings a reason names before it says "and N more".</summary>
    public const int MaxNamedFindings = 10;

    /// <summary>
    /// The recorded facts win over a fresh verification: a release verified before a key rotation keeps its facts;
    /// a fresh verification (against today's keys) is asked for only when none is recorded.
    /// </summary>
    public static ProvenanceFacts? ResolveProvenance(ProvenanceFacts? recorded, Func<ProvenanceFacts?> verifyNow) =>
        recorded ?? verifyNow();

    public static SupplyChainVerdict Decide(string environment, EnvironmentSupplyChainPolicy policy, SupplyChainEvidence evidence, DateTimeOffset now)
    {
        var reasons = new List<string>();
        if (policy.RequireProvenance && evidence.Provenance is null)
        {
            var why = evidence.ProvenanceRejections.Count == 0
                ? "none is attached"
                : "attached attestations were refused: " + string.Join("; ", evidence.ProvenanceRejections.Take(3));
            reasons.Add($"release '{evidence.ReleaseId}' has no verified provenance attestation for environment '{environment}', which requires one ({why}); "
                + $"attach a DSSE-signed SLSA v1 provenance with POST /v1/releases/{evidence.ReleaseId}/attestations");
        }

        IReadOnlyList<EvaluatedFinding> findings = [];
        if (evidence.Sbom is null)
        {
            if (policy.RequireSbom)
            {
                reasons.Add($"release '{evidence.ReleaseId}' has no SBOM, which environment '{environment}' requires; "
                    + $"attach a CycloneDX JSON SBOM with POST /v1/releases/{evidence.ReleaseId}/sbom");
            }
        }
        else
        {
            findings = SbomEvaluator.Evaluate(evidence.Sbom, policy.Sbom, environment, evidence.Waivers, now);
            var blocking = findings.Where(f => f.Blocking).ToList();
            if (blocking.Count > 0)
            {
                var named = string.Join("; ", blocking.Take(MaxNamedFindings).Select(f => $"{f.Finding.Detail} [finding {f.Finding.Id}]"));
                var more = blocking.Count > MaxNamedFindings ? $" and {blocking.Count - MaxNamedFindings} more" : string.Empty;
                reasons.Add($"{blocking.Count} SBOM finding(s) block environment '{environment}': {named}{more}; "
                    + $"fix the components or have an approver waive each finding with POST /v1/releases/{evidence.ReleaseId}/waivers");
            }
        }

        return new SupplyChainVerdict(reasons.Count == 0, reasons, findings);
    }
}
