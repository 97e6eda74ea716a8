using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// A man in the middle on loopback: forwards every request to the engine unchanged, except the download of
/// <see cref="TamperWith"/>, whose bytes it alters on the way (one byte flipped, same length). What an agent does
/// with bytes that are not what their digest names, whatever the engine's store holds.
/// </summary>
public sealed class TamperingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host", "Content-Length",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(2) };

    public TamperingProxy(Uri engine)
    {
        var port = EngineHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        _app = builder.Build();
        _app.Run(context => Forward(context, engine));
        _app.StartAsync().GetAwaiter().GetResult();
        Url = new Uri($"http://127.0.0.1:{port}");
    }

    public Uri Url { get; }

    /// <summary>The artifact digest whose downloads are altered (null: none).</summary>
    public string? TamperWith { get; set; }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task Forward(HttpContext context, Uri engine)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(engine, context.Request.Path + context.Request.QueryString));
        if (context.Request.ContentLength is > 0 || context.Request.Headers.ContainsKey("Transfer-Encoding"))
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            body.Position = 0;
            request.Content = new StreamContent(body);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
            }
        }

        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name)) context.Response.Headers[name] = values.ToArray();
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
        if (TamperWith is { } digest && response.IsSuccessStatusCode
            && context.Request.Path.Equals($"/v1/artifacts/{digest}", StringComparison.Ordinal) && bytes.Length > 0)
        {
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
