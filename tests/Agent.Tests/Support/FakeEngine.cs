using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Deploy.Engine.Agent.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Agent.Tests.Support;

/// <summary>
/// The engine's agent-facing API, in process on 127.0.0.1 (port 0): serves a scripted desired state, artifacts and
/// configuration, and records every report, registration, metrics push and facts post.
/// </summary>
public sealed class FakeEngine : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Lock gate = new();
    private DesiredResponse desired = new();

    public ConcurrentDictionary<string, byte[]> Artifacts { get; } = new();

    public ConcurrentDictionary<string, ConfigResponse> Configs { get; } = new();

    public ConcurrentQueue<ReportRequest> Reports { get; } = new();

    public ConcurrentQueue<RegisterRequest> Registrations { get; } = new();

    public ConcurrentQueue<MetricsRequest> Metrics { get; } = new();

    public ConcurrentQueue<JsonElement> Facts { get; } = new();

    public int ArtifactRequests;

    public string Url { get; private set; } = "";

    public FakeEngine()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        app = builder.Build();
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Headers.Authorization != "Bearer test-key") ctx.Response.StatusCode = 401;
            else await next();
        });
        app.MapPost("/v1/hosts", async (HttpRequest r) =>
        {
            Registrations.Enqueue((await r.ReadFromJsonAsync<RegisterRequest>(Wire.Json))!);
            return Results.Json(new { id = "h1" });
        });
        app.MapPost("/v1/hosts/{id}/heartbeat", () => Results.Ok());
        app.MapPost("/v1/hosts/{id}/facts", async (HttpRequest r) =>
        {
            Facts.Enqueue(await r.ReadFromJsonAsync<JsonElement>());
            return Results.Ok();
        });
        app.MapPost("/v1/hosts/{id}/metrics", async (HttpRequest r) =>
        {
            Metrics.Enqueue((await r.ReadFromJsonAsync<MetricsRequest>(Wire.Json))!);
            return Results.Ok();
        });
        app.MapPost("/v1/hosts/{id}/reports", async (HttpRequest r) =>
        {
            Reports.Enqueue((await r.ReadFromJsonAsync<ReportRequest>(Wire.Json))!);
            return Results.Json(new { id = "h1" });
        });
        app.MapGet("/v1/hosts/{id}/desired", async (long? after, int? wait, CancellationToken ct) =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Min(wait ?? 1, 1));
            while (DateTime.UtcNow < deadline && Current().Generation <= (after ?? 0) && !ct.IsCancellationRequested) await Task.Delay(20, CancellationToken.None);
            return Results.Json(Current(), Wire.Json);
        });
        app.MapGet("/v1/artifacts/{digest}", (string digest) =>
        {
            Interlocked.Increment(ref ArtifactRequests);
            return Artifacts.TryGetValue(digest, out var bytes) ? Results.Bytes(bytes, "application/octet-stream") : Results.NotFound();
        });
        app.MapGet("/v1/hosts/{id}/config", (string? release) =>
            release is not null && Configs.TryGetValue(release, out var config) ? Results.Json(config, Wire.Json) : Results.NotFound());
    }

    public async Task StartAsync()
    {
        await app.StartAsync();
        Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    /// <summary>Publishes a new desired state (a higher generation wakes the agent's long-poll).</summary>
    public void SetDesired(params DesiredEntry[] services)
    {
        lock (gate) desired = new DesiredResponse { Generation = desired.Generation + 1, Services = services };
    }

    public DesiredResponse Current()
    {
        lock (gate) return desired;
    }

    public Task<ReportRequest> ReportFor(string nonce, int seconds = 60) =>
        Wait.For(() => Reports.FirstOrDefault(r => r.Nonce == nonce), TimeSpan.FromSeconds(seconds), "the report for " + nonce);

    public static DesiredEntry Command(string service, string digest, string version, string nonce, CommandKind kind = CommandKind.Apply, string? release = null) => new()
    {
        Service = service,
        Artifact = digest,
        Version = version,
        Release = release ?? "rel-" + version,
        Rollout = "ro-" + nonce,
        Kind = kind.ToString(),
        Nonce = nonce,
        State = kind == CommandKind.Apply ? "Updating" : "RollingBack",
    };

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
