using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Hosting;
using Deploy.Engine.Agent.Lifecycle;
using Deploy.Engine.Agent.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Agent.Workers;

/// <summary>Every MetricsSeconds, one metrics sample per running service to the engine; a failed push is dropped (the next one follows).</summary>
public sealed partial class MetricsWorker(
    IOptions<AgentOptions> options,
    ServiceSupervisor supervisor,
    EngineClient engine,
    IHttpClientFactory httpClients,
    HealthChecker health,
    TimeProvider time,
    ILogger<MetricsWorker> logger) : BackgroundService
{
    private readonly Dictionary<string, (MetricsSampler Sampler, CancellationTokenSource Probes)> samplers = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.MetricsSeconds);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(interval, time, stoppingToken);
                Refresh(stoppingToken);
                await Task.WhenAll(samplers.Values.Select(s => PushAsync(s.Sampler, stoppingToken)));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var (_, probes) in samplers.Values) probes.Cancel();
        }
    }

    /// <summary>Samplers follow the running releases: a new release gets a fresh sampler (and fresh counters).</summary>
    private void Refresh(CancellationToken ct)
    {
        var running = supervisor.RunningServices().Where(l => supervisor.IsRunning(l.Service)).ToDictionary(l => l.Service, StringComparer.Ordinal);
        foreach (var service in samplers.Keys.ToList())
        {
            if (running.TryGetValue(service, out var launch) && launch == samplers[service].Sampler.Launch) continue;
            samplers[service].Probes.Cancel();
            samplers.Remove(service);
        }

        foreach (var (service, launch) in running)
        {
            if (samplers.ContainsKey(service)) continue;
            var sampler = new MetricsSampler(launch, httpClients.CreateClient(AgentHosting.LocalClient), health, time);
            var probes = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _ = Task.Run(() => sampler.RunProbesAsync(probes.Token), probes.Token);
            samplers[service] = (sampler, probes);
        }
    }

    private async Task PushAsync(MetricsSampler sampler, CancellationToken ct)
    {
        try
        {
            await engine.MetricsAsync(await sampler.SampleAsync(ct), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogPushFailed(logger, sampler.Launch.Service, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Metrics for {Service} not delivered: {Reason}")]
    private static partial void LogPushFailed(ILogger logger, string service, string reason);
}
