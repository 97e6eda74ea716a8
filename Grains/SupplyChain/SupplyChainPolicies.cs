using Deploy.Engine.Domain.SupplyChain;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.SupplyChain;

/// <summary>Turns the "SupplyChain" configuration into the Domain policies the verifier and evaluator apply.</summary>
public sealed class SupplyChainPolicies(IOptions<SupplyChainOptions> options)
{
    private readonly SupplyChainOptions _options = options.Value;

    private readonly Lazy<IReadOnlyList<TrustedBuilder>> _builders = new(() => options.Value.TrustedBuilders
        .Select(b => new TrustedBuilder(b.Id, b.Keys
            .Select(k => new TrustedKey(k.KeyId, ParseAlgorithm(k.Algorithm) ?? KeyAlgorithm.EcdsaP256Sha256, k.PublicKeyPem, k.NotBefore, k.NotAfter, k.Revoked))
            .ToList()))
        .ToList());

    public TimeSpan MaxWaiverDuration => _options.MaxWaiverDuration;

    /// <summary>The environments that have a supply-chain policy, in name order.</summary>
    public IReadOnlyList<string> Environments => _options.Environments.Keys.Order(StringComparer.Ordinal).ToList();

    public bool HasPolicy(string environment) => Find(environment) is not null;

    public static KeyAlgorithm? ParseAlgorithm(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "ecdsa-p256" or "ecdsa-p256-sha256" or "es256" => KeyAlgorithm.EcdsaP256Sha256,
        "ed25519" => KeyAlgorithm.Ed25519,
        _ => null,
    };

    public DeclaredSource? SourceOf(string service) =>
        _options.Services.FirstOrDefault(kv => string.Equals(kv.Key, service, StringComparison.OrdinalIgnoreCase)).Value is { } s
            ? new DeclaredSource(s.Repository, string.IsNullOrWhiteSpace(s.Ref) ? null : s.Ref)
            : null;

    /// <summary>
    /// The provenance policy of an environment, or the environment-independent one (<paramref name="environment"/> null:
    /// any trusted builder) that every attestation must pass to be kept.
    /// </summary>
    public ProvenancePolicy Provenance(string? environment, string service) => new()
    {
        Environment = environment ?? "(any)",
        TrustedBuilders = _builders.Value,
        AllowedBuilders = environment is not null && Find(environment) is { } e ? e.AllowedBuilders : [],
        Service = service,
        DeclaredSource = SourceOf(service),
    };

    public EnvironmentSupplyChainPolicy Environment(string environment)
    {
        if (Find(environment) is not { } e)
        {
            return new EnvironmentSupplyChainPolicy();
        }

        return new EnvironmentSupplyChainPolicy
        {
            RequireProvenance = e.RequireProvenance,
            RequireSbom = e.RequireSbom,
            Sbom = new SbomPolicy
            {
                MinimumBlockedSeverity = e.MinimumBlockedSeverity is { } s && Severities.TryParse(s, out var severity) ? severity : null,
                AllowedLicenses = e.AllowedLicenses is { } allowed ? new HashSet<string>(allowed, StringComparer.OrdinalIgnoreCase) : null,
                RequireLicence = e.RequireLicence,
                KnownVulnerabilities = e.KnownVulnerabilities
                    .Select(k => new KnownVulnerability(k.Id, Severities.TryParse(k.Severity, out var ks) ? ks : Severity.Unknown, k.AffectsPurl))
                    .ToList(),
            },
        };
    }

    private EnvironmentSupplyChainOptions? Find(string environment) =>
        _options.Environments.FirstOrDefault(kv => string.Equals(kv.Key, environment, StringComparison.OrdinalIgnoreCase)).Value;
}
