using Deploy.Engine.Domain.Artifacts;

namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>The source a service declares: only builds of this repository (and ref, when given) may reach a protected environment.</summary>
public sealed record DeclaredSource(string Repository, string? Ref);

/// <summary>
/// What one environment requires of a provenance attestation: the builders (and their keys) the engine trusts, the
/// builders allowed in this environment (empty = every trusted builder), and the service's declared source (null = any).
/// </summary>
public sealed record ProvenancePolicy
{
    public required string Environment { get; init; }

    public required IReadOnlyList<TrustedBuilder> TrustedBuilders { get; init; }

    public IReadOnlyList<string> AllowedBuilders { get; init; } = [];

    public string? Service { get; init; }

    public DeclaredSource? DeclaredSource { get; init; }

    /// <summary>Whether a service without a declared source fails (protected environments): its source cannot be checked.</summary>
    public bool RequireDeclaredSource { get; init; }
}

/// <summary>The facts a verified attestation establishes, recorded with when and by which key.</summary>
public sealed record ProvenanceFacts(
    string Builder,
    string? SourceRepository,
    string? Ref,
    string? Commit,
    string KeyId,
    string BuildType,
    DateTimeOffset VerifiedAt);

/// <summary>Which check refused an attestation; each has its own reason text.</summary>
public enum ProvenanceFailure
{
    None,
    MalformedEnvelope,
    WrongPayloadType,
    UntrustedSignature,
    MalformedStatement,
    SubjectDigestMismatch,
    BuilderMismatch,
    BuilderNotAllowed,
    SourceMismatch,
}

public sealed record ProvenanceResult(ProvenanceFacts? Facts, ProvenanceFailure Failure, string Reason)
{
    public bool Verified => Facts is not null;

    public static ProvenanceResult Ok(ProvenanceFacts facts) => new(facts, ProvenanceFailure.None, "verified");

    public static ProvenanceResult Fail(ProvenanceFailure failure, string reason) => new(null, failure, reason);
}

/// <summary>
/// Verifies a DSSE-signed SLSA provenance for one release in one environment, in this order, stopping at the first
/// failure: the envelope parses; its payloadType is the in-toto type; a signature verifies over
/// PAE(payloadType, payload) against a key of a trusted builder valid at <c>now</c>; the payload is an in-toto
/// Statement v1 with a SLSA v1 predicate; a subject's sha256 is the release's artifact; the statement's builder.id is
/// the builder whose key signed it and is allowed in the environment; the source repository and ref are the
/// service's declared source. The payload is read only after its signature verified.
/// </summary>
public static class ProvenanceVerifier
{
    public static ProvenanceResult Verify(string envelopeJson, string artifactDigest, ProvenancePolicy policy, DateTimeOffset now) =>
        Dsse.TryParse(envelopeJson, out var envelope, out var field, out var error)
            ? Verify(envelope!, artifactDigest, policy, now)
            : ProvenanceResult.Fail(ProvenanceFailure.MalformedEnvelope, $"malformed DSSE envelope: {field} {error}");

    public static ProvenanceResult Verify(DsseEnvelope envelope, string artifactDigest, ProvenancePolicy policy, DateTimeOffset now)
    {
        if (envelope.PayloadType != Dsse.InTotoPayloadType)
        {
            return ProvenanceResult.Fail(ProvenanceFailure.WrongPayloadType,
                $"payloadType is '{envelope.PayloadType}', expected '{Dsse.InTotoPayloadType}'");
        }

        var (signer, key, signatureError) = FindSigner(envelope, policy, now);
        if (signer is null)
        {
            return ProvenanceResult.Fail(ProvenanceFailure.UntrustedSignature, signatureError);
        }

        if (!ProvenanceStatementParser.TryParse(envelope.Payload, out var statement, out var statementError))
        {
            return ProvenanceResult.Fail(ProvenanceFailure.MalformedStatement, "the signed statement is not SLSA v1 provenance: " + statementError);
        }

        var expected = artifactDigest.StartsWith(ArtifactDigest.Prefix, StringComparison.Ordinal)
            ? artifactDigest[ArtifactDigest.Prefix.Length..]
            : artifactDigest;
        if (!statement!.Subjects.Any(s => string.Equals(s.Sha256, expected, StringComparison.OrdinalIgnoreCase)))
        {
            var subjects = statement.Subjects.Count == 0
                ? "none with a sha256 digest"
                : string.Join(", ", statement.Subjects.Take(5).Select(s => $"{(s.Name.Length == 0 ? "(unnamed)" : s.Name)} sha256:{s.Sha256}"))
                  + (statement.Subjects.Count > 5 ? $" and {statement.Subjects.Count - 5} more" : string.Empty);
            return ProvenanceResult.Fail(ProvenanceFailure.SubjectDigestMismatch,
                $"no subject has digest sha256:{expected} (the release's artifact); subjects: {subjects}");
        }

        if (!string.Equals(statement.BuilderId, signer.Id, StringComparison.Ordinal))
        {
            return ProvenanceResult.Fail(ProvenanceFailure.BuilderMismatch,
                $"the statement names builder '{statement.BuilderId}' but is signed by key '{key!.KeyId}' of builder '{signer.Id}'");
        }

        if (policy.AllowedBuilders.Count > 0 && !policy.AllowedBuilders.Contains(statement.BuilderId, StringComparer.Ordinal))
        {
            return ProvenanceResult.Fail(ProvenanceFailure.BuilderNotAllowed,
                $"builder '{statement.BuilderId}' is not allowed in environment '{policy.Environment}' (allowed: {string.Join(", ", policy.AllowedBuilders)})");
        }

        if (policy.DeclaredSource is null && policy.RequireDeclaredSource)
        {
            var who = policy.Service ?? "the service";
            return ProvenanceResult.Fail(ProvenanceFailure.SourceMismatch,
                $"service '{who}' declares no source (SupplyChain:Services:{who}:Repository), so the provenance's source cannot be checked for environment '{policy.Environment}'");
        }

        if (policy.DeclaredSource is { } declared)
        {
            var service = policy.Service is null ? "the service" : $"service '{policy.Service}'";
            if (statement.SourceRepository is null)
            {
                return ProvenanceResult.Fail(ProvenanceFailure.SourceMismatch,
                    $"the provenance names no source repository (externalParameters.workflow.repository or source.repository); {service} declares '{declared.Repository}'");
            }

            if (SourceNames.Normalize(statement.SourceRepository) != SourceNames.Normalize(declared.Repository))
            {
                return ProvenanceResult.Fail(ProvenanceFailure.SourceMismatch,
                    $"source repository '{statement.SourceRepository}' is not {service}'s declared source '{declared.Repository}'");
            }

            if (declared.Ref is { Length: > 0 } declaredRef && (statement.SourceRef is null || !SourceNames.SameRef(declaredRef, statement.SourceRef)))
            {
                return ProvenanceResult.Fail(ProvenanceFailure.SourceMismatch,
                    $"source ref '{statement.SourceRef ?? "(none)"}' is not {service}'s declared ref '{declaredRef}'");
            }
        }

        return ProvenanceResult.Ok(new ProvenanceFacts(
            statement.BuilderId, statement.SourceRepository, statement.SourceRef, statement.Commit, key!.KeyId, statement.BuildType, now));
    }

    /// <summary>
    /// The first signature that verifies against a usable trusted key. A signature that names a keyid is checked only
    /// against that key; one without a keyid against every usable key. When none verifies, the reason lists why each
    /// signature failed.
    /// </summary>
    private static (TrustedBuilder? Builder, TrustedKey? Key, string Error) FindSigner(DsseEnvelope envelope, ProvenancePolicy policy, DateTimeOffset now)
    {
        var pae = Dsse.Pae(envelope.PayloadType, envelope.Payload);
        var reasons = new List<string>();
        foreach (var signature in envelope.Signatures)
        {
            if (signature.KeyId.Length > 0)
            {
                var named = policy.TrustedBuilders.SelectMany(b => b.Keys.Select(k => (Builder: b, Key: k)))
                    .Where(x => string.Equals(x.Key.KeyId, signature.KeyId, StringComparison.Ordinal)).ToList();
                if (named.Count == 0)
                {
                    reasons.Add($"keyid '{signature.KeyId}' is not trusted");
                    continue;
                }

                foreach (var (builder, key) in named)
                {
                    if (key.UnusableAt(now) is { } unusable)
                    {
                        reasons.Add($"{unusable} (builder '{builder.Id}')");
                    }
                    else if (SignatureCheck.Verify(key.Algorithm, key.PublicKeyPem, pae, signature.Sig))
                    {
                        return (builder, key, string.Empty);
                    }
                    else
                    {
                        reasons.Add($"signature by keyid '{signature.KeyId}' does not verify against the trusted key of builder '{builder.Id}'");
                    }
                }

                continue;
            }

            foreach (var builder in policy.TrustedBuilders)
            {
                foreach (var key in builder.Keys.Where(k => k.UnusableAt(now) is null))
                {
                    if (SignatureCheck.Verify(key.Algorithm, key.PublicKeyPem, pae, signature.Sig))
                    {
                        return (builder, key, string.Empty);
                    }
                }
            }

            reasons.Add(policy.TrustedBuilders.Count == 0
                ? "no builder is trusted (SupplyChain:TrustedBuilders is empty)"
                : $"signature does not verify against any trusted key for builder {string.Join(" or ", policy.TrustedBuilders.Select(b => $"'{b.Id}'"))}");
        }

        return (null, null, string.Join("; ", reasons.Distinct(StringComparer.Ordinal)));
    }
}
