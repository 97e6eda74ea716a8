using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Deploy.Engine.Agent.Hosting;
using Microsoft.Extensions.Options;
using Polly;

namespace Deploy.Engine.Agent.Engine;

/// <summary>The engine's HTTP API as the agent uses it. Every call goes through <see cref="EngineResilience"/>.</summary>
public sealed class EngineClient
{
    private readonly HttpClient http;
    private readonly ResiliencePipeline<HttpResponseMessage> pipeline;
    private readonly string hostPath;

    public EngineClient(HttpClient http, IOptions<AgentOptions> options, ResiliencePipeline<HttpResponseMessage> pipeline)
    {
        var o = options.Value;
        this.http = http;
        this.pipeline = pipeline;
        http.BaseAddress ??= new Uri(o.Engine!.TrimEnd('/') + "/");
        http.Timeout = Timeout.InfiniteTimeSpan; // the pipeline times each attempt
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", o.Key);
        hostPath = "v1/hosts/" + Uri.EscapeDataString(o.HostId);
    }

    public async Task RegisterAsync(RegisterRequest request, CancellationToken ct)
    {
        using var response = await SendAsync(() => Post("v1/hosts", request), null, ct);
        await EnsureSuccess(response, "register", ct);
    }

    public async Task HeartbeatAsync(bool healthy, CancellationToken ct)
    {
        using var response = await SendAsync(() => Post(hostPath + "/heartbeat", new HeartbeatRequest(healthy)), null, ct);
        await EnsureSuccess(response, "heartbeat", ct);
    }

    /// <summary>The long-poll: the attempt timeout is the wait plus a margin, so a quiet engine is not a failure.</summary>
    public async Task<DesiredResponse> DesiredAsync(long after, int waitSeconds, CancellationToken ct)
    {
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, $"{hostPath}/desired?wait={waitSeconds}&after={after}"),
            TimeSpan.FromSeconds(waitSeconds + 15), ct);
        await EnsureSuccess(response, "desired", ct);
        return await response.Content.ReadFromJsonAsync<DesiredResponse>(Wire.Json, ct) ?? new DesiredResponse();
    }

    /// <summary>The release's rendered configuration, or null when the release has none (404).</summary>
    public async Task<ConfigResponse?> ConfigAsync(string release, CancellationToken ct)
    {
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, $"{hostPath}/config?release={Uri.EscapeDataString(release)}"), null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccess(response, "config", ct);
        return await response.Content.ReadFromJsonAsync<ConfigResponse>(Wire.Json, ct);
    }

    /// <summary>Opens the artifact's bytes as a stream (headers read, body not yet); the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> OpenArtifactAsync(string digest, CancellationToken ct)
    {
        var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, "v1/artifacts/" + Uri.EscapeDataString(digest)), null, ct,
            HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            using (response) await EnsureSuccess(response, "artifact", ct);
        }

        return response;
    }

    /// <summary>Sends a report once; the caller loops until <see cref="ReportOutcome.Acknowledged"/>.</summary>
    public async Task<ReportOutcome> ReportAsync(ReportRequest report, CancellationToken ct)
    {
        using var response = await SendAsync(() => Post(hostPath + "/reports", report), null, ct);
        return response.StatusCode switch
        {
            _ when response.IsSuccessStatusCode => ReportOutcome.Acknowledged,
            HttpStatusCode.Conflict => ReportOutcome.Superseded, // the engine moved on: nothing left to tell it
            HttpStatusCode.NotFound => ReportOutcome.Unregistered,
            HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity => ReportOutcome.Refused,
            _ => ReportOutcome.RetryLater,
        };
    }

    public async Task MetricsAsync(MetricsRequest metrics, CancellationToken ct)
    {
        using var response = await SendAsync(() => Post(hostPath + "/metrics", metrics), null, ct);
        await EnsureSuccess(response, "metrics", ct);
    }

    public async Task FactsAsync(FactsRequest facts, CancellationToken ct)
    {
        using var response = await SendAsync(() => Post(hostPath + "/facts", facts), null, ct);
        await EnsureSuccess(response, "facts", ct);
    }

    private static HttpRequestMessage Post<T>(string path, T body) =>
        new(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: Wire.Json) };

    private async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> request, TimeSpan? attemptTimeout, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var context = ResilienceContextPool.Shared.Get(ct);
        try
        {
            if (attemptTimeout is { } t) context.Properties.Set(EngineResilience.AttemptTimeout, t);
            return await pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    using var message = state.request();
                    return await state.http.SendAsync(message, state.completion, ctx.CancellationToken);
                },
                context, (request, http, completion));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static async Task EnsureSuccess(HttpResponseMessage response, string call, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        throw new EngineCallException(call, response.StatusCode, body.Length > 500 ? body[..500] : body);
    }
}

public enum ReportOutcome
{
    Acknowledged = 0,
    Superseded = 1,
    Unregistered = 2,
    Refused = 3,
    RetryLater = 4,
}

public sealed class EngineCallException(string call, HttpStatusCode status, string detail)
    : Exception($"engine refused {call}: {(int)status} {detail}")
{
    public HttpStatusCode Status { get; } = status;
}
