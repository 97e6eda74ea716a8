using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>One signature of a DSSE envelope: the key id the signer named (may be empty) and the signature bytes.</summary>
public sealed record DsseSignature(string KeyId, byte[] Sig);

/// <summary>A parsed DSSE envelope (https://github.com/secure-systems-lab/dsse): payload type, payload bytes, signatures.</summary>
public sealed record DsseEnvelope(string PayloadType, byte[] Payload, IReadOnlyList<DsseSignature> Signatures);

/// <summary>DSSE v1: the pre-authentication encoding and a strict envelope parser.</summary>
public static class Dsse
{
    /// <summary>The payload type of an in-toto statement.</summary>
    public const string InTotoPayloadType = "application/vnd.in-toto+json";

    /// <summary>Largest envelope accepted (JSON text, characters): provenance documents are a few KiB.</summary>
    public const int MaxEnvelopeChars = 512 * 1024;

    public const int MaxSignatures = 16;

    public const int MaxPayloadTypeLength = 256;

    public const int MaxKeyIdLength = 256;

    /// <summary>An ECDSA P-256 DER signature is at most 72 bytes, Ed25519 64, P1363 64; leave room for larger curves.</summary>
    public const int MaxSignatureBytes = 1024;

    /// <summary>
    /// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, where LEN is the byte count in ASCII
    /// decimal and type is UTF-8. Example: PAE("http://example.com/HelloWorld", "hello world") =
    /// "DSSEv1 29 http://example.com/HelloWorld 11 hello world".
    /// </summary>
    public static byte[] Pae(string payloadType, ReadOnlySpan<byte> body)
    {
        var type = Encoding.UTF8.GetBytes(payloadType);
        var head = Encoding.ASCII.GetBytes(
            "DSSEv1 " + type.Length.ToString(CultureInfo.InvariantCulture) + " ");
        var mid = Encoding.ASCII.GetBytes(" " + body.Length.ToString(CultureInfo.InvariantCulture) + " ");
        var result = new byte[head.Length + type.Length + mid.Length + body.Length];
        head.CopyTo(result, 0);
        type.CopyTo(result, head.Length);
        mid.CopyTo(result, head.Length + type.Length);
        body.CopyTo(result.AsSpan(head.Length + type.Length + mid.Length));
        return result;
    }

    /// <summary>
    /// Parses an envelope; on failure <paramref name="error"/> names the field and what is wrong with it
    /// (e.g. "payload: is not valid base64"). Never throws for any input.
    /// </summary>
    public static bool TryParse(string? json, out DsseEnvelope? envelope, out string field, out string error) =>
        BoundedJson.TryParse<DsseEnvelope>(json, MaxEnvelopeChars, 16, "envelope", TryParse, out envelope, out field, out error);

    public static bool TryParse(JsonElement root, out DsseEnvelope? envelope, out string field, out string error)
    {
        envelope = null;
        field = "envelope";
        error = string.Empty;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "must be a JSON object {payloadType, payload, signatures}";
            return false;
        }

        if (!root.TryGetProperty("payloadType", out var typeElement) || typeElement.ValueKind != JsonValueKind.String
            || typeElement.GetString() is not { Length: > 0 and <= MaxPayloadTypeLength } payloadType)
        {
            (field, error) = ("payloadType", $"is required: a string of 1-{MaxPayloadTypeLength} characters");
            return false;
        }

        if (!root.TryGetProperty("payload", out var payloadElement) || payloadElement.ValueKind != JsonValueKind.String)
        {
            (field, error) = ("payload", "is required: the base64 encoded statement");
            return false;
        }

        if (!Base64Text.TryDecode(payloadElement.GetString(), out var payload) || payload.Length == 0)
        {
            (field, error) = ("payload", "is not valid base64 (standard or URL-safe) or is empty");
            return false;
        }

        if (!root.TryGetProperty("signatures", out var sigs) || sigs.ValueKind != JsonValueKind.Array || sigs.GetArrayLength() == 0)
        {
            (field, error) = ("signatures", "is required: a non-empty array of {keyid, sig}");
            return false;
        }

        if (sigs.GetArrayLength() > MaxSignatures)
        {
            (field, error) = ("signatures", $"has more than {MaxSignatures} entries");
            return false;
        }

        var signatures = new List<DsseSignature>();
        var i = 0;
        foreach (var s in sigs.EnumerateArray())
        {
            var at = $"signatures[{i++}]";
            if (s.ValueKind != JsonValueKind.Object)
            {
                (field, error) = (at, "must be an object {keyid, sig}");
                return false;
            }

            var keyId = string.Empty;
            if (s.TryGetProperty("keyid", out var k) && k.ValueKind != JsonValueKind.Null)
            {
                if (k.ValueKind != JsonValueKind.String || k.GetString()!.Length > MaxKeyIdLength)
                {
                    (field, error) = (at + ".keyid", $"must be a string of at most {MaxKeyIdLength} characters");
                    return false;
                }

                keyId = k.GetString()!;
            }

            if (!s.TryGetProperty("sig", out var sigElement) || sigElement.ValueKind != JsonValueKind.String
                || !Base64Text.TryDecode(sigElement.GetString(), out var sig) || sig.Length is 0 or > MaxSignatureBytes)
            {
                (field, error) = (at + ".sig", $"is required: base64 signature bytes (1-{MaxSignatureBytes} bytes)");
                return false;
            }

            signatures.Add(new DsseSignature(keyId, sig));
        }

        envelope = new DsseEnvelope(payloadType, payload, signatures);
        return true;
    }
}

/// <summary>Base64 as signing tools write it: standard or URL-safe alphabet, with or without padding.</summary>
public static class Base64Text
{
    public static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null)
        {
            return false;
        }

        var s = text;
        if (s.Length % 4 == 1 || s.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            return false;
        }

        var chars = new char[s.Length + ((4 - (s.Length % 4)) % 4)];
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            chars[i] = c switch
            {
                '-' => '+',
                '_' => '/',
                _ => c,
            };
        }

        for (var i = s.Length; i < chars.Length; i++)
        {
            chars[i] = '=';
        }

        var buffer = new byte[(chars.Length / 4) * 3];
        if (!Convert.TryFromBase64Chars(chars, buffer, out var written))
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}
