using System.Security.Cryptography;
using Deploy.Engine.Domain.SupplyChain;
using Deploy.Engine.Grains.SupplyChain;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Tests.SupplyChain;

/// <summary>The "SupplyChain" section: what refuses to start, and the policies built from what starts.</summary>
public sealed class SupplyChainOptionsTests
{
    private static readonly string EcPem = NewEcPem();

    private static string NewEcPem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportSubjectPublicKeyInfoPem();
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSupplyChain(configuration).BuildServiceProvider();
    }

    private static Dictionary<string, string?> Valid() => new()
    {
        ["SupplyChain:TrustedBuilders:0:Id"] = "https://ci.example/builder",
        ["SupplyChain:TrustedBuilders:0:Keys:0:KeyId"] = "k1",
        ["SupplyChain:TrustedBuilders:0:Keys:0:Algorithm"] = "ecdsa-p256",
        ["SupplyChain:TrustedBuilders:0:Keys:0:PublicKeyPem"] = EcPem,
        ["SupplyChain:Environments:production:RequireProvenance"] = "true",
        ["SupplyChain:Environments:production:MinimumBlockedSeverity"] = "high",
        ["SupplyChain:Environments:production:AllowedLicenses:0"] = "MIT",
        ["SupplyChain:Services:shop:Repository"] = "https://github.com/acme/shop",
    };

    [Fact]
    public void A_valid_section_becomes_environment_and_provenance_policies()
    {
        using var services = Build(Valid());
        var policies = services.GetRequiredService<SupplyChainPolicies>();

        var production = policies.Environment("production");
        Assert.True(production.RequireProvenance);
        Assert.Equal(Severity.High, production.Sbom.MinimumBlockedSeverity);
        Assert.True(production.Sbom.AllowedLicenses!.Contains("mit"));
        Assert.False(policies.HasPolicy("dev"));
        Assert.False(policies.Environment("dev").ChecksSbom);

        var provenance = policies.Provenance("production", "shop");
        Assert.Equal("k1", Assert.Single(Assert.Single(provenance.TrustedBuilders).Keys).KeyId);
        Assert.Equal(new DeclaredSource("https://github.com/acme/shop", null), provenance.DeclaredSource);
    }

    [Theory]
    [InlineData("SupplyChain:TrustedBuilders:0:Keys:0:PublicKeyPem", "not a key", "SupplyChain:TrustedBuilders:0:Keys:0:PublicKeyPem is not a readable EcdsaP256Sha256 public key PEM")]
    [InlineData("SupplyChain:TrustedBuilders:0:Keys:0:Algorithm", "rsa", "SupplyChain:TrustedBuilders:0:Keys:0:Algorithm must be 'ecdsa-p256' or 'ed25519'")]
    [InlineData("SupplyChain:TrustedBuilders:0:Keys:0:Algorithm", "ed25519", "SupplyChain:TrustedBuilders:0:Keys:0:PublicKeyPem is not an Ed25519 SubjectPublicKeyInfo PEM")]
    [InlineData("SupplyChain:Environments:production:MinimumBlockedSeverity", "severe", "SupplyChain:Environments:production:MinimumBlockedSeverity must be critical, high, medium, low or info")]
    [InlineData("SupplyChain:TrustedBuilders:0:Keys:1:KeyId", "k1", "SupplyChain:TrustedBuilders:0:Keys:1:KeyId 'k1' is used by another key")]
    public void A_section_that_cannot_be_applied_refuses_to_start_naming_the_setting(string key, string value, string error)
    {
        var settings = Valid();
        settings[key] = value;
        if (key.Contains(":Keys:1:", StringComparison.Ordinal))
        {
            settings["SupplyChain:TrustedBuilders:0:Keys:1:PublicKeyPem"] = EcPem;
        }

        using var services = Build(settings);
        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<SupplyChainOptions>>().Value);
        Assert.Contains(error, failure.Failures);
    }
}
