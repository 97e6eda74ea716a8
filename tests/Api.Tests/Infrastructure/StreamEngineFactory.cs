using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Api.Tests.Infrastructure;

/// <summary>
/// The engine (Local storage mode) tuned for watching it: a 1 s heartbeat, small per-connection buffers, a small feed
/// window, and keys scoped to environments and services.
/// </summary>
public sealed class StreamEngineFactory : WebApplicationFactory<Program>
{
    public const string PipelineKey = "stream-pipeline-key";
    public const string OperatorKey = "stream-operator-key";
    public const string ViewerKey = "stream-viewer-key";

    /// <summary>A viewer scoped to environment <see cref="ScopedEnvironment"/>.</summary>
    public const string EnvScopedKey = "stream-env-scoped-key";

    /// <summary>A viewer scoped to service <see cref="ScopedService"/>.</summary>
    public const string ServiceScopedKey = "stream-service-scoped-key";

    public const string ScopedEnvironment = "scoped-east";
    public const string ScopedService = "scoped-api";

    public const int BufferSize = 64;
    public const int FeedCapacity = 300;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Local");
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Engine:EventFeed:Capacity", FeedCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Api:EventStream:HeartbeatSeconds", "1");
        builder.UseSetting("Api:EventStream:BufferSize", BufferSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Api:EventStream:PollSeconds", "2");
        builder.UseSetting("Orleans:ClusterId", "stream-tests-" + Guid.NewGuid().ToString("n")[..8]);
        builder.UseSetting("Orleans:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var keys = new[]
        {
            ("ci", PipelineKey, "pipeline", "", ""), ("alice", OperatorKey, "operator", "", ""), ("watcher", ViewerKey, "viewer", "", ""),
            ("east-watcher", EnvScopedKey, "viewer", ScopedEnvironment, ""), ("api-watcher", ServiceScopedKey, "viewer", "", ScopedService),
        };
        for (var i = 0; i < keys.Length; i++)
        {
            builder.UseSetting($"Auth:Keys:{i}:Name", keys[i].Item1);
            builder.UseSetting($"Auth:Keys:{i}:Key", keys[i].Item2);
            builder.UseSetting($"Auth:Keys:{i}:Roles", keys[i].Item3);
            builder.UseSetting($"Auth:Keys:{i}:Environments", keys[i].Item4);
            builder.UseSetting($"Auth:Keys:{i}:Services", keys[i].Item5);
        }

        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    public HttpClient As(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        client.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class StreamEngineCollection : ICollectionFixture<StreamEngineFactory>
{
    public const string Name = "stream-engine";
}

/// <summary>One frame of a text/event-stream: an event (id, type, data) or a comment.</summary>
public sealed record SseFrame(string? Id, string? Event, string? Data, string? Comment);

/// <summary>Reads text/event-stream frames from a response body, each with a deadline.</summary>
public sealed class SseReader(Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body, Encoding.UTF8);

    public async Task<SseFrame?> Next(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        string? id = null, type = null, comment = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (id is null && type is null && data.Length == 0 && comment is null) continue;
                return new SseFrame(id, type, data.Length == 0 ? null : data.ToString(), comment);
            }

            if (line.StartsWith(':')) comment = line[1..].Trim();
            else if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Append(line[6..]);
        }
    }

    /// <summary>
    /// Events (not comments) until <paramref name="until"/> holds for one, inclusive, appended to
    /// <paramref name="events"/> when given (so a caller keeps what arrived before the stream was cut).
    /// </summary>
    public async Task<List<SseFrame>> EventsUntil(Func<SseFrame, bool> until, TimeSpan timeout, List<SseFrame>? events = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        events ??= [];
        while (DateTime.UtcNow < deadline)
        {
            var frame = await Next(deadline - DateTime.UtcNow) ?? throw new IOException("the stream ended");
            if (frame.Comment is not null) continue;
            events.Add(frame);
            if (until(frame)) return events;
        }

        throw new TimeoutException("the awaited event did not arrive; got: " + string.Join(", ", events.Select(e => e.Event)));
    }

    public void Dispose() => _reader.Dispose();
}
