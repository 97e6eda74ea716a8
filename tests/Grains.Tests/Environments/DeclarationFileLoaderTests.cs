using Deploy.Engine.Grains.Environments;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Tests.Environments;

/// <summary>The declarations folder read at start: JSON and YAML files together, validated as one batch.</summary>
public sealed class DeclarationFileLoaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("declarations-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Json_and_yaml_files_load_as_one_batch_whose_promotion_order_may_span_files()
    {
        File.WriteAllText(Path.Combine(_folder, "production.yaml"), """
            name: production
            tier: production
            after: staging
            gates: [security-scan]
            dataSources:
              - {name: orders, classification: production}
            baseline:
              services:
                shop: {version: "2.1", configHash: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
              runtime: {os-image: ubuntu-24.04}
            """);
        File.WriteAllText(Path.Combine(_folder, "lower.json"), """
            {"declarations": [
              {"name": "dev", "tier": "development", "dataClassification": "synthetic", "ephemeral": {"owner": "team-a", "ttl": "7d", "hostQuota": 5}},
              {"name": "staging", "tier": "staging", "after": "dev", "dataClassification": "anonymised"}]}
            """);
        File.WriteAllText(Path.Combine(_folder, "notes.txt"), "not a declaration");

        var declarations = DeclarationFileLoader.Read(_folder);

        Assert.Equal(["dev", "staging", "production"], declarations.Select(d => d.Name));
        var production = declarations[2];
        Assert.Equal(EnvironmentTier.Production, production.Tier);
        Assert.True(production.Protected);
        Assert.Equal("2.1", production.Baseline.Services["shop"].Version);
        Assert.Equal("ubuntu-24.04", production.Baseline.Runtime["os-image"]);
        Assert.Equal(7 * 86_400, declarations[0].Ephemeral!.TtlSeconds);
    }

    [Fact]
    public void An_invalid_file_stops_the_start_naming_the_file_and_the_field()
    {
        File.WriteAllText(Path.Combine(_folder, "staging.yml"), "name: staging\ntier: staging\ndataClassification: production\n");
        File.WriteAllText(Path.Combine(_folder, "prod.yml"), "name: prod\ntier: production\nafter: qa\n");
        File.WriteAllText(Path.Combine(_folder, "broken.json"), "{\"name\": ");

        var error = Assert.Throws<OptionsValidationException>(() => DeclarationFileLoader.Read(_folder));

        Assert.Contains(error.Failures, f => f.StartsWith(_folder + "/staging.yml:dataClassification: a non-production environment must use synthetic or anonymised data", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("prod.yml:after: environment 'qa' is not declared", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("broken.json: not valid JSON", StringComparison.Ordinal));
    }

    [Fact]
    public void A_promotion_order_that_loops_is_refused()
    {
        File.WriteAllText(Path.Combine(_folder, "loop.yaml"), """
            declarations:
              - {name: a, tier: staging, dataClassification: synthetic, after: b}
              - {name: b, tier: staging, dataClassification: synthetic, after: a}
            """);

        var error = Assert.Throws<OptionsValidationException>(() => DeclarationFileLoader.Read(_folder));
        Assert.Contains(error.Failures, f => f.Contains("promotion order loops: a after b after a", StringComparison.Ordinal));
    }
}
