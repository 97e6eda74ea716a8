using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// The engine process (silo + API) in Azure storage mode against a real Azurite. Two hosts built with the same
/// <see cref="Settings"/> are the same engine restarted: same cluster, same service id, same data.
/// </summary>
public sealed class EngineHost(EngineHost.Settings settings) : WebApplicationFactory<Program>
{
    public const string Key = "integration-key";

    public sealed record Settings(string ConnectionString, string ClusterId, int SiloPort, int GatewayPort)
    {
        public static Settings For(AzuriteProcess azurite) =>
            new(azurite.ConnectionString, "it-" + Guid.NewGuid().ToString("n")[..8], FreePort(), FreePort());
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Azure");
        builder.UseSetting("Storage:ConnectionString", settings.ConnectionString);
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Orleans:ClusterId", settings.ClusterId);
        builder.UseSetting("Orleans:ServiceId", settings.ClusterId);
        builder.UseSetting("Orleans:SiloPort", settings.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", settings.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Auth:Keys:0:Name", "integration");
        builder.UseSetting("Auth:Keys:0:Key", Key);
        builder.UseSetting("Auth:Keys:0:Roles", "pipeline,operator,viewer");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
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
