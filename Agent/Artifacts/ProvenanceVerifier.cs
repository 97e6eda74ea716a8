using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Deploy.Engine.Agent.Artifacts;

/// <summary>
/// Checks a release's DSSE envelope: an ECDSA P-256 signature by one of the trusted keys over
/// PAE = "DSSEv1 " + len(type) + " " + type + " " + len(body) + " " + body, and an in-toto statement whose
/// <c>subject[].digest.sha256</c> names the artifact. Returns null when it holds, else the reason.
/// </summary>
public static class ProvenanceVerifier
{
    public static string? Verify(JsonElement? provenance, string artifactDigest, IReadOnlyList<string> trustedKeysPem)
    {
        if (trustedKeysPem.Count == 0) return null;
        if (provenance is not { } p || p.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return "provenance required (TrustedKeys is set) but the desired state carries none";
        try
        {
            var envelope = p.ValueKind == JsonValueKind.String ? JsonDocument.Parse(p.GetString()!).RootElement : p;
            var payloadType = envelope.GetProperty("payloadType").GetString() ?? "";
            var payload = Convert.FromBase64String(envelope.GetProperty("payload").GetString() ?? "");
            var pae = Pae(payloadType, payload);
            var signed = false;
            foreach (var signature in envelope.GetProperty("signatures").EnumerateArray())
            {
                var sig = Convert.FromBase64String(signature.GetProperty("sig").GetString() ?? "");
                if (trustedKeysPem.Any(key => VerifyWith(key, pae, sig)))
                {
                    signed = true;
                    break;
                }
            }

            if (!signed) return "provenance signature is not by a trusted key";
            var hex = ArtifactDownloader.HexOf(artifactDigest);
            using var statement = JsonDocument.Parse(payload);
            var subjects = statement.RootElement.GetProperty("subject").EnumerateArray();
            return subjects.Any(s => s.TryGetProperty("digest", out var d) && d.TryGetProperty("sha256", out var h)
                && string.Equals(h.GetString(), hex, StringComparison.OrdinalIgnoreCase))
                ? null
                : $"provenance statement has no subject with sha256 {hex}";
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return "provenance envelope is malformed: " + e.Message;
        }
    }

    /// <summary>DSSE pre-authentication encoding; lengths are byte counts in ASCII decimal.</summary>
    public static byte[] Pae(string payloadType, byte[] payload)
    {
        var type = Encoding.UTF8.GetBytes(payloadType);
        var head = Encoding.ASCII.GetBytes($"DSSEv1 {type.Length} ");
        var mid = Encoding.ASCII.GetBytes($" {payload.Length} ");
        return [.. head, .. type, .. mid, .. payload];
    }

    private static bool VerifyWith(string pem, byte[] pae, byte[] signature)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(pem);
            // Signers differ in encoding: accept DER (most tools) and IEEE P1363 (r||s).
            return key.VerifyData(pae, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
                || key.VerifyData(pae, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
