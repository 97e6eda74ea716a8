using Deploy.Engine.Domain.SupplyChain;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.SupplyChain;

/// <summary>
/// Bound from configuration section "SupplyChain": the builders whose keys sign provenance, each environment's
/// supply-chain policy, and each service's declared source. An environment with no entry requires nothing.
/// </summary>
public sealed class SupplyChainOptions
{
    public const string Section = "SupplyChain";

    public List<TrustedBuilderOptions> TrustedBuilders { get; set; } = [];

    /// <summary>Environment name → policy.</summary>
    public Dictionary<string, EnvironmentSupplyChainOptions> Environments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Service name → the source repository (and ref) its builds must come from.</summary>
    public Dictionary<string, DeclaredSourceOptions> Services { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The longest a waiver may run.</summary>
    public TimeSpan MaxWaiverDuration { get; set; } = TimeSpan.FromDays(90);
}

public sealed class TrustedBuilderOptions
{
    /// <summary>The builder id as provenance names it (predicate.runDetails.builder.id).</summary>
    public string Id { get; set; } = string.Empty;

    public List<TrustedKeyOptions> Keys { get; set; } = [];
}

public sealed class TrustedKeyOptions
{
    public string KeyId { get; set; } = string.Empty;

    /// <summary>"ecdsa-p256" (ECDSA P-256 SHA-256) or "ed25519".</summary>
    public string Algorithm { get; set; } = "ecdsa-p256";

    /// <summary>PEM "PUBLIC KEY" (SubjectPublicKeyInfo).</summary>
    public string PublicKeyPem { get; set; } = string.Empty;

    public DateTimeOffset? NotBefore { get; set; }

    public DateTimeOffset? NotAfter { get; set; }

    public bool Revoked { get; set; }
}

public sealed class EnvironmentSupplyChainOptions
{
    public bool RequireProvenance { get; set; }

    /// <summary>Builder ids allowed here; empty = every trusted builder.</summary>
    public List<string> AllowedBuilders { get; set; } = [];

    public bool RequireSbom { get; set; }

    /// <summary>critical, high, medium, low (or null: vulnerabilities are not checked).</summary>
    public string? MinimumBlockedSeverity { get; set; }

    /// <summary>SPDX ids (or "X WITH E", "LicenseRef-…") allowed here; null = licences are not checked.</summary>
    public List<string>? AllowedLicenses { get; set; }

    /// <summary>Whether a component without a licence is a finding (when licences are checked).</summary>
    public bool RequireLicence { get; set; } = true;

    /// <summary>Vulnerabilities the operator knows of, matched to components by purl.</summary>
    public List<KnownVulnerabilityOptions> KnownVulnerabilities { get; set; } = [];
}

public sealed class KnownVulnerabilityOptions
{
    public string Id { get; set; } = string.Empty;

    public string Severity { get; set; } = string.Empty;

    public string AffectsPurl { get; set; } = string.Empty;
}

public sealed class DeclaredSourceOptions
{
    public string Repository { get; set; } = string.Empty;

    public string? Ref { get; set; }
}

/// <summary>Refuses to start with a key that cannot be read, an unknown algorithm or severity, or a duplicate key id.</summary>
public sealed class SupplyChainOptionsValidator : IValidateOptions<SupplyChainOptions>
{
    public ValidateOptionsResult Validate(string? name, SupplyChainOptions options)
    {
        var errors = new List<string>();
        var keyIds = new HashSet<string>(StringComparer.Ordinal);
        for (var b = 0; b < options.TrustedBuilders.Count; b++)
        {
            var builder = options.TrustedBuilders[b];
            var at = $"SupplyChain:TrustedBuilders:{b}";
            if (string.IsNullOrWhiteSpace(builder.Id)) errors.Add($"{at}:Id is required");
            if (builder.Keys.Count == 0) errors.Add($"{at}:Keys needs at least one key");
            for (var k = 0; k < builder.Keys.Count; k++)
            {
                var key = builder.Keys[k];
                var keyAt = $"{at}:Keys:{k}";
                if (string.IsNullOrWhiteSpace(key.KeyId)) errors.Add($"{keyAt}:KeyId is required");
                else if (!keyIds.Add(key.KeyId)) errors.Add($"{keyAt}:KeyId '{key.KeyId}' is used by another key");
                if (SupplyChainPolicies.ParseAlgorithm(key.Algorithm) is not { } algorithm)
                {
                    errors.Add($"{keyAt}:Algorithm must be 'ecdsa-p256' or 'ed25519'");
                }
                else if (SignatureCheck.ValidatePublicKey(algorithm, key.PublicKeyPem) is { } problem)
                {
                    errors.Add($"{keyAt}:PublicKeyPem {problem}");
                }
            }
        }

        foreach (var (environment, policy) in options.Environments)
        {
            var at = $"SupplyChain:Environments:{environment}";
            if (policy.MinimumBlockedSeverity is { } s && (!Severities.TryParse(s, out var severity) || severity is Severity.Unknown or Severity.None))
                errors.Add($"{at}:MinimumBlockedSeverity must be critical, high, medium, low or info");
            if (policy.AllowedBuilders.Any(string.IsNullOrWhiteSpace)) errors.Add($"{at}:AllowedBuilders has an empty entry");
            for (var v = 0; v < policy.KnownVulnerabilities.Count; v++)
            {
                var known = policy.KnownVulnerabilities[v];
                if (string.IsNullOrWhiteSpace(known.Id) || string.IsNullOrWhiteSpace(known.AffectsPurl) || !Severities.TryParse(known.Severity, out _))
                    errors.Add($"{at}:KnownVulnerabilities:{v} needs Id, AffectsPurl and a Severity");
            }
        }

        foreach (var (service, source) in options.Services)
        {
            if (string.IsNullOrWhiteSpace(source.Repository)) errors.Add($"SupplyChain:Services:{service}:Repository is required");
        }

        if (options.MaxWaiverDuration <= TimeSpan.Zero) errors.Add("SupplyChain:MaxWaiverDuration must be positive");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
