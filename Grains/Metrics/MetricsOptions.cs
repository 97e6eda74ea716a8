using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Metrics;

/// <summary>
/// Metric providers, bound from configuration section "Metrics". Providers are known to the server by name only:
/// a query names a provider, never a URL, so no caller can make the engine fetch from somewhere it chooses (SSRF).
/// <code>
/// Metrics:Prometheus:main:Url   = https://prometheus.internal/        (a path prefix is kept: .../prometheus/)
/// Metrics:Prometheus:main:Token = (optional; sent as "Authorization: Bearer ..."; never logged or returned)
/// Metrics:AttemptTimeout        = 00:00:05
/// Metrics:TotalTimeout          = 00:00:20
/// Metrics:MaxAttempts           = 3
/// Metrics:RetryBaseDelay        = 00:00:00.200
/// Metrics:MaxResponseBytes      = 4194304
/// Metrics:MaxSamples            = 50000
/// </code>
/// </summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Prometheus servers by name (case-insensitive, like configuration keys).</summary>
    public Dictionary<string, PrometheusEndpoint> Prometheus { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Time one HTTP attempt may take, response body included, before it counts as failed and is retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time all attempts and the waits between them may take together.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Attempts in all, the first included (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Median wait before the first retry; it doubles per retry, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest response body read; a longer one fails the query instead of filling memory.</summary>
    public int MaxResponseBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most samples (all series together) one query may return.</summary>
    public int MaxSamples { get; set; } = 50_000;
}

/// <summary>Where one named Prometheus listens. Not a record, so that no ToString ever prints the token.</summary>
public sealed class PrometheusEndpoint
{
    /// <summary>Absolute http or https base URL; <c>api/v1/query_range</c> is resolved under it.</summary>
    public string Url { get; set; } = "";

    /// <summary>Optional bearer token. Requires https unless Prometheus is on loopback.</summary>
    public string? Token { get; set; }
}

/// <summary>Checked at start: a misconfigured provider fails the silo's start, not a canary analysis at 3 a.m.</summary>
public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = new List<string>();
        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            errors.Add("Metrics:AttemptTimeout must be positive.");
        }

        if (options.TotalTimeout < options.AttemptTimeout)
        {
            errors.Add("Metrics:TotalTimeout must be at least Metrics:AttemptTimeout.");
        }

        if (options.MaxAttempts is < 1 or > 10)
        {
            errors.Add("Metrics:MaxAttempts must be between 1 and 10.");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero)
        {
            errors.Add("Metrics:RetryBaseDelay must not be negative.");
        }

        if (options.MaxResponseBytes is < 1024 or > 256 * 1024 * 1024)
        {
            errors.Add("Metrics:MaxResponseBytes must be between 1024 and 268435456.");
        }

        if (options.MaxSamples is < 1 or > 10_000_000)
        {
            errors.Add("Metrics:MaxSamples must be between 1 and 10000000.");
        }

        foreach (var (server, endpoint) in options.Prometheus)
        {
            errors.AddRange(ValidateEndpoint(server, endpoint));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // Messages name the key, never the token, and not the URL either: a URL may carry secrets in its query.
    private static IEnumerable<string> ValidateEndpoint(string server, PrometheusEndpoint? endpoint)
    {
        var key = $"Metrics:Prometheus:{server}";
        if (string.IsNullOrWhiteSpace(server))
        {
            yield return "Metrics:Prometheus has an empty provider name.";
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

        if (url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            yield return $"{key}:Url must be a base URL, without query or fragment.";
        }

        if (endpoint.Token is { } token)
        {
            if (string.IsNullOrWhiteSpace(token) || token.Any(char.IsControl))
            {
                yield return $"{key}:Token must be non-blank and hold no control characters.";
            }

            if (url.Scheme != Uri.UriSchemeHttps && !url.IsLoopback)
            {
                yield return $"{key}:Token is only sent over https (or to a loopback Prometheus).";
            }
        }
    }
}
