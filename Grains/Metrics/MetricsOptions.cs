using Deploy.Engine.Grains.Outbound;
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
public sealed class MetricsOptions : OutboundHttpOptions
{
    public const string Section = "Metrics";

    public MetricsOptions()
    {
        AttemptTimeout = TimeSpan.FromSeconds(5);
        TotalTimeout = TimeSpan.FromSeconds(20);
    }

    /// <summary>Prometheus servers by name (case-insensitive, like configuration keys).</summary>
    public Dictionary<string, PrometheusEndpoint> Prometheus { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Largest response body read; a longer one fails the query instead of filling memory.</summary>
    public int MaxResponseBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most samples (all series together) one query may return.</summary>
    public int MaxSamples { get; set; } = 50_000;
}

/// <summary>Where one named Prometheus listens: <c>api/v1/query_range</c> is resolved under its base URL.</summary>
public sealed class PrometheusEndpoint : OutboundEndpoint;

/// <summary>Checked at start: a misconfigured provider fails the silo's start, not a canary analysis at 3 a.m.</summary>
public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = OutboundHttp.ValidateTiming(options, MetricsOptions.Section).ToList();
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
            if (string.IsNullOrWhiteSpace(server)) errors.Add("Metrics:Prometheus has an empty provider name.");
            errors.AddRange(OutboundHttp.ValidateEndpoint($"Metrics:Prometheus:{server}", endpoint, "Prometheus", baseUrlOnly: true));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
