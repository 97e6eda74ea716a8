using System.Security.Claims;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// What a key may see and change: the environments (<see cref="ApiKey.Environments"/>) and services
/// (<see cref="ApiKey.Services"/>) it is scoped to; an empty set means unscoped on that axis. Every route holds it
/// (<see cref="KeyScopeFilter"/>); lists and the event stream show only what is inside.
/// </summary>
public sealed record KeyScope(IReadOnlySet<string> Environments, IReadOnlySet<string> Services)
{
    public static KeyScope Of(ClaimsPrincipal user) => new(
        user.FindAll(CallerExtensions.EnvironmentClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
        user.FindAll(CallerExtensions.ServiceClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));

    /// <summary>True for a key scoped on neither axis: it passes every scope check without a lookup.</summary>
    public bool IsUnscoped => Environments.Count == 0 && Services.Count == 0;

    public bool AllowsEnvironment(string? environment) =>
        Environments.Count == 0 || (environment is not null && Environments.Contains(environment));

    public bool AllowsService(string? service) =>
        Services.Count == 0 || (service is not null && Services.Contains(service));

    /// <summary>"this key is scoped to environments a, b and services x": how every scope refusal starts.</summary>
    public string Describe() => "this key is scoped to " + string.Join(" and ", new[]
    {
        Environments.Count == 0 ? null : "environments " + string.Join(", ", Environments.Order(StringComparer.Ordinal)),
        Services.Count == 0 ? null : "services " + string.Join(", ", Services.Order(StringComparer.Ordinal)),
    }.OfType<string>());

    /// <summary>A refusal for a filter naming something outside the scope, or null when the filters are inside it.</summary>
    public string? Refusal(string? environment, string? service) =>
        environment is not null && !AllowsEnvironment(environment)
            ? $"this key is scoped to environments {string.Join(", ", Environments.Order(StringComparer.Ordinal))}; '{environment}' is outside it"
            : service is not null && !AllowsService(service)
                ? $"this key is scoped to services {string.Join(", ", Services.Order(StringComparer.Ordinal))}; '{service}' is outside it"
                : null;

    /// <summary>
    /// A refusal when what a request touches is not wholly inside the scope, or null when it is. Worked examples, for a
    /// key scoped to environment staging and service shop:
    /// rollout (staging, shop) → null; rollout (production, shop) → "… 'production' is outside it";
    /// the whole of environment staging → "… environment 'staging' reaches every service: this route changes the whole environment, …";
    /// release of cart → "… 'cart' is outside it"; an incident of every environment → "… reaches every environment";
    /// a release that does not exist → "… is not inside it (or does not exist)".
    /// </summary>
    public string? Refusal(ScopeTouch touch)
    {
        if (!touch.Exists) return $"{Describe()}; {touch.Named} is not inside it (or does not exist)";
        return Axis(Environments, "environments", "environment", touch.Environment, touch)
            ?? (Axis(Services, "services", "service", touch.Service, touch) is { } service ? touch.Because is null ? service : $"{service}: {touch.Because}" : null);
    }

    private static string? Axis(IReadOnlySet<string> allowed, string plural, string singular, Touch touched, ScopeTouch touch)
    {
        if (allowed.Count == 0) return null;
        var scoped = $"this key is scoped to {plural} {string.Join(", ", allowed.Order(StringComparer.Ordinal))}";
        switch (touched.Kind)
        {
            case TouchKind.Nothing:
                return null;
            case TouchKind.Everything:
                return $"{scoped}; {touch.Named} reaches every {singular}";
            case TouchKind.AnyOf:
                return touched.Names.Any(n => n is not null && allowed.Contains(n)) ? null : $"{scoped}; {touch.Named} is in none of them";
            default:
                if (touched.Names.Count == 0 || touched.Names.Any(string.IsNullOrEmpty))
                    return $"{scoped}; {touch.Named} names no {singular}, so it is not inside them (name one of yours)";
                return touched.Names.FirstOrDefault(n => !allowed.Contains(n!)) is { } outside ? $"{scoped}; '{outside}' is outside it" : null;
        }
    }
}

public enum TouchKind
{
    /// <summary>The request does not touch this axis (a release has no environment).</summary>
    Nothing,

    /// <summary>Every name must be inside the scope; a missing name is outside.</summary>
    AllOf,

    /// <summary>One name inside is enough (an artifact is readable by a key scoped to any service that releases it).</summary>
    AnyOf,

    /// <summary>The request reaches every name on this axis: no key scoped on it may make it.</summary>
    Everything,
}

/// <summary>What a request touches on one axis of the scope.</summary>
public sealed record Touch(TouchKind Kind, IReadOnlyList<string?> Names)
{
    public static readonly Touch Nothing = new(TouchKind.Nothing, []);

    public static readonly Touch Everything = new(TouchKind.Everything, []);

    public static Touch AllOf(params string?[] names) => new(TouchKind.AllOf, names);

    public static Touch AnyOf(IEnumerable<string> names) => new(TouchKind.AnyOf, names.Distinct(StringComparer.Ordinal).ToList());
}

/// <summary>
/// The environments and services a request touches, and how to name what it touches in a refusal; <see cref="Because"/>,
/// when set, says why the request touches every service it does (a change to a whole environment or host), after a
/// refusal on the services axis.
/// </summary>
public sealed record ScopeTouch(string What, string? Id, Touch Environment, Touch Service, bool Exists = true)
{
    public string? Because { get; init; }

    public static ScopeTouch Of(string what, string? id, Touch? environment = null, Touch? service = null) =>
        new(what, id, environment ?? Touch.Nothing, service ?? Touch.Nothing);

    /// <summary>A resource that does not exist: outside every scope, with the same answer as one that is outside.</summary>
    public static ScopeTouch Missing(string what, string? id) => new(what, id, Touch.Nothing, Touch.Nothing, Exists: false);

    public ScopeTouch Naming(string what, string? id) => this with { What = what, Id = id };

    /// <summary>"rollout 'rel-1.production'", or just what it is when there is no id ("this list").</summary>
    public string Named => string.IsNullOrEmpty(Id) ? What : $"{What} '{Id}'";
}
