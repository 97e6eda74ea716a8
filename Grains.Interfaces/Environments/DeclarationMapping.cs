using Deploy.Engine.Domain.Environments;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Wire records to the Domain's comparers and back.</summary>
public static class DeclarationMapping
{
    public static Baseline ToDomain(this BaselineSpec baseline) => new(
        baseline.Services.ToDictionary(s => s.Key, s => new ServiceBaseline(s.Value.Version, s.Value.ConfigHash), StringComparer.Ordinal),
        new Dictionary<string, string>(baseline.Runtime, StringComparer.Ordinal));

    public static BaselineSpec ToWire(this Baseline baseline) => new()
    {
        Services = baseline.Services.ToDictionary(s => s.Key, s => new ServiceBaselineSpec { Version = s.Value.Version, ConfigHash = s.Value.ConfigHash }, StringComparer.Ordinal),
        Runtime = new Dictionary<string, string>(baseline.Runtime, StringComparer.Ordinal),
    };

    public static HostFacts ToDomain(this HostFactsReport facts) => new(
        facts.Services.ToDictionary(s => s.Key, s => new ServiceFacts(s.Value.Version, s.Value.Artifact, s.Value.ConfigHash), StringComparer.Ordinal),
        new Dictionary<string, string>(facts.Runtime, StringComparer.Ordinal));

    public static DriftField ToWire(this FieldDifference difference) =>
        new() { Field = difference.Field, Expected = difference.Expected, Actual = difference.Actual };

    public static DataClass ToDomain(this DataClassification classification) => classification switch
    {
        DataClassification.Synthetic => DataClass.Synthetic,
        DataClassification.Anonymised => DataClass.Anonymised,
        _ => DataClass.Production,
    };
}
