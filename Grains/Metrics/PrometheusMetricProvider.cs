using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

using Deploy.Engine.Grains.Outbound;
using static Deploy.Engine.Grains.Outbound.OutboundHttp;

namespace Deploy.Engine.Grains.Metrics;

/// <summary>
/// Runs a templated PromQL range query (<c>GET {Url}/api/v1/query_range?query=&amp;start=&amp;end=&amp;step=</c>, times in
/// unix seconds) against the Prometheus configured under the query's provider name (<see cref="MetricsOptions"/>),
/// through a Polly pipeline: total timeout ⊃ retry (exponential backoff with jitter) ⊃ per-attempt timeout, where an
/// attempt includes reading the body.
/// <list type="bullet">
/// <item>2xx: the body is read (at most <see cref="MetricsOptions.MaxResponseBytes"/>) and checked by <see cref="PrometheusResponse"/>.</item>
/// <item>5xx, 408, 429, a transport error or an attempt timeout: retried, up to <see cref="MetricsOptions.MaxAttempts"/>.</item>
/// <item>any other status (400 / 422 bad query, 3xx: redirects are not followed): failed at once, quoting Prometheus' error when it gave one.</item>
/// </list>
/// The answer is untrusted: every problem with it is a failed result with a short reason, never an exception.
/// Only the caller's own cancellation throws.
/// </summary>
public sealed partial class PrometheusMetricProvider : IMetricProvider
{
    /// <summary>The named <see cref="HttpClient"/> queries go through.</summary>
    public const string HttpClientName = "Deploy.Engine.Metrics";

    private readonly IHttpClientFactory _clients;
    private readonly MetricsOptions _options;
    private readonly ILogger<PrometheusMetricProvider> _logger;
    private readonly ResiliencePipeline<Reply> _pipeline;

    public PrometheusMetricProvider(
        IHttpClientFactory clients,
        IOptions<MetricsOptions> options,
        TimeProvider clock,
        ILogger<PrometheusMetricProvider> logger)
    {
        _clients = clients;
        _options = options.Value;
        _logger = logger;
        _pipeline = OutboundHttp.Pipeline<Reply>(_options, clock, r => IsTransient(r.Status));
    }

    public async Task<MetricSeriesResult> QueryRange(MetricQuery query, CancellationToken ct)
    {
        using var span = Telemetry.EngineTelemetry.Start("metrics.query_range", System.Diagnostics.ActivityKind.Client,
            environment: query.Variables.GetValueOrDefault("environment") is { Length: > 0 } environment ? environment : null,
            service: query.Variables.GetValueOrDefault("service") is { Length: > 0 } service ? service : null);
        span?.SetTag("deploy.version", query.Variables.GetValueOrDefault("version"));
        span?.SetTag("deploy.metrics.provider", query.Provider);
        if (!_options.Prometheus.TryGetValue(query.Provider ?? "", out var endpoint) || endpoint is null)
        {
            return Failed(query.Provider ?? "", $"no Prometheus named '{PrometheusResponse.Clean(query.Provider ?? "")}' is configured");
        }

        var promQl = PromQlTemplate.Render(query.Query ?? "", query.Variables ?? new Dictionary<string, string>(), out var templateError);
        if (promQl is null)
        {
            return Failed(query.Provider!, templateError!);
        }

        if (query.Step <= TimeSpan.Zero || query.End < query.Start)
        {
            return Failed(query.Provider!, "query needs a positive step and an end not before its start");
        }

        var call = new Call(query.Provider!, _clients.CreateClient(HttpClientName), endpoint, RangeUrl(endpoint.Url, promQl, query), _options.MaxResponseBytes, _logger);
        MetricSeriesResult result;
        try
        {
            var reply = await _pipeline.ExecuteAsync(static (call, token) => call.Send(token), call, ct);
            result = Interpret(query.Provider!, reply, call.Attempts);
        }
        catch (TimeoutRejectedException)
        {
            result = MetricSeriesResult.Fail(
                $"Prometheus '{query.Provider}' timed out after {Attempts(call.Attempts)} " +
                $"({Seconds(_options.AttemptTimeout)} per attempt, {Seconds(_options.TotalTimeout)} in all); last attempt: {call.Last}");
        }
        catch (HttpRequestException e)
        {
            result = MetricSeriesResult.Fail($"Prometheus '{query.Provider}' could not be reached after {Attempts(call.Attempts)} ({Describe(e)})");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // A cancellation nobody asked for (a handler's own timeout): an unanswered attempt, not the caller's abort.
            result = MetricSeriesResult.Fail($"Prometheus '{query.Provider}' gave no answer after {Attempts(call.Attempts)}");
        }

        if (!result.Ok)
        {
            // Prometheus' error text is untrusted and could echo the request: the token never leaves in a result.
            result = Redact(result, endpoint.Token);
            LogFailed(_logger, query.Provider!, result.Error);
        }
        else
        {
            LogQueried(_logger, query.Provider!, result.Values.Count, call.Attempts);
        }

        return result;
    }

    /// <summary>408 Request Timeout, 429 Too Many Requests and every 5xx are worth another attempt.</summary>
    public static bool IsTransient(HttpStatusCode status) => OutboundHttp.IsTransient(status);

    /// <summary>
    /// <c>{base}/api/v1/query_range?...</c>, keeping a base path (<c>https://host/prometheus</c> →
    /// <c>https://host/prometheus/api/v1/query_range</c>); times as unix seconds with milliseconds, step in seconds.
    /// </summary>
    public static Uri RangeUrl(string baseUrl, string promQl, MetricQuery query)
    {
        var root = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/", UriKind.Absolute);
        var parameters =
            $"query={Uri.EscapeDataString(promQl)}" +
            $"&start={UnixSeconds(query.Start)}" +
            $"&end={UnixSeconds(query.End)}" +
            $"&step={query.Step.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}";
        return new Uri(root, "api/v1/query_range?" + parameters);
    }

    private MetricSeriesResult Interpret(string provider, Reply reply, int attempts)
    {
        if (reply.TooLarge)
        {
            return MetricSeriesResult.Fail(
                $"Prometheus '{provider}' answered more than {_options.MaxResponseBytes.ToString(CultureInfo.InvariantCulture)} bytes (Metrics:MaxResponseBytes); narrow the query");
        }

        var values = PrometheusResponse.Parse(reply.Body, _options.MaxSamples, out var error, out var isErrorAnswer);
        var status = (int)reply.Status;
        if (reply.Status is >= HttpStatusCode.OK and < HttpStatusCode.MultipleChoices)
        {
            return values is not null
                ? MetricSeriesResult.Success(values)
                : MetricSeriesResult.Fail(isErrorAnswer
                    ? $"Prometheus '{provider}' refused the query: {error}"
                    : $"Prometheus '{provider}' sent an unusable answer: {error}");
        }

        var after = IsTransient(reply.Status) ? $" after {Attempts(attempts)}" : "";
        return MetricSeriesResult.Fail(isErrorAnswer
            ? $"Prometheus '{provider}' answered {status}{after}: {error}"
            : $"Prometheus '{provider}' answered {status}{after}");
    }

    private static MetricSeriesResult Redact(MetricSeriesResult result, string? token) =>
        string.IsNullOrEmpty(token) || result.Error is null || !result.Error.Contains(token, StringComparison.Ordinal)
            ? result
            : result with { Error = result.Error.Replace(token, "[redacted]", StringComparison.Ordinal) };

    private MetricSeriesResult Failed(string provider, string error)
    {
        LogFailed(_logger, provider, error);
        return MetricSeriesResult.Fail(error);
    }

    private static string UnixSeconds(DateTimeOffset t) =>
        (t.ToUnixTimeMilliseconds() / 1000m).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>What one attempt got: the status and the body read (empty when <see cref="TooLarge"/>).</summary>
    private sealed record Reply(HttpStatusCode Status, byte[] Body, bool TooLarge);

    /// <summary>One QueryRange: the attempts made so far and how the last one ended.</summary>
    private sealed class Call(string provider, HttpClient http, PrometheusEndpoint endpoint, Uri url, int maxBytes, ILogger logger)
    {
        public int Attempts { get; private set; }

        public string Last { get; private set; } = "none made";

        public async ValueTask<Reply> Send(CancellationToken cancellationToken)
        {
            Attempts++;
            // A request message is single-use: each attempt builds its own.
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (!string.IsNullOrEmpty(endpoint.Token))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
            }

            try
            {
                // Headers only: the body is read here, bounded, inside this attempt's timeout.
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                var (body, tooLarge) = await ReadBounded(response.Content, maxBytes, cancellationToken);
                Last = $"answered {(int)response.StatusCode}";
                if (!response.IsSuccessStatusCode)
                {
                    LogAttemptFailed(logger, provider, Attempts, Last);
                }

                return new Reply(response.StatusCode, body, tooLarge);
            }
            catch (HttpRequestException e)
            {
                Last = $"unreachable ({Describe(e)})";
                LogAttemptFailed(logger, provider, Attempts, Last);
                throw;
            }
            catch (IOException)
            {
                // The connection broke while the body streamed in: as transient as failing to connect.
                Last = "connection lost while reading the answer";
                LogAttemptFailed(logger, provider, Attempts, Last);
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "connection lost while reading the answer");
            }
            catch (OperationCanceledException)
            {
                Last = "no answer in time";
                LogAttemptFailed(logger, provider, Attempts, Last);
                throw;
            }
        }

        /// <summary>At most <paramref name="maxBytes"/> of the body; a longer one (declared or streamed) is not read further.</summary>
        private static async Task<(byte[] Body, bool TooLarge)> ReadBounded(HttpContent content, int maxBytes, CancellationToken cancellationToken)
        {
            if (content.Headers.ContentLength > maxBytes)
            {
                return ([], true);
            }

            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            var buffer = new MemoryStream();
            var chunk = new byte[81920];
            while (true)
            {
                var read = await stream.ReadAsync(chunk, cancellationToken);
                if (read == 0)
                {
                    return (buffer.ToArray(), false);
                }

                if (buffer.Length + read > maxBytes)
                {
                    return ([], true);
                }

                buffer.Write(chunk, 0, read);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prometheus {Provider} returned {Samples} sample(s) after {Attempts} attempt(s)")]
    private static partial void LogQueried(ILogger logger, string provider, int samples, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prometheus {Provider} query failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string provider, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prometheus {Provider} attempt {Attempt}: {Outcome}")]
    private static partial void LogAttemptFailed(ILogger logger, string provider, int attempt, string outcome);
}
