using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>What a stub Prometheus received: the n-th call (from 1), its query string values and Authorization header.</summary>
public sealed record PrometheusCall(int Number, string? Query, string? Start, string? End, string? Step, string? Authorization);

/// <summary>
/// A fake Prometheus for tests: Kestrel on 127.0.0.1, an OS-chosen port, answering <c>GET /api/v1/query_range</c>
/// as told (<see cref="Behave"/>; 200 with an empty matrix until then) and recording each call.
/// </summary>
public sealed class PrometheusStub : IAsyncDisposable
{
    public const string EmptyMatrix = """{"status":"success","data":{"resultType":"matrix","result":[]}}""";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<PrometheusCall> _calls = new();
    private Func<PrometheusCall, HttpResponse, CancellationToken, Task> _behaviour = (_, r, ct) => Write(r, 200, EmptyMatrix, ct);
    private int _count;

    private PrometheusStub(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<PrometheusCall> Calls => _calls.ToArray();

    public static async Task<PrometheusStub> StartAsync()
    {
        var stub = new PrometheusStub(LoopbackApp.Create());
        stub._app.MapGet("/api/v1/query_range", stub.Handle);
        stub.BaseAddress = await LoopbackApp.StartAsync(stub._app);

        // Pay for Kestrel's JIT and route compilation here, not inside a test's attempt timeout (see RouterStub).
        using (var http = new HttpClient())
        {
            using var warm = await http.GetAsync(new Uri(stub.BaseAddress, "api/v1/query_range?query=up"));
        }

        stub.Reset();
        return stub;
    }

    /// <summary>How the stub answers from now on.</summary>
    public void Behave(Func<PrometheusCall, HttpResponse, CancellationToken, Task> behaviour) => _behaviour = behaviour;

    /// <summary>Answers (status, JSON body) pairs in order, the last one repeating.</summary>
    public void Answer(params (int Status, string Body)[] answers) =>
        Behave((call, response, ct) =>
        {
            var (status, body) = answers[Math.Min(call.Number, answers.Length) - 1];
            return Write(response, status, body, ct);
        });

    public void Reset()
    {
        _calls.Clear();
        Interlocked.Exchange(ref _count, 0);
        _behaviour = (_, r, ct) => Write(r, 200, EmptyMatrix, ct);
    }

    public static async Task Write(HttpResponse response, int status, string body, CancellationToken ct)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.WriteAsync(body, ct);
    }

    /// <summary>A matrix answer: one series per entry, each sample [unix seconds, "value"].</summary>
    public static string Matrix(params (string Version, (double Time, string Value)[] Samples)[] series) =>
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[" +
        string.Join(",", series.Select(s =>
            $"{{\"metric\":{{\"__name__\":\"latency_ms\",\"version\":\"{s.Version}\"}},\"values\":[" +
            string.Join(",", s.Samples.Select(p => $"[{p.Time.ToString(System.Globalization.CultureInfo.InvariantCulture)},\"{p.Value}\"]")) +
            "]}")) +
        "]}}";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task Handle(HttpContext context)
    {
        var q = context.Request.Query;
        var call = new PrometheusCall(
            Interlocked.Increment(ref _count), q["query"], q["start"], q["end"], q["step"],
            context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null);
        _calls.Enqueue(call);
        await _behaviour(call, context.Response, context.RequestAborted);
    }
}
