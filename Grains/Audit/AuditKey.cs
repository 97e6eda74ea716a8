using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Audit;

/// <summary>
/// The key of the audit chain's HMAC (<c>Audit:Key</c>, at least 32 characters, from configuration or a secret store:
/// never the storage account the entries live in). Azure mode refuses to start without one unless
/// <c>Audit:AllowUnkeyed=true</c> (development only: a fixed, public key, and <c>/v1/audit/verify</c> says
/// <c>keyed: false</c>). Local mode without one uses a random key per process (its state dies with the process too).
/// </summary>
public sealed class AuditKey
{
    public const int MinimumLength = 32;

    private static readonly Lazy<AuditKey> ProcessKey = new(() => new AuditKey(RandomNumberGenerator.GetBytes(32), keyed: true));

    private AuditKey(byte[] bytes, bool keyed)
    {
        Bytes = bytes;
        Keyed = keyed;
    }

    public byte[] Bytes { get; }

    /// <summary>False for the development key of <c>Audit:AllowUnkeyed</c>.</summary>
    public bool Keyed { get; }

    /// <summary>The configured key; the development key when allowed; otherwise this process's random key.</summary>
    public static AuditKey From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration["Audit:Key"];
        if (!string.IsNullOrEmpty(configured))
        {
            return new AuditKey(Encoding.UTF8.GetBytes(configured), keyed: true);
        }

        return configuration.GetValue<bool>("Audit:AllowUnkeyed")
            ? new AuditKey(SHA256.HashData(Encoding.UTF8.GetBytes("deploy-engine development audit key: not a secret")), keyed: false)
            : ProcessKey.Value;
    }

    /// <summary>Checked at start in Azure mode: a durable log needs a durable key kept apart from its storage.</summary>
    public static void Validate(IConfiguration configuration, bool durable)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration["Audit:Key"];
        if (!string.IsNullOrEmpty(configured) && configured.Length < MinimumLength)
        {
            throw new OptionsValidationException("Audit:Key", typeof(string), [$"Audit:Key must be at least {MinimumLength} characters."]);
        }

        if (durable && string.IsNullOrEmpty(configured) && !configuration.GetValue<bool>("Audit:AllowUnkeyed"))
        {
            throw new OptionsValidationException("Audit:Key", typeof(string),
                ["Engine:StorageMode is Azure but Audit:Key is not set: the audit chain's HMAC key (32+ characters) must come from " +
                 "configuration kept outside the storage account (deploy/run.sh makes one in .data/audit-key); for development " +
                 "only, Audit:AllowUnkeyed=true uses a public key."]);
        }
    }
}
