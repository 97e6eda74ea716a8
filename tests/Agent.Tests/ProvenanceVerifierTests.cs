using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Deploy.Engine.Agent.Artifacts;

namespace Deploy.Engine.Agent.Tests;

public sealed class ProvenanceVerifierTests
{
    private const string Digest = "sha256:4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";

    private static JsonElement Envelope(ECDsa key, string subjectHex, string payloadType = "application/vnd.in-toto+json")
    {
        var statement = JsonSerializer.SerializeToUtf8Bytes(new
        {
            _type = "https://in-toto.io/Statement/v1",
            subject = new[] { new { name = "sample.tar.gz", digest = new { sha256 = subjectHex } } },
            predicateType = "https://slsa.dev/provenance/v1",
        });
        var sig = key.SignData(ProvenanceVerifier.Pae(payloadType, statement), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return JsonSerializer.SerializeToElement(new { payloadType, payload = Convert.ToBase64String(statement), signatures = new[] { new { keyid = "k1", sig = Convert.ToBase64String(sig) } } });
    }

    [Fact]
    public void PaeIsTheDsseEncoding() =>
        Assert.Equal("DSSEv1 4 type 5 hello", Encoding.UTF8.GetString(ProvenanceVerifier.Pae("type", "hello"u8.ToArray())));

    [Fact]
    public void ASignedStatementNamingTheArtifactPassesAndAnythingElseIsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var trusted = new[] { key.ExportSubjectPublicKeyInfoPem() };

        Assert.Null(ProvenanceVerifier.Verify(Envelope(key, Digest[7..]), Digest, trusted));
        Assert.Null(ProvenanceVerifier.Verify(null, Digest, [])); // no TrustedKeys: not checked
        Assert.Contains("required", ProvenanceVerifier.Verify(null, Digest, trusted), StringComparison.Ordinal);
        Assert.Contains("not by a trusted key", ProvenanceVerifier.Verify(Envelope(stranger, Digest[7..]), Digest, trusted), StringComparison.Ordinal);
        Assert.Contains("no subject", ProvenanceVerifier.Verify(Envelope(key, new string('0', 64)), Digest, trusted), StringComparison.Ordinal);
        var asString = JsonSerializer.SerializeToElement(Envelope(key, Digest[7..]).GetRawText());
        Assert.Null(ProvenanceVerifier.Verify(asString, Digest, trusted)); // an envelope carried as a JSON string
    }
}
