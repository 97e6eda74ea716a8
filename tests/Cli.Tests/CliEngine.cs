extern alias cli;

using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using cli::Deploy.Engine.Cli;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Cli.Tests;

/// <summary>The engine (silo + API, Local storage mode) listening on a real loopback port, for the CLI to call over HTTP.</summary>
public sealed class CliEngine : WebApplicationFactory<Program>
{
    public const string PipelineKey = "cli-pipeline-key";
    public const string OperatorKey = "cli-operator-key";
    public const string ViewerKey = "cli-viewer-key";
    public const string ApproverKey = "cli-approver-key";

    public CliEngine()
    {
        Port = FreePort();
        UseKestrel(k => k.Listen(IPAddress.Loopback, Port));
        StartServer();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Local");
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Api:EventStream:HeartbeatSeconds", "2");
        builder.UseSetting("Orleans:ClusterId", "cli-tests-" + Guid.NewGuid().ToString("n")[..8]);
        builder.UseSetting("Orleans:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var keys = new[] { ("ci", PipelineKey, "pipeline"), ("alice", OperatorKey, "operator"), ("watcher", ViewerKey, "viewer"), ("carol", ApproverKey, "approver") };
        for (var i = 0; i < keys.Length; i++)
        {
            builder.UseSetting($"Auth:Keys:{i}:Name", keys[i].Item1);
            builder.UseSetting($"Auth:Keys:{i}:Key", keys[i].Item2);
            builder.UseSetting($"Auth:Keys:{i}:Roles", keys[i].Item3);
        }

        builder.UseSetting("Governance:Approvers:carol:0", "cab");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    public HttpClient As(string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Runs deployctl in this process (its real entry point, over real HTTP) with captured output.</summary>
    public async Task<CliRun> Run(string key, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var environment = new Dictionary<string, string?> { ["DEPLOY_URL"] = Url, ["DEPLOY_API_KEY"] = key, ["HOME"] = Path.GetTempPath() };
        var code = await DeployCtl.RunAsync(args, new CliHost(stdout, stderr, name => environment.GetValueOrDefault(name)));
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed record CliRun(int ExitCode, string Out, string Error);

[CollectionDefinition(Name)]
public sealed class CliEngineCollection : ICollectionFixture<CliEngine>
{
    public const string Name = "cli-engine";
}
