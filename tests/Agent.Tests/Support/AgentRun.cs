using System.Net;
using System.Net.Sockets;
using Deploy.Engine.Agent.Hosting;
using Deploy.Engine.Agent.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Agent.Tests.Support;

/// <summary>The real agent host (same wiring as Program), configured from the command line, against a fake engine.</summary>
public sealed class AgentRun : IAsyncDisposable
{
    private readonly IHost host;
    private AgentRun(IHost host) => this.host = host;

    public ServiceSupervisor Supervisor => host.Services.GetRequiredService<ServiceSupervisor>();

    public static async Task<AgentRun> StartAsync(FakeEngine engine, string dataDirectory, IReadOnlyDictionary<string, int>? ports = null)
    {
        var args = new List<string>
        {
            $"--Engine={engine.Url}", "--Key=test-key", "--Environment=test", "--HostId=h1",
            $"--DataDirectory={dataDirectory}", "--PollSeconds=1", "--HeartbeatSeconds=1", "--MetricsSeconds=1",
        };
        args.AddRange((ports ?? new Dictionary<string, int>()).Select(p => $"--Services:{p.Key}:Port={p.Value}"));
        var builder = AgentHosting.CreateBuilder([.. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var host = builder.Build();
        await host.StartAsync();
        return new AgentRun(host);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the agent only: its services keep running, as under systemd's KillMode=process.</summary>
    public async Task StopAgentAsync()
    {
        if (stopped) return;
        stopped = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StopAsync(cts.Token);
    }

    private bool stopped;

    /// <summary>Stops the agent and then every service it ran (tests leave no process behind).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAgentAsync();
        foreach (var s in Supervisor.RunningServices()) await Supervisor.StopAsync(s.Service, CancellationToken.None);
        host.Dispose();
    }
}
