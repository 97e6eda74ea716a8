using System.Security.Cryptography;
using NSec.Cryptography;

namespace Deploy.Engine.Domain.SupplyChain;

public enum KeyAlgorithm
{
    /// <summary>ECDSA over P-256 with SHA-256; signatures in DER (what cosign and most signing tools emit) or IEEE P1363 r‖s.</summary>
    EcdsaP256Sha256,

    /// <summary>Ed25519 (RFC 8032) through NSec/libsodium.</summary>
    Ed25519,
}

/// <summary>
/// A builder's public key: PEM SubjectPublicKeyInfo, its key id, and when it may be used. A signature counts only when
/// it is checked while the key is valid (NotBefore ≤ now &lt; NotAfter, not revoked); a verification recorded while it
/// was valid stays recorded after the key is rotated out.
/// </summary>
public sealed record TrustedKey(
    string KeyId,
    KeyAlgorithm Algorithm,
    string PublicKeyPem,
    DateTimeOffset? NotBefore = null,
    DateTimeOffset? NotAfter = null,
    bool Revoked = false)
{
    /// <summary>Why the key may not be used at <paramref name="now"/>, or null when it may.</summary>
    public string? UnusableAt(DateTimeOffset now) =>
        Revoked ? $"key '{KeyId}' is revoked"
        : NotBefore is { } nb && now < nb ? $"key '{KeyId}' is not valid before {nb:O}"
        : NotAfter is { } na && now >= na ? $"key '{KeyId}' expired at {na:O}"
        : null;
}

/// <summary>A builder the engine trusts (e.g. a CI system's provenance generator) and its keys.</summary>
public sealed record TrustedBuilder(string Id, IReadOnlyList<TrustedKey> Keys);

/// <summary>Signature checks for the two algorithms; never throws for malformed keys or signatures.</summary>
public static class SignatureCheck
{
    /// <summary>
    /// Verifies <paramref name="signature"/> over <paramref name="message"/>. ECDSA accepts DER (RFC 3279 sequence) first,
    /// then IEEE P1363 (fixed 64-byte r‖s, .NET's default); Ed25519 signatures are 64 bytes.
    /// </summary>
    public static bool Verify(KeyAlgorithm algorithm, string publicKeyPem, byte[] message, byte[] signature)
    {
        try
        {
            return algorithm switch
            {
                KeyAlgorithm.EcdsaP256Sha256 => VerifyEcdsa(publicKeyPem, message, signature),
                KeyAlgorithm.Ed25519 => VerifyEd25519(publicKeyPem, message, signature),
                _ => false,
            };
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Checks that a PEM is a public key of the algorithm; the message says what is wrong.</summary>
    public static string? ValidatePublicKey(KeyAlgorithm algorithm, string? publicKeyPem)
    {
        if (string.IsNullOrWhiteSpace(publicKeyPem))
        {
            return "is required: a PEM 'PUBLIC KEY' (SubjectPublicKeyInfo)";
        }

        try
        {
            switch (algorithm)
            {
                case KeyAlgorithm.EcdsaP256Sha256:
                    using (var ecdsa = ECDsa.Create())
                    {
                        ecdsa.ImportFromPem(publicKeyPem);
                        if (ecdsa.KeySize != 256)
                        {
                            return $"is a {ecdsa.KeySize}-bit EC key, expected P-256";
                        }
                    }

                    return null;
                case KeyAlgorithm.Ed25519:
                    return Ed25519Key(publicKeyPem) is null ? "is not an Ed25519 SubjectPublicKeyInfo PEM" : null;
                default:
                    return "has an unknown algorithm";
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            return $"is not a readable {algorithm} public key PEM";
        }
    }

    private static bool VerifyEcdsa(string pem, byte[] message, byte[] signature)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(pem);
        if (ecdsa.KeySize != 256)
        {
            return false;
        }

        return ecdsa.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
            || (signature.Length == 64 && ecdsa.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    private static bool VerifyEd25519(string pem, byte[] message, byte[] signature) =>
        signature.Length == 64 && Ed25519Key(pem) is { } key && SignatureAlgorithm.Ed25519.Verify(key, message, signature);

    private static PublicKey? Ed25519Key(string pem)
    {
        var fields = PemEncoding.Find(pem);
        if (!pem.AsSpan()[fields.Label].SequenceEqual("PUBLIC KEY"))
        {
            return null;
        }

        var der = Convert.FromBase64String(pem[fields.Base64Data]);
        return PublicKey.TryImport(SignatureAlgorithm.Ed25519, der, KeyBlobFormat.PkixPublicKey, out var key) ? key : null;
    }
}
