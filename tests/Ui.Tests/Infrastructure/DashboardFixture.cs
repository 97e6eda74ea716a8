using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace Deploy.Engine.Ui.Tests.Infrastructure;

/// <summary>
/// The engine (silo + API, Local storage mode) listening on a real loopback port, and one headless chromium for the
/// whole class. Keys: olivia (operator, pipeline, viewer), watcher (viewer) and quinn (approver, groups cab and team).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string OperatorKey = "ui-operator-key";
    public const string OperatorName = "olivia";
    public const string ViewerKey = "ui-viewer-key";
    public const string ViewerName = "watcher";
    public const string ApproverKey = "ui-approver-key";
    public const string ApproverName = "quinn";

    private Engine? _engine;
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public Uri Url { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Chromium.Executable is null)
        {
            return; // Every test reports itself skipped.
        }

        var port = FreePort();
        _engine = new Engine(port);
        Url = new Uri($"http://127.0.0.1:{port}");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_engine is not null) await _engine.DisposeAsync();
    }

    public HttpClient Api(string key = OperatorKey)
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Engine : WebApplicationFactory<Program>
    {
        public Engine(int port)
        {
            UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            StartServer();
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("Engine:StorageMode", "Local");
            builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
            builder.UseSetting("Orleans:ClusterId", "ui-tests-" + Guid.NewGuid().ToString("n")[..8]);
            builder.UseSetting("Orleans:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Orleans:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Auth:Keys:0:Name", OperatorName);
            builder.UseSetting("Auth:Keys:0:Key", OperatorKey);
            builder.UseSetting("Auth:Keys:0:Roles", "operator,pipeline,viewer");
            builder.UseSetting("Auth:Keys:1:Name", ViewerName);
            builder.UseSetting("Auth:Keys:1:Key", ViewerKey);
            builder.UseSetting("Auth:Keys:1:Roles", "viewer");
            builder.UseSetting("Auth:Keys:2:Name", ApproverName);
            builder.UseSetting("Auth:Keys:2:Key", ApproverKey);
            builder.UseSetting("Auth:Keys:2:Roles", "approver");
            builder.UseSetting("Governance:Approvers:quinn:0", "cab");
            builder.UseSetting("Governance:Approvers:quinn:1", "team");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
