using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

using Deploy.Engine.Grains.Outbound;
using static Deploy.Engine.Grains.Outbound.OutboundHttp;

namespace Deploy.Engine.Grains.Traffic;

/// <summary>
/// POSTs a <see cref="TrafficChange"/> as JSON to the router configured under its name
/// (<see cref="TrafficRouterOptions"/>), through a Polly pipeline:
/// total timeout ⊃ retry (exponential backoff with jitter) ⊃ per-attempt timeout.
/// <list type="bullet">
/// <item>2xx: applied.</item>
/// <item>5xx, 408, 429, a transport error or an attempt timeout: retried, up to <see cref="TrafficRouterOptions.MaxAttempts"/>.</item>
/// <item>any other status (4xx, and 3xx: redirects are not followed, so a router cannot send the engine elsewhere): failed at once.</item>
/// </list>
/// Retrying a POST is safe because a change is the desired split, not a delta.
/// </summary>
public sealed partial class HttpTrafficRouter : ITrafficRouter
{
    /// <summary>The named <see cref="HttpClient"/> the router posts through.</summary>
    public const string HttpClientName = "Deploy.Engine.Traffic";

    private readonly IHttpClientFactory _clients;
    private readonly TrafficRouterOptions _options;
    private readonly ILogger<HttpTrafficRouter> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public HttpTrafficRouter(
        IHttpClientFactory clients,
        IOptions<TrafficRouterOptions> options,
        TimeProvider clock,
        ILogger<HttpTrafficRouter> logger)
    {
        _clients = clients;
        _options = options.Value;
        _logger = logger;
        _pipeline = OutboundHttp.Pipeline<HttpResponseMessage>(_options, clock, r => IsTransient(r.StatusCode));
    }

    public async Task<TrafficResult> Apply(TrafficChange change, CancellationToken cancellationToken)
    {
        using var span = Telemetry.EngineTelemetry.Start("traffic.apply", System.Diagnostics.ActivityKind.Client,
            rollout: change.RolloutId, environment: change.Environment, service: change.Service);
        span?.SetTag("deploy.traffic.router", change.Router);
        span?.SetTag("deploy.traffic.canary_weight", change.CanaryWeight);
        if (string.IsNullOrEmpty(change.Router))
        {
            // Callers skip the hook when a rollout names no router; reaching here is a caller bug, not an outage.
            return TrafficResult.Fail("no traffic router is named for this rollout");
        }

        if (!_options.Routers.TryGetValue(change.Router, out var endpoint) || endpoint is null)
        {
            LogUnknownRouter(_logger, change.Router, change.RolloutId);
            return TrafficResult.Fail($"no traffic router named '{change.Router}' is configured");
        }

        var call = new Call(change.Router, _clients.CreateClient(HttpClientName), endpoint, Serialize(change), _logger);
        TrafficResult result;
        try
        {
            using var response = await _pipeline.ExecuteAsync(static (call, token) => call.Send(token), call, cancellationToken);
            result = response.IsSuccessStatusCode
                ? TrafficResult.Success
                : TrafficResult.Fail(IsTransient(response.StatusCode)
                    ? $"router '{change.Router}' answered {(int)response.StatusCode} after {Attempts(call.Attempts)}"
                    : $"router '{change.Router}' answered {(int)response.StatusCode} (not retried: the router refused the change)");
        }
        catch (TimeoutRejectedException)
        {
            result = TrafficResult.Fail(
                $"router '{change.Router}' timed out after {Attempts(call.Attempts)} " +
                $"({Seconds(_options.AttemptTimeout)} per attempt, {Seconds(_options.TotalTimeout)} in all); last attempt: {call.Last}");
        }
        catch (HttpRequestException e)
        {
            result = TrafficResult.Fail($"router '{change.Router}' could not be reached after {Attempts(call.Attempts)} ({Describe(e)})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A cancellation nobody asked for (a handler's own timeout): an unanswered attempt, not the caller's abort.
            result = TrafficResult.Fail($"router '{change.Router}' gave no answer after {Attempts(call.Attempts)}");
        }

        if (!result.Ok) span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Error);
        if (result.Ok)
        {
            LogApplied(_logger, change.Router, change.RolloutId, change.Version, change.CanaryWeight, call.Attempts);
        }
        else
        {
            LogFailed(_logger, change.Router, change.RolloutId, result.Error);
        }

        return result;
    }

    /// <summary>408 Request Timeout, 429 Too Many Requests and every 5xx are worth another attempt.</summary>
    public static bool IsTransient(HttpStatusCode status) => OutboundHttp.IsTransient(status);

    private static byte[] Serialize(TrafficChange change) => JsonSerializer.SerializeToUtf8Bytes(
        new RouterPayload(change.RolloutId, change.Environment, change.Service, change.Version,
            change.StableVersion, change.CanaryWeight, change.ActiveSlot),
        JsonSerializerOptions.Web);

    /// <summary>The body the router receives (camelCase JSON).</summary>
    private sealed record RouterPayload(
        string RolloutId,
        string Environment,
        string Service,
        string Version,
        string? StableVersion,
        int CanaryWeight,
        string? ActiveSlot);

    /// <summary>One Apply: the attempts made so far and how the last one ended.</summary>
    private sealed class Call(string router, HttpClient http, RouterEndpoint endpoint, byte[] body, ILogger logger)
    {
        public int Attempts { get; private set; }

        public string Last { get; private set; } = "none made";

        public async ValueTask<HttpResponseMessage> Send(CancellationToken cancellationToken)
        {
            Attempts++;
            // A request message is single-use: each attempt builds its own.
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } },
            };
            if (!string.IsNullOrEmpty(endpoint.Token))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
            }

            try
            {
                var response = await http.SendAsync(request, cancellationToken);
                Last = $"answered {(int)response.StatusCode}";
                if (!response.IsSuccessStatusCode)
                {
                    LogAttemptFailed(logger, router, Attempts, Last);
                }

                return response;
            }
            catch (HttpRequestException e)
            {
                Last = $"unreachable ({Describe(e)})";
                LogAttemptFailed(logger, router, Attempts, Last);
                throw;
            }
            catch (OperationCanceledException)
            {
                Last = "no answer in time";
                LogAttemptFailed(logger, router, Attempts, Last);
                throw;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Traffic router {Router} applied rollout {RolloutId}: version {Version} at {CanaryWeight}% after {Attempts} attempt(s)")]
    private static partial void LogApplied(ILogger logger, string router, string rolloutId, string version, int canaryWeight, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Traffic router {Router} failed for rollout {RolloutId}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string router, string rolloutId, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId} names traffic router {Router}, which is not configured")]
    private static partial void LogUnknownRouter(ILogger logger, string router, string rolloutId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Traffic router {Router} attempt {Attempt}: {Outcome}")]
    private static partial void LogAttemptFailed(ILogger logger, string router, int attempt, string outcome);
}
