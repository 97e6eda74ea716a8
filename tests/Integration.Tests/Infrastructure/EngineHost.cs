using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// The engine process (silo + API) in Azure storage mode against a real Azurite. Two hosts built with the same
/// <see cref="Settings"/> are the same engine restarted: same cluster, same service id, same data. With an
/// <see cref="Settings.HttpPort"/> the API listens on that loopback port (Kestrel), for real agent processes.
/// </summary>
public sealed class EngineHost : WebApplicationFactory<Program>
{
    public const string Key = "integration-key";

    /// <summary>The audit chain's HMAC key (Azure mode requires one; a storage writer does not have it).</summary>
    public const string AuditKey = "integration-audit-key-0123456789abcdef";

    /// <summary>Encrypts the Data Protection key ring kept on Azurite (Azure mode refuses to start without one).</summary>
    public const string KeyRingKey = "integration-keyring-key-0123456789abcdef";

    private readonly Settings settings;

    public EngineHost(Settings settings)
    {
        this.settings = settings;
        if (settings.HttpPort is { } port)
        {
            UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            StartServer();
        }
    }

    public sealed record Settings(string ConnectionString, string ClusterId, int SiloPort, int GatewayPort)
    {
        /// <summary>A real loopback port for the API (null: in-memory test server only).</summary>
        public int? HttpPort { get; init; }

        /// <summary>More configuration (keys for agents, limits), applied after the defaults.</summary>
        public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

        public static Settings For(AzuriteProcess azurite) =>
            new(azurite.ConnectionString, "it-" + Guid.NewGuid().ToString("n")[..8], FreePort(), FreePort());
    }

    /// <summary>The API's base URL on the real port.</summary>
    public Uri Url => new($"http://127.0.0.1:{settings.HttpPort ?? throw new InvalidOperationException("no HTTP port")}");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Azure");
        builder.UseSetting("Storage:ConnectionString", settings.ConnectionString);
        builder.UseSetting("Audit:Key", AuditKey);
        builder.UseSetting("Secrets:KeyRingKey", KeyRingKey);
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Orleans:ClusterId", settings.ClusterId);
        builder.UseSetting("Orleans:ServiceId", settings.ClusterId);
        builder.UseSetting("Orleans:SiloPort", settings.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", settings.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Auth:Keys:0:Name", "integration");
        builder.UseSetting("Auth:Keys:0:Key", Key);
        builder.UseSetting("Auth:Keys:0:Roles", "pipeline,operator,viewer");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings.Extra)
        {
            builder.UseSetting(key, value);
        }
    }

    public HttpClient Client()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return client;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
