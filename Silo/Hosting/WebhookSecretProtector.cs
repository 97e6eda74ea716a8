using System.Security.Cryptography;
using Deploy.Engine.Grains.Webhooks;
using Microsoft.AspNetCore.DataProtection;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>Webhook signing secrets at rest, encrypted with the engine's Data Protection key ring (as secret parameters are).</summary>
public sealed class WebhookSecretProtector(IDataProtectionProvider protection) : IWebhookSecretProtector
{
    private readonly IDataProtector _protector = protection.CreateProtector("Deploy.Engine.Webhooks.Secret");

    public string Protect(string secret) => _protector.Protect(secret);

    public string? Unprotect(string protectedSecret)
    {
        try
        {
            return string.IsNullOrEmpty(protectedSecret) ? null : _protector.Unprotect(protectedSecret);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
