using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Api.Tests.Infrastructure;

/// <summary>
/// The engine (Local mode) with agent keys scoped to environments, a small verify-before-send threshold (so large
/// downloads take the streaming path), and every log line at every level captured, so a test can scan them.
/// </summary>
public sealed class ArtifactsEngineFactory : WebApplicationFactory<Program>
{
    public const string PipelineKey = "art-pipeline-key";
    public const string OperatorKey = "art-operator-key";
    public const string ViewerKey = "art-viewer-key";
    /// <summary>An agent key bound to an environment nothing is released to (an unbound agent key no longer starts the engine).</summary>
    public const string ElsewhereAgentKey = "art-agent-other-key";
    public const string StagingAgentKey = "art-agent-stg-key";
    public const string ProductionAgentKey = "art-agent-prd-key";

    /// <summary>The environments the scoped agent keys serve.</summary>
    public const string Staging = "artstg";
    public const string Production = "artprd";

    public const int VerifyBeforeSendBytes = 4096;

    public CapturedLogs Logs { get; } = new();

    /// <summary>Every response body any client of <see cref="As"/> received, with its request line.</summary>
    public ConcurrentQueue<(string Request, string Body)> Responses { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Local");
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Orleans:ClusterId", "art-tests-" + Guid.NewGuid().ToString("n")[..8]);
        builder.UseSetting("Orleans:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Artifacts:VerifyBeforeSendBytes", VerifyBeforeSendBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var keys = new[]
        {
            ("ci", PipelineKey, "pipeline", ""), ("alice", OperatorKey, "operator", ""), ("watcher", ViewerKey, "viewer", ""),
            ("agent-other", ElsewhereAgentKey, "agent", "artother"), ("agent-stg", StagingAgentKey, "agent", Staging), ("agent-prd", ProductionAgentKey, "agent", Production),
        };
        for (var i = 0; i < keys.Length; i++)
        {
            builder.UseSetting($"Auth:Keys:{i}:Name", keys[i].Item1);
            builder.UseSetting($"Auth:Keys:{i}:Key", keys[i].Item2);
            builder.UseSetting($"Auth:Keys:{i}:Roles", keys[i].Item3);
            builder.UseSetting($"Auth:Keys:{i}:Environments", keys[i].Item4);
        }

        builder.UseSetting("Logging:LogLevel:Default", "Trace");
        builder.ConfigureServices(s => s.AddLogging(l => l.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace)));
    }

    public HttpClient As(string key)
    {
        var client = CreateDefaultClient(new Recorder(Responses));
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Recorder(ConcurrentQueue<(string, string)> responses) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentType?.MediaType is { } type && type.Contains("json", StringComparison.Ordinal))
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                responses.Enqueue(($"{request.Method} {request.RequestUri}", await response.Content.ReadAsStringAsync(cancellationToken)));
            }

            return response;
        }
    }
}

/// <summary>Every log line of every category and level: the formatted message, the structured values and the exception.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue($"{category} scope {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            lines.Enqueue($"{logLevel} {category} {formatter(state, exception)} {values} {exception}");
        }
    }
}
