using System.Globalization;
using System.Net;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Deploy.Engine.Grains.Outbound;

/// <summary>Timing of the calls that leave the process (traffic routers, metric providers); each section sets its own defaults.</summary>
public abstract class OutboundHttpOptions
{
    /// <summary>Time one HTTP attempt may take, response body included, before it counts as failed and is retried.</summary>
    public TimeSpan AttemptTimeout { get; set; }

    /// <summary>Time all attempts and the waits between them may take together.</summary>
    public TimeSpan TotalTimeout { get; set; }

    /// <summary>Attempts in all, the first included (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Median wait before the first retry; it doubles per retry, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Where one named server listens. Not a record, so that no ToString ever prints the token.</summary>
public class OutboundEndpoint
{
    /// <summary>Absolute http or https URL.</summary>
    public string Url { get; set; } = "";

    /// <summary>Optional bearer token. Requires https unless the server is on loopback.</summary>
    public string? Token { get; set; }
}

/// <summary>
/// What every outbound HTTP client of the engine shares: option checks at start, the Polly pipeline
/// (total timeout ⊃ retry with jittered exponential backoff ⊃ per-attempt timeout), which answers are transient,
/// and error wording that never quotes a URL or a token.
/// </summary>
public static class OutboundHttp
{
    public static IEnumerable<string> ValidateTiming(OutboundHttpOptions options, string section)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AttemptTimeout <= TimeSpan.Zero) yield return $"{section}:AttemptTimeout must be positive.";
        if (options.TotalTimeout < options.AttemptTimeout) yield return $"{section}:TotalTimeout must be at least {section}:AttemptTimeout.";
        if (options.MaxAttempts is < 1 or > 10) yield return $"{section}:MaxAttempts must be between 1 and 10.";
        if (options.RetryBaseDelay < TimeSpan.Zero) yield return $"{section}:RetryBaseDelay must not be negative.";
    }

    /// <summary>
    /// Checks one named endpoint under <paramref name="key"/> (e.g. <c>Traffic:Routers:edge</c>). Messages name the key,
    /// never the token, and not the URL either: a URL may carry secrets in its query.
    /// </summary>
    public static IEnumerable<string> ValidateEndpoint(string key, OutboundEndpoint? endpoint, string what, bool baseUrlOnly = false)
    {
        if (endpoint is null
            || !Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            yield return $"{key}:Url must be an absolute http or https URL.";
            yield break;
        }

        if (url.UserInfo.Length > 0) yield return $"{key}:Url must not carry credentials; use {key}:Token.";
        if (baseUrlOnly && (url.Query.Length > 0 || url.Fragment.Length > 0)) yield return $"{key}:Url must be a base URL, without query or fragment.";
        if (endpoint.Token is { } token)
        {
            if (string.IsNullOrWhiteSpace(token) || token.Any(char.IsControl)) yield return $"{key}:Token must be non-blank and hold no control characters.";
            if (url.Scheme != Uri.UriSchemeHttps && !url.IsLoopback) yield return $"{key}:Token is only sent over https (or to a loopback {what}).";
        }
    }

    public static ResiliencePipeline<T> Pipeline<T>(OutboundHttpOptions options, TimeProvider clock, Func<T, bool> transient)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new ResiliencePipelineBuilder<T> { TimeProvider = clock }.AddTimeout(options.TotalTimeout);
        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                ShouldHandle = new PredicateBuilder<T>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(transient),
            });
        }

        return builder.AddTimeout(options.AttemptTimeout).Build();
    }

    /// <summary>Worth another attempt: 408, 429 and every 5xx.</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    public static string Attempts(int n) => n == 1 ? "1 attempt" : $"{n} attempts";

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    /// <summary>The error kind only: an exception message may quote the URL.</summary>
    public static string Describe(HttpRequestException e) => e?.HttpRequestError switch
    {
        HttpRequestError.Unknown or null => "transport error",
        var kind => kind.ToString()!,
    };
}
