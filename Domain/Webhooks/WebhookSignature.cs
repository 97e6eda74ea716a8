using System.Security.Cryptography;
using System.Text;

namespace Deploy.Engine.Domain.Webhooks;

/// <summary>
/// Webhook signatures after the Standard Webhooks specification (standardwebhooks.com), so receivers can verify with
/// its libraries or ten lines of their own code:
/// <list type="bullet">
/// <item>the secret is <c>whsec_</c> followed by base64 of 32 random bytes; the HMAC key is those bytes;</item>
/// <item>the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c> (id = the event id, stable across retries;
/// timestamp = Unix seconds of this attempt);</item>
/// <item><c>webhook-signature</c> is <c>v1,</c> followed by base64 of HMAC-SHA256(key, signed content).</item>
/// </list>
/// The timestamp is inside the signature, so a captured delivery cannot be replayed later with a fresh timestamp: a
/// receiver refuses a timestamp further than its tolerance (five minutes is usual) from its own clock, and a repeated id.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";
    public const string Version = "v1";
    public const int SecretBytes = 32;

    /// <summary>The secret text for <paramref name="key"/> (from a cryptographic random source, at least 16 bytes).</summary>
    public static string SecretFor(byte[] key) => SecretPrefix + Convert.ToBase64String(key);

    /// <summary>The HMAC key of a secret (the bytes after <c>whsec_</c>), or null when it is not one.</summary>
    public static byte[]? Key(string secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var key = Convert.FromBase64String(secret[SecretPrefix.Length..]);
            return key.Length >= 16 ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The <c>webhook-signature</c> header value: <c>v1,{base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")}</c>.</summary>
    public static string Sign(byte[] key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Version + "," + Convert.ToBase64String(HMACSHA256.HashData(key, SignedContent(id, timestamp, body)));
    }

    /// <summary>
    /// What a receiver does: the timestamp within <paramref name="tolerance"/> of <paramref name="now"/>, and one of the
    /// space-separated signatures equal (in constant time) to the expected one.
    /// </summary>
    public static bool Verify(byte[] key, string id, string timestamp, string signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(key, id, seconds, body));
        foreach (var candidate in (signatureHeader ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), expected))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] SignedContent(string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return content;
    }
}
