using System.Net;
using System.Net.Sockets;
using Deploy.Engine.Api;
using Deploy.Engine.Silo.Hosting;

namespace Deploy.Engine.Bench;

public sealed record ClusterJoin(string ClusterId, int PrimarySiloPort);

/// <summary>The engine as the run command hosts it (silo + API on Kestrel), in this process.</summary>
public sealed class EngineApp : IAsyncDisposable
{
    public const string Key = "bench-key";

    /// <summary>The key of the real agents of the agents scenario, bound to <see cref="AgentEnvironment"/>.</summary>
    public const string AgentKey = "bench-agent-key";

    public const string AgentEnvironment = "bench-agents";

    private readonly WebApplication _app;

    private EngineApp(WebApplication app, string baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Grains = app.Services.GetRequiredService<IGrainFactory>();
    }

    public IGrainFactory Grains { get; }

    public string BaseAddress { get; }

    public static async Task<EngineApp> Start(StorageMode mode, string? connectionString, ClusterJoin? join = null)
    {
        var port = FreePort();
        var siloPort = FreePort();
        var cluster = join ?? new ClusterJoin("bench-" + Guid.NewGuid().ToString("n")[..8], 0);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:StorageMode"] = mode.ToString(),
            ["Storage:ConnectionString"] = connectionString,
            ["Audit:Key"] = "bench-audit-key-0123456789abcdef-0123456789",
            ["Secrets:KeyRingKey"] = "bench-keyring-key-0123456789abcdef-0123456789",
            ["Orleans:ClusterId"] = cluster.ClusterId,
            ["Orleans:ServiceId"] = cluster.ClusterId,
            ["Orleans:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:PrimarySiloPort"] = cluster.PrimarySiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Auth:Keys:0:Name"] = "bench",
            ["Auth:Keys:0:Key"] = Key,
            ["Auth:Keys:0:Roles"] = "pipeline,operator,viewer",
            ["Auth:Keys:1:Name"] = "bench-agents",
            ["Auth:Keys:1:Key"] = AgentKey,
            ["Auth:Keys:1:Roles"] = "agent",
            ["Auth:Keys:1:Environments"] = AgentEnvironment,
            // A shared 2-core machine under a load of 30+ answers some Azurite calls late: 10 s rather than 3 s before a
            // storage call counts as failed, so a figure is a figure and not a timeout (the raw-write baseline has no bound).
            ["Storage:NetworkTimeout"] = "00:00:10",
        });
        // The baseline fan-outs to 10,000 grains on Azurite take longer than Orleans' default 30 s response timeout there.
        builder.Services.Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.AddDeployEngineSilo();
        builder.AddDeployEngineTelemetry();
        builder.Services.AddDeployEngineApi(builder.Configuration);
        var app = builder.Build();
        app.UseDeployEngineApi();
        await app.StartAsync();
        return new EngineApp(app, $"http://127.0.0.1:{port}") { Join = cluster with { PrimarySiloPort = cluster.PrimarySiloPort > 0 ? cluster.PrimarySiloPort : siloPort } };
    }

    /// <summary>How a further silo joins this one's cluster (Local mode: localhost clustering through the first silo).</summary>
    public ClusterJoin Join { get; private init; } = new(string.Empty, 0);

    /// <summary>A bare Kestrel endpoint serving fixed bytes: the API baseline.</summary>
    public static async Task<(WebApplication App, string Url)> StartBare(string body)
    {
        var port = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapGet("/bare", () => Results.Text(body, "application/json"));
        await app.StartAsync();
        return (app, $"http://127.0.0.1:{port}/bare");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
