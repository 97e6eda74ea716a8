using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.Retry;

namespace Deploy.Engine.Cli;

/// <summary>
/// The engine's HTTP API as JSON. A refusal becomes a <see cref="CliProblemException"/> carrying the ProblemDetails'
/// title and detail; idempotent GETs are retried (Polly) on connection failures and 502/503/504, POSTs never.
/// </summary>
public sealed class EngineClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
        .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(300),
            BackoffType = DelayBackoffType.Exponential,
            ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                .Handle<HttpRequestException>()
                .HandleResult(r => r.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout),
        })
        .Build();

    public EngineClient(Connection connection, HttpMessageHandler? handler)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = connection.Url;
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.ApiKey);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("deployctl", "0.1"));
    }

    public async Task<JsonNode> Get(string path, CancellationToken cancellation)
    {
        using var response = await _retry.ExecuteAsync(async ct =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RequestTimeout);
            return await Send(() => new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseContentRead, timeout.Token);
        }, cancellation);
        return await Read(response, cancellation);
    }

    public async Task<JsonNode> Post(string path, JsonNode? body, CancellationToken cancellation, string? idempotencyKey = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(RequestTimeout);
        using var response = await Send(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = new StringContent((body ?? new JsonObject()).ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
            return request;
        }, HttpCompletionOption.ResponseContentRead, timeout.Token);
        return await Read(response, cancellation);
    }

    public async Task<JsonNode> Delete(string path, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(RequestTimeout);
        using var response = await Send(() => new HttpRequestMessage(HttpMethod.Delete, path), HttpCompletionOption.ResponseContentRead, timeout.Token);
        return await Read(response, cancellation);
    }

    /// <summary>Opens a server-sent event stream; the caller reads and disposes the response.</summary>
    public async Task<HttpResponseMessage> OpenStream(string path, string? lastEventId, CancellationToken cancellation)
    {
        var response = await Send(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, cancellation);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                await Read(response, cancellation);
            }
        }

        return response;
    }

    private async Task<HttpResponseMessage> Send(Func<HttpRequestMessage> request, HttpCompletionOption completion, CancellationToken cancellation)
    {
        using var message = request();
        try
        {
            return await _http.SendAsync(message, completion, cancellation);
        }
        catch (HttpRequestException ex)
        {
            throw new CliProblemException(ExitCodes.Unreachable, "Engine unreachable", $"{_http.BaseAddress}: {ex.Message}");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested || completion == HttpCompletionOption.ResponseContentRead)
        {
            throw new CliProblemException(ExitCodes.Unreachable, "Engine did not answer", $"{_http.BaseAddress} did not answer in time");
        }
    }

    private static async Task<JsonNode> Read(HttpResponseMessage response, CancellationToken cancellation)
    {
        var text = await response.Content.ReadAsStringAsync(cancellation);
        if (response.IsSuccessStatusCode)
        {
            return string.IsNullOrWhiteSpace(text) ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject();
        }

        JsonNode? problem = null;
        try
        {
            problem = string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // Not ProblemDetails (a proxy's page): the status line is all there is to say.
        }

        var status = (int)response.StatusCode;
        var title = (problem as JsonObject)?["title"]?.GetValue<string>() ?? response.ReasonPhrase ?? "Request failed";
        var detail = (problem as JsonObject)?["detail"]?.GetValue<string>();
        var errors = (problem as JsonObject)?["errors"] is JsonObject fields
            ? fields.ToDictionary(f => f.Key, f => f.Value is JsonArray a ? a.Select(m => m?.ToString() ?? string.Empty).ToArray() : [f.Value?.ToString() ?? string.Empty])
            : null;
        throw new CliProblemException(ExitCodes.Refused, title, detail, status, errors, problem is JsonObject ? text : null);
    }

    public void Dispose() => _http.Dispose();
}
