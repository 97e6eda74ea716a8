using Deploy.Engine.Domain.SupplyChain;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.SupplyChain;

/// <summary>
/// Turns the "SupplyChain" configuration into the Domain policies the verifier and evaluator apply. The configuration
/// is read live: a key rotated or revoked by a configuration reload applies to the next verification (verifications
/// already recorded stand).
/// </summary>
public sealed class SupplyChainPolicies(IOptionsMonitor<SupplyChainOptions> options)
{
    private volatile BuilderCache? _cache;

    private SupplyChainOptions Current => options.CurrentValue;

    private IReadOnlyList<TrustedBuilder> Builders
    {
        get
        {
            var current = options.CurrentValue;
            if (_cache is { } cache && ReferenceEquals(cache.Options, current))
            {
                return cache.Builders;
            }

            var builders = current.TrustedBuilders
                .Select(b => new TrustedBuilder(b.Id, b.Keys
                    .Select(k => new TrustedKey(k.KeyId, ParseAlgorithm(k.Algorithm) ?? KeyAlgorithm.EcdsaP256Sha256, k.PublicKeyPem, k.NotBefore, k.NotAfter, k.Revoked))
                    .ToList()))
                .ToList();
            _cache = new BuilderCache(current, builders);
            return builders;
        }
    }

    /// <summary>The Domain builders of one options instance (rebuilt when a reload makes a new instance).</summary>
    private sealed record BuilderCache(SupplyChainOptions Options, IReadOnlyList<TrustedBuilder> Builders);

    public TimeSpan MaxWaiverDuration => Current.MaxWaiverDuration;

    /// <summary>The environments that have a supply-chain policy, in name order.</summary>
    public IReadOnlyList<string> Environments => Current.Environments.Keys.Order(StringComparer.Ordinal).ToList();

    public bool HasPolicy(string environment) => Find(environment) is not null;

    public static KeyAlgorithm? ParseAlgorithm(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "ecdsa-p256" or "ecdsa-p256-sha256" or "es256" => KeyAlgorithm.EcdsaP256Sha256,
        "ed25519" => KeyAlgorithm.Ed25519,
        _ => null,
    };

    public DeclaredSource? SourceOf(string service) =>
        Current.Services.FirstOrDefault(kv => string.Equals(kv.Key, service, StringComparison.OrdinalIgnoreCase)).Value is { } s
            ? new DeclaredSource(s.Repository, string.IsNullOrWhiteSpace(s.Ref) ? null : s.Ref)
            : null;

    /// <summary>
    /// The provenance policy of an environment, or the environment-independent one (<paramref name="environment"/> null:
    /// any trusted builder) that every attestation must pass to be kept.
    /// </summary>
    public ProvenancePolicy Provenance(string? environment, string service) => new()
    {
        Environment = environment ?? "(any)",
        TrustedBuilders = Builders,
        AllowedBuilders = environment is not null && Find(environment) is { } e ? e.AllowedBuilders : [],
        Service = service,
        DeclaredSource = SourceOf(service),
        RequireDeclaredSource = environment is not null && Find(environment) is { RequireProvenance: true },
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
        Current.Environments.FirstOrDefault(kv => string.Equals(kv.Key, environment, StringComparison.OrdinalIgnoreCase)).Value;
}
