using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Deploy.Engine.Domain.SupplyChain;
using NSec.Cryptography;

namespace Deploy.Engine.Domain.Tests.SupplyChain;

/// <summary>A signing key made in the test: ECDSA P-256 through .NET or Ed25519 through NSec.</summary>
public sealed class TestSigner : IDisposable
{
    private readonly ECDsa? _ecdsa;
    private readonly Key? _ed25519;

    private TestSigner(string keyId, ECDsa? ecdsa, Key? ed25519)
    {
        KeyId = keyId;
        _ecdsa = ecdsa;
        _ed25519 = ed25519;
    }

    public string KeyId { get; }

    public KeyAlgorithm Algorithm => _ecdsa is null ? KeyAlgorithm.Ed25519 : KeyAlgorithm.EcdsaP256Sha256;

    public static TestSigner Ecdsa(string keyId) => new(keyId, ECDsa.Create(ECCurve.NamedCurves.nistP256), null);

    public static TestSigner Ed25519(string keyId) =>
        new(keyId, null, Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None }));

    public string PublicKeyPem => _ecdsa is not null
        ? _ecdsa.ExportSubjectPublicKeyInfoPem()
        : PemEncoding.WriteString("PUBLIC KEY", _ed25519!.PublicKey.Export(KeyBlobFormat.PkixPublicKey));

    public TrustedKey Trusted(DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool revoked = false) =>
        new(KeyId, Algorithm, PublicKeyPem, notBefore, notAfter, revoked);

    /// <summary>ECDSA signatures in DER (as cosign writes them) unless <paramref name="p1363"/>.</summary>
    public byte[] Sign(byte[] message, bool p1363 = false) => _ecdsa is not null
        ? _ecdsa.SignData(message, HashAlgorithmName.SHA256, p1363 ? DSASignatureFormat.IeeeP1363FixedFieldConcatenation : DSASignatureFormat.Rfc3279DerSequence)
        : SignatureAlgorithm.Ed25519.Sign(_ed25519!, message);

    public void Dispose()
    {
        _ecdsa?.Dispose();
        _ed25519?.Dispose();
    }
}

/// <summary>Builds SLSA v1 statements and DSSE envelopes.</summary>
public static class Provenance
{
    public const string Builder = "https://github.com/actions/runner/github-hosted";
    public const string Repository = "https://github.com/acme/shop";
    public const string Commit = "4f2a9c1e0d3b5a7c9e1f2a4b6c8d0e2f4a6b8c0d";

    public static readonly string ArtifactHex = Convert.ToHexStringLower(SHA256.HashData("shop-2.0.0"u8));

    public static string Artifact => "sha256:" + ArtifactHex;

    /// <summary>A GitHub Actions shaped statement (externalParameters.workflow) or the generic source shape.</summary>
    public static string Statement(
        string? subjectHex = null, string builder = Builder, string repository = Repository, string gitRef = "refs/heads/main",
        bool genericShape = false, string predicateType = "https://slsa.dev/provenance/v1")
    {
        object external = genericShape
            ? new { source = new { repository, @ref = gitRef } }
            : new { workflow = new { repository, @ref = gitRef, path = ".github/workflows/release.yml" } };
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_type"] = "https://in-toto.io/Statement/v1",
            ["subject"] = new[] { new { name = "shop-2.0.0.tar.gz", digest = new { sha256 = subjectHex ?? ArtifactHex } } },
            ["predicateType"] = predicateType,
            ["predicate"] = new
            {
                buildDefinition = new
                {
                    buildType = "https://actions.github.io/buildtypes/workflow/v1",
                    externalParameters = external,
                    internalParameters = new { github = new { event_name = "push" } },
                    resolvedDependencies = new[] { new { uri = "git+" + repository + "@" + gitRef, digest = new { gitCommit = Commit } } },
                },
                runDetails = new { builder = new { id = builder }, metadata = new { invocationId = "run-1" } },
            },
        });
    }

    public static string Envelope(TestSigner signer, string statement, string payloadType = Dsse.InTotoPayloadType,
        string? keyId = null, bool urlSafe = false, bool p1363 = false, string? signedType = null)
    {
        var body = Encoding.UTF8.GetBytes(statement);
        var sig = signer.Sign(Dsse.Pae(signedType ?? payloadType, body), p1363);
        string B64(byte[] b) => urlSafe ? Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_') : Convert.ToBase64String(b);
        return JsonSerializer.Serialize(new
        {
            payloadType,
            payload = B64(body),
            signatures = new[] { new { keyid = keyId ?? signer.KeyId, sig = B64(sig) } },
        });
    }

    public static ProvenancePolicy Policy(TestSigner signer, string environment = "production", string[]? allowed = null,
        DeclaredSource? source = null, TrustedKey? key = null) => new()
        {
            Environment = environment,
            TrustedBuilders = [new TrustedBuilder(Builder, [key ?? signer.Trusted()])],
            AllowedBuilders = allowed ?? [Builder],
            Service = "shop",
            DeclaredSource = source ?? new DeclaredSource(Repository, "refs/heads/main"),
        };
}
