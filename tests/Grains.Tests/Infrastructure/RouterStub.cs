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

/// <summary>What a stub router received: the n-th call (from 1) to one router name.</summary>
public sealed record RouterCall(string Router, int Number, string Body, string? Authorization);

/// <summary>
/// A real HTTP traffic router for tests: Kestrel on 127.0.0.1, an OS-chosen port, one route per router name
/// (<see cref="UrlFor"/>). Each name answers 200 until told otherwise (<see cref="Behave"/>) and records its calls.
/// </summary>
public sealed class RouterStub : IAsyncDisposable
{
    private const string WarmUp = "warm-up";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<RouterCall, CancellationToken, Task<int>>> _behaviours = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<RouterCall>> _calls = new(StringComparer.Ordinal);

    private RouterStub(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<RouterStub> StartAsync()
    {
        var stub = new RouterStub(LoopbackApp.Create());
        stub._app.MapPost("/routers/{name}", stub.Handle);
        stub.BaseAddress = await LoopbackApp.StartAsync(stub._app);

        // The first request JITs Kestrel and compiles the route: on a loaded 2-core box that can outlast a test's
        // attempt timeout, and the aborted request would never be recorded. Pay for it here.
        using (var http = new HttpClient())
        {
            using var warm = await http.PostAsync(stub.UrlFor(WarmUp), new StringContent("{}"));
        }

        stub.Reset(WarmUp);
        return stub;
    }

    public string UrlFor(string router) => new Uri(BaseAddress, $"routers/{router}").ToString();

    /// <summary>How <paramref name="router"/> answers from now on: a status code per call, perhaps after a delay.</summary>
    public void Behave(string router, Func<RouterCall, CancellationToken, Task<int>> behaviour) => _behaviours[router] = behaviour;

    /// <summary>Answers the given statuses in order, the last one repeating.</summary>
    public void Answer(string router, params int[] statuses) =>
        Behave(router, (call, _) => Task.FromResult(statuses[Math.Min(call.Number, statuses.Length) - 1]));

    /// <summary>Forgets <paramref name="router"/>'s behaviour and calls.</summary>
    public void Reset(string router)
    {
        _behaviours.TryRemove(router, out _);
        _calls.TryRemove(router, out _);
    }

    public IReadOnlyList<RouterCall> Calls(string router)
    {
        var calls = _calls.GetOrAdd(router, _ => []);
        lock (calls)
        {
            return calls.ToArray();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> Handle(string name, HttpRequest request, CancellationToken aborted)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(aborted);
        var calls = _calls.GetOrAdd(name, _ => []);
        RouterCall call;
        lock (calls)
        {
            call = new RouterCall(name, calls.Count + 1, body, request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null);
            calls.Add(call);
        }

        var status = _behaviours.TryGetValue(name, out var behave) ? await behave(call, aborted) : StatusCodes.Status200OK;
        return Results.StatusCode(status);
    }
}
