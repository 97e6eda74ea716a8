namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Who attaches evidence or grants a waiver: the caller's key name and roles (kept for the audit trail).</summary>
[GenerateSerializer, Immutable]
[Alias("EvidenceActor")]
public sealed record EvidenceActor
{
    [Id(0)] public required string Name { get; init; }

    [Id(1)] public IReadOnlyList<string> Roles { get; init; } = [];
}

/// <summary>What a verified provenance attestation established, recorded when it was verified.</summary>
[GenerateSerializer, Immutable]
[Alias("VerifiedProvenance")]
public sealed record VerifiedProvenance
{
    [Id(0)] public required string Builder { get; init; }

    [Id(1)] public string? SourceRepository { get; init; }

    [Id(2)] public string? Ref { get; init; }

    [Id(3)] public string? Commit { get; init; }

    [Id(4)] public required string KeyId { get; init; }

    [Id(5)] public required string BuildType { get; init; }

    [Id(6)] public DateTimeOffset VerifiedAt { get; init; }
}

/// <summary>An environment's provenance status for a release: the recorded facts, or why attestations were refused.</summary>
[GenerateSerializer, Immutable]
[Alias("EnvironmentProvenance")]
public sealed record EnvironmentProvenance
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public bool Required { get; init; }

    [Id(2)] public VerifiedProvenance? Verified { get; init; }

    [Id(3)] public IReadOnlyList<string> Rejections { get; init; } = [];
}

/// <summary>A release's provenance: how many attestations are held and what each configured environment verified.</summary>
[GenerateSerializer, Immutable]
[Alias("ProvenanceView")]
public sealed record ProvenanceView
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public int Attestations { get; init; }

    [Id(2)] public IReadOnlyList<EnvironmentProvenance> Environments { get; init; } = [];
}

/// <summary>The answer to attaching an attestation: its facts (signature, subject, source) and each environment's verdict.</summary>
[GenerateSerializer, Immutable]
[Alias("AttestationResult")]
public sealed record AttestationResult
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public required VerifiedProvenance Provenance { get; init; }

    [Id(2)] public IReadOnlyList<EnvironmentProvenance> Environments { get; init; } = [];
}

/// <summary>A waiver of one SBOM finding in one environment, until it expires.</summary>
[GenerateSerializer, Immutable]
[Alias("WaiverSnapshot")]
public sealed record WaiverSnapshot
{
    [Id(0)] public required string Finding { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public required string Approver { get; init; }

    [Id(3)] public required string Reason { get; init; }

    [Id(4)] public DateTimeOffset ExpiresAt { get; init; }

    [Id(5)] public DateTimeOffset GrantedAt { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("WaiverDraft")]
public sealed record WaiverDraft
{
    [Id(0)] public required string Finding { get; init; }

    [Id(1)] public required string Environment { get; init; }

    [Id(2)] public required string Reason { get; init; }

    [Id(3)] public DateTimeOffset ExpiresAt { get; init; }

    [Id(4)] public required EvidenceActor Approver { get; init; }
}

/// <summary>One SBOM finding as an environment sees it, with the waiver that covers it (if live).</summary>
[GenerateSerializer, Immutable]
[Alias("SbomFindingView")]
public sealed record SbomFindingView
{
    [Id(0)] public required string Id { get; init; }

    /// <summary>Vulnerability, Licence or NoLicence.</summary>
    [Id(1)] public required string Kind { get; init; }

    [Id(2)] public required string Component { get; init; }

    [Id(3)] public required string Detail { get; init; }

    [Id(4)] public bool Blocking { get; init; }

    [Id(5)] public WaiverSnapshot? WaivedBy { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("EnvironmentSbomFindings")]
public sealed record EnvironmentSbomFindings
{
    [Id(0)] public required string Environment { get; init; }

    [Id(1)] public bool Passed { get; init; }

    [Id(2)] public required string Reason { get; init; }

    [Id(3)] public IReadOnlyList<SbomFindingView> Findings { get; init; } = [];
}

/// <summary>A release's SBOM as the configured environments judge it now.</summary>
[GenerateSerializer, Immutable]
[Alias("SbomFindingsView")]
public sealed record SbomFindingsView
{
    [Id(0)] public required string ReleaseId { get; init; }

    [Id(1)] public bool HasSbom { get; init; }

    [Id(2)] public int Components { get; init; }

    [Id(3)] public int Vulnerabilities { get; init; }

    [Id(4)] public IReadOnlyList<EnvironmentSbomFindings> Environments { get; init; } = [];

    [Id(5)] public IReadOnlyList<WaiverSnapshot> Waivers { get; init; } = [];
}

/// <summary>Whether a release may enter an environment as far as its supply chain goes, and if not, why.</summary>
[GenerateSerializer, Immutable]
[Alias("SupplyChainCheck")]
public sealed record SupplyChainCheck
{
    [Id(0)] public bool Passed { get; init; }

    [Id(1)] public required string Reason { get; init; }
}

/// <summary>
/// The supply-chain evidence of one release: provenance attestations (verified per environment, the facts recorded
/// when verified), its CycloneDX SBOM, and waivers of SBOM findings. Key: the release id.
/// </summary>
[Alias("IReleaseEvidenceGrain")]
public interface IReleaseEvidenceGrain : IGrainWithStringKey
{
    /// <summary>Verifies and keeps a DSSE envelope; a failure of signature, subject or source is refused and not kept.</summary>
    [Alias("AttachAttestation")]
    Task<CommandResult<AttestationResult>> AttachAttestation(string envelopeJson, EvidenceActor actor);

    /// <summary>Keeps (replaces) the release's CycloneDX JSON SBOM.</summary>
    [Alias("AttachSbom")]
    Task<CommandResult<SbomFindingsView>> AttachSbom(string sbomJson, EvidenceActor actor);

    [Alias("GrantWaiver")]
    Task<CommandResult<WaiverSnapshot>> GrantWaiver(WaiverDraft draft);

    [Alias("GetProvenance")]
    Task<ProvenanceView?> GetProvenance();

    /// <summary>The DSSE envelope attached last, as attached (null when none): what a host's agent verifies against its trusted keys.</summary>
    [Alias("GetLatestEnvelope")]
    Task<string?> GetLatestEnvelope();

    [Alias("GetSbomFindings")]
    Task<SbomFindingsView?> GetSbomFindings();

    /// <summary>What the supply-chain gate asks: may this release enter the environment now?</summary>
    [Alias("Check")]
    Task<SupplyChainCheck> Check(string environment);
}
