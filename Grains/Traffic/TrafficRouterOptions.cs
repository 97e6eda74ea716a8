using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Traffic;

/// <summary>
/// Traffic routers, bound from configuration section "Traffic". Routers are known to the server by name only:
/// a request names a router, never a URL, so no caller can make the engine POST somewhere it chooses (SSRF).
/// <code>
/// Traffic:Routers:edge:Url   = https://lb.internal/weights
/// Traffic:Routers:edge:Token = (optional; sent as "Authorization: Bearer ..."; never logged or returned)
/// Traffic:AttemptTimeout     = 00:00:02
/// Traffic:TotalTimeout       = 00:00:10
/// Traffic:MaxAttempts        = 3
/// Traffic:RetryBaseDelay     = 00:00:00.200
/// </code>
/// </summary>
public sealed class TrafficRouterOptions
{
    public const string Section = "Traffic";

    /// <summary>Routers by name (case-insensitive, like configuration keys).</summary>
    public Dictionary<string, RouterEndpoint> Routers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Time one HTTP attempt may take, response body included, before it counts as failed and is retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time all attempts and the waits between them may take together.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts in all, the first included (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Median wait before the first retry; it doubles per retry, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Where one named router listens. Not a record, so that no ToString ever prints the token.</summary>
public sealed class RouterEndpoint
{
    /// <summary>Absolute http or https URL the change is POSTed to.</summary>
    public string Url { get; set; } = "";

    /// <summary>Optional bearer token. Requires https unless the router is on loopback.</summary>
    public string? Token { get; set; }
}

/// <summary>Checked at start: a misconfigured router fails the silo's start, not a rollout at 3 a.m.</summary>
public sealed class TrafficRouterOptionsValidator : IValidateOptions<TrafficRouterOptions>
{
    public ValidateOptionsResult Validate(string? name, TrafficRouterOptions options)
    {
        var errors = new List<string>();
        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            errors.Add("Traffic:AttemptTimeout must be positive.");
        }

        if (options.TotalTimeout < options.AttemptTimeout)
        {
            errors.Add("Traffic:TotalTimeout must be at least Traffic:AttemptTimeout.");
        }

        if (options.MaxAttempts is < 1 or > 10)
        {
            errors.Add("Traffic:MaxAttempts must be between 1 and 10.");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero)
        {
            errors.Add("Traffic:RetryBaseDelay must not be negative.");
        }

        foreach (var (router, endpoint) in options.Routers)
        {
            errors.AddRange(ValidateEndpoint(router, endpoint));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // Messages name the key, never the token, and not the URL either: a URL may carry secrets in its query.
    private static IEnumerable<string> ValidateEndpoint(string router, RouterEndpoint? endpoint)
    {
        var key = $"Traffic:Routers:{router}";
        if (string.IsNullOrWhiteSpace(router))
        {
            yield return "Traffic:Routers has an empty router name.";
        }

        if (endpoint is null
            || !Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            yield return $"{key}:Url must be an absolute http or https URL.";
            yield break;
        }

        if (url.UserInfo.Length > 0)
        {
            yield return $"{key}:Url must not carry credentials; use {key}:Token.";
        }

        if (endpoint.Token is { } token)
        {
            if (string.IsNullOrWhiteSpace(token) || token.Any(char.IsControl))
            {
                yield return $"{key}:Token must be non-blank and hold no control characters.";
            }

            if (url.Scheme != Uri.UriSchemeHttps && !url.IsLoopback)
            {
                yield return $"{key}:Token is only sent over https (or to a loopback router).";
            }
        }
    }
}
