using Deploy.Engine.Domain.Validation;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// The traffic routers this server knows, by name (configuration <c>Traffic:Routers:{name}:Url</c>, bound by the silo's
/// TrafficRouterOptions). A strategy naming any other router is refused at submission, listing the configured ones,
/// rather than failing at its first weight step.
/// </summary>
public static class TrafficRouters
{
    public const string Section = "Traffic:Routers";

    public static IReadOnlyList<string> Configured(IConfiguration configuration) =>
        configuration.GetSection(Section).GetChildren().Select(c => c.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>Adds an error at <paramref name="field"/> unless <paramref name="name"/> is null or configured (case-insensitive, like configuration keys).</summary>
    public static void Validate(string? name, IReadOnlyList<string> configured, string field, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(configured);
        ArgumentNullException.ThrowIfNull(errors);
        if (name is null || configured.Contains(name, StringComparer.OrdinalIgnoreCase)) return;
        errors.Add(field, configured.Count == 0
            ? $"unknown traffic router '{name}': this server has no traffic routers configured (Traffic:Routers); omit trafficRouter to move hosts only"
            : $"unknown traffic router '{name}'.{Suggestions.DidYouMean(name, configured)} Configured routers: {string.Join(", ", configured)}.");
    }
}
