using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// The key that encrypts the Data Protection key ring at rest (<c>Secrets:KeyRingKey</c>, 32+ characters, from
/// configuration kept outside the storage account: deploy/run.sh makes one in <c>.data/keyring-key</c>). Without it the
/// key ring would lie in clear beside the secret parameters it protects, so whoever reads the storage account reads
/// every secret. The AES-256 key is derived with HKDF-SHA256; its fingerprint (not secret) names it in the stored XML so
/// that a restart with another key is refused with a clear reason instead of failing on each secret.
/// </summary>
public sealed class KeyRingKey
{
    public const string Setting = "Secrets:KeyRingKey";
    public const string AllowUnencryptedSetting = "Secrets:AllowUnencryptedKeyRing";
    public const int MinimumLength = 32;

    private static readonly byte[] Info = Encoding.UTF8.GetBytes("deploy-engine data protection key ring v1");

    private KeyRingKey(byte[] key)
    {
        Key = key;
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes("fingerprint:"), .. key]))[..16];
    }

    internal byte[] Key { get; }

    /// <summary>16 hex digits identifying the key (a hash of it; says nothing about it).</summary>
    public string Fingerprint { get; }

    /// <summary>The configured key, or null when none is set. Throws when one is set but shorter than <see cref="MinimumLength"/>.</summary>
    public static KeyRingKey? From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration[Setting];
        if (string.IsNullOrEmpty(configured))
        {
            return null;
        }

        if (configured.Length < MinimumLength)
        {
            throw new OptionsValidationException(Setting, typeof(string), [$"{Setting} must be at least {MinimumLength} characters."]);
        }

        return new KeyRingKey(HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(configured), 32, info: Info));
    }

    /// <summary>Checked at start: a key ring kept in storage (Azure mode, or a key ring directory) needs the key, unless explicitly allowed.</summary>
    public static void Validate(IConfiguration configuration, bool persisted, KeyRingKey? key)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (persisted && key is null && !configuration.GetValue<bool>(AllowUnencryptedSetting))
        {
            throw new OptionsValidationException(Setting, typeof(string),
                [$"the Data Protection key ring is kept in storage (Engine:StorageMode Azure or Secrets:KeyRingDirectory) but {Setting} is not set: " +
                 "the key that encrypts the key ring (32+ characters) must come from configuration kept outside the storage account " +
                 $"(deploy/run.sh makes one in .data/keyring-key); for development only, {AllowUnencryptedSetting}=true stores it unencrypted."]);
        }
    }
}

/// <summary>Encrypts each new key of the ring with AES-256-GCM under <see cref="KeyRingKey"/>: <c>nonce ‖ ciphertext ‖ tag</c>, base64.</summary>
public sealed class AesGcmXmlEncryptor(KeyRingKey key) : IXmlEncryptor
{
    internal const string Element = "aesGcmEncryptedKey";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize, plaintext.Length), sealedBytes.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(key.Fingerprint));
        }

        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement(Element, new XAttribute("fingerprint", key.Fingerprint), Convert.ToBase64String(sealedBytes));
        return new EncryptedXmlInfo(element, typeof(AesGcmXmlDecryptor));
    }

    internal static XElement Decrypt(KeyRingKey? key, XElement encryptedElement)
    {
        var fingerprint = (string?)encryptedElement.Attribute("fingerprint");
        if (key is null)
        {
            throw new CryptographicException(
                $"the Data Protection key ring is encrypted (key fingerprint {fingerprint}) but {KeyRingKey.Setting} is not set: start the engine with the key it was encrypted with");
        }

        if (!string.Equals(fingerprint, key.Fingerprint, StringComparison.Ordinal))
        {
            throw new CryptographicException(
                $"the Data Protection key ring was encrypted with another key (fingerprint {fingerprint}) than the configured {KeyRingKey.Setting} " +
                $"(fingerprint {key.Fingerprint}): start the engine with the key it was encrypted with; secrets cannot be read otherwise");
        }

        var sealedBytes = Convert.FromBase64String(encryptedElement.Value);
        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key.Key, TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, plaintext.Length), sealedBytes.AsSpan(NonceSize + plaintext.Length), plaintext, Encoding.UTF8.GetBytes(key.Fingerprint));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new CryptographicException($"a key of the Data Protection key ring does not decrypt under {KeyRingKey.Setting}: it was altered in storage", e);
        }

        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}

/// <summary>
/// Decrypts what <see cref="AesGcmXmlEncryptor"/> wrote. Data Protection names this type in the stored XML and creates
/// it with the service provider (so the key comes from configuration, never from the XML).
/// </summary>
public sealed class AesGcmXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        return AesGcmXmlEncryptor.Decrypt(services.GetService(typeof(KeyRingKey)) as KeyRingKey, encryptedElement);
    }
}

/// <summary>
/// At start, before the API answers: every key of the ring must decrypt under the configured key, so a restart with the
/// wrong key is refused with the reason rather than answering 500 on the first secret it reads.
/// </summary>
public sealed class KeyRingCheck(IKeyManager keys) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var key in keys.GetAllKeys())
        {
            try
            {
                _ = key.Descriptor;
            }
            catch (Exception e) when (e is CryptographicException or InvalidOperationException)
            {
                throw new InvalidOperationException($"Data Protection key {key.KeyId} cannot be read: {Innermost(e).Message}", e);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The exception that names the setting (ours), else the innermost one.</summary>
    private static Exception Innermost(Exception e)
    {
        for (var inner = e; ; inner = inner.InnerException)
        {
            if (inner.Message.Contains(KeyRingKey.Setting, StringComparison.Ordinal) || inner.InnerException is null) return inner;
        }
    }
}
