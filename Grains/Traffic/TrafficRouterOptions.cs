using Deploy.Engine.Grains.Outbound;
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
public sealed class TrafficRouterOptions : OutboundHttpOptions
{
    public const string Section = "Traffic";

    public TrafficRouterOptions()
    {
        AttemptTimeout = TimeSpan.FromSeconds(2);
        TotalTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>Routers by name (case-insensitive, like configuration keys).</summary>
    public Dictionary<string, RouterEndpoint> Routers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Where one named router listens: the change is POSTed to its URL.</summary>
public sealed class RouterEndpoint : OutboundEndpoint;

/// <summary>Checked at start: a misconfigured router fails the silo's start, not a rollout at 3 a.m.</summary>
public sealed class TrafficRouterOptionsValidator : IValidateOptions<TrafficRouterOptions>
{
    public ValidateOptionsResult Validate(string? name, TrafficRouterOptions options)
    {
        var errors = OutboundHttp.ValidateTiming(options, TrafficRouterOptions.Section).ToList();
        foreach (var (router, endpoint) in options.Routers)
        {
            if (string.IsNullOrWhiteSpace(router)) errors.Add("Traffic:Routers has an empty router name.");
            errors.AddRange(OutboundHttp.ValidateEndpoint($"Traffic:Routers:{router}", endpoint, "router"));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
