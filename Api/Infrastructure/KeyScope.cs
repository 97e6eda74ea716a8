using System.Security.Claims;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// What a key may see: the environments (<see cref="ApiKey.Environments"/>) and services (<see cref="ApiKey.Services"/>)
/// it is scoped to; an empty set means unscoped on that axis. Lists and the event stream show only what is inside.
/// </summary>
public sealed record KeyScope(IReadOnlySet<string> Environments, IReadOnlySet<string> Services)
{
    public static KeyScope Of(ClaimsPrincipal user) => new(
        user.FindAll(CallerExtensions.EnvironmentClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
        user.FindAll(CallerExtensions.ServiceClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));

    public bool AllowsEnvironment(string? environment) =>
        Environments.Count == 0 || (environment is not null && Environments.Contains(environment));

    public bool AllowsService(string? service) =>
        Services.Count == 0 || (service is not null && Services.Contains(service));

    /// <summary>A refusal for a filter naming something outside the scope, or null when the filters are inside it.</summary>
    public string? Refusal(string? environment, string? service) =>
        environment is not null && !AllowsEnvironment(environment)
            ? $"this key is scoped to environments {string.Join(", ", Environments.Order(StringComparer.Ordinal))}; '{environment}' is outside it"
            : service is not null && !AllowsService(service)
                ? $"this key is scoped to services {string.Join(", ", Services.Order(StringComparer.Ordinal))}; '{service}' is outside it"
                : null;
}
