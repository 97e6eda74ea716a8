namespace Deploy.Engine.Domain.Webhooks;

/// <summary>
/// Which events a webhook subscription receives. Each list narrows: an empty list accepts everything on that axis, a
/// non-empty one accepts an event only if one entry matches. An event that names no environment (or service) never
/// matches a subscription that lists environments (or services): "only staging" does not mean "staging and
/// everything that is about no environment".
/// </summary>
/// <param name="Types">
/// Exact event types (<c>dev.cdevents.service.deployed.0.2.0</c>) or prefixes ending in <c>*</c>
/// (<c>dev.cdevents.service.*</c>, <c>dev.cdeventsx.deploy-engine.rollout.*</c>, or <c>*</c> alone).
/// </param>
public sealed record WebhookFilter(IReadOnlyList<string> Types, IReadOnlyList<string> Environments, IReadOnlyList<string> Services)
{
    public static readonly WebhookFilter Everything = new([], [], []);

    /// <summary>
    /// Worked examples (the table tests reuse them):
    /// <list type="bullet">
    /// <item>types [dev.cdevents.service.*], event dev.cdevents.service.deployed.0.2.0 → match.</item>
    /// <item>environments [staging], event about production → no match; event about no environment → no match.</item>
    /// <item>all lists empty → every event matches.</item>
    /// </list>
    /// </summary>
    public bool Matches(string type, string? environment, string? service) =>
        (Types.Count == 0 || Types.Any(t => TypeMatches(t, type)))
        && (Environments.Count == 0 || (environment is not null && Environments.Contains(environment, StringComparer.Ordinal)))
        && (Services.Count == 0 || (service is not null && Services.Contains(service, StringComparer.Ordinal)));

    /// <summary>A pattern is an exact type or a prefix followed by a single trailing <c>*</c>.</summary>
    public static bool IsPattern(string? pattern) =>
        pattern is { Length: > 0 and <= 200 }
        && pattern.IndexOf('*', StringComparison.Ordinal) is var star && (star < 0 || star == pattern.Length - 1)
        && pattern.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '*');

    private static bool TypeMatches(string pattern, string type) =>
        pattern.EndsWith('*')
            ? type.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, type, StringComparison.Ordinal);
}
