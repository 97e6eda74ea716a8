namespace Deploy.Engine.Domain.Environments;

/// <summary>What an environment declares it runs: a version and configuration hash per service, and runtime facts.</summary>
public sealed record Baseline(IReadOnlyDictionary<string, ServiceBaseline> Services, IReadOnlyDictionary<string, string> Runtime)
{
    public static readonly Baseline Empty = new(new Dictionary<string, ServiceBaseline>(), new Dictionary<string, string>());
}

/// <summary>A declared service: its version and, when declared, the hash of its rendered configuration.</summary>
public sealed record ServiceBaseline(string? Version, string? ConfigHash);

/// <summary>What an agent reports a host actually runs.</summary>
public sealed record HostFacts(IReadOnlyDictionary<string, ServiceFacts> Services, IReadOnlyDictionary<string, string> Runtime);

public sealed record ServiceFacts(string? Version, string? Artifact, string? ConfigHash);

/// <summary>
/// One field that differs, named by its path in the declaration format (<c>services.shop.version</c>,
/// <c>runtime.os-image</c>); null where a side has no value.
/// </summary>
public sealed record FieldDifference(string Field, string? Expected, string? Actual);

/// <summary>Field paths, one spelling for parity, drift and acceptance.</summary>
public static class BaselineFields
{
    public static string Version(string service) => $"services.{service}.version";

    public static string ConfigHash(string service) => $"services.{service}.configHash";

    public static string Runtime(string key) => $"runtime.{key}";
}
