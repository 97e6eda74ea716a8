using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Environments;

/// <summary>Declared environments, bound from configuration section "Environments".</summary>
public sealed class EnvironmentOptions
{
    public const string Section = "Environments";

    /// <summary>A folder of declaration files (<c>*.json</c>, <c>*.yaml</c>, <c>*.yml</c>) loaded at start; empty: none.</summary>
    public string? DeclarationsPath { get; set; }

    /// <summary>How often each declared environment compares its hosts' reported facts with its baseline.</summary>
    public TimeSpan DriftScanInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an ephemeral environment checks whether its time to live has run out.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);
}

public sealed class EnvironmentOptionsValidator : IValidateOptions<EnvironmentOptions>
{
    public ValidateOptionsResult Validate(string? name, EnvironmentOptions options)
    {
        var failures = new List<string>();
        if (options.DriftScanInterval < TimeSpan.FromSeconds(1) || options.DriftScanInterval > TimeSpan.FromDays(1))
            failures.Add("Environments:DriftScanInterval must be from 00:00:01 to 1.00:00:00");
        if (options.SweepInterval < TimeSpan.FromSeconds(1) || options.SweepInterval > TimeSpan.FromDays(1))
            failures.Add("Environments:SweepInterval must be from 00:00:01 to 1.00:00:00");
        if (!string.IsNullOrWhiteSpace(options.DeclarationsPath) && !Directory.Exists(options.DeclarationsPath))
            failures.Add($"Environments:DeclarationsPath '{options.DeclarationsPath}' is not a folder");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
