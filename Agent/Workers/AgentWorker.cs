using System.Reflection;
using System.Runtime.InteropServices;
using Deploy.Engine.Agent.Apply;
using Deploy.Engine.Agent.Artifacts;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Hosting;
using Deploy.Engine.Agent.Journal;
using Deploy.Engine.Agent.Lifecycle;
using Deploy.Engine.Agent.Releases;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Agent.Workers;

/// <summary>
/// The agent's main loop: bring up what the host already runs (adopting live processes), finish whatever the
/// journal says was left undone, register, then long-poll the desired state and hand each service's entry to its
/// own <see cref="ServiceWorker"/>. Heartbeats and facts go out every HeartbeatSeconds. An unreachable engine only
/// delays all this: the services keep running and every call is retried.
/// </summary>
public sealed partial class AgentWorker(
    IOptions<AgentOptions> options,
    AgentPaths paths,
    EngineClient engine,
    ApplyPipeline pipeline,
    JournalStore journals,
    ReleaseStore releases,
    ServiceSupervisor supervisor,
    TimeProvider time,
    ILoggerFactory loggers,
    ILogger<AgentWorker> logger) : BackgroundService
{
    public static readonly string AgentVersion =
        typeof(AgentWorker).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private readonly Dictionary<string, ServiceWorker> workers = new(StringComparer.Ordinal);
    private readonly List<Task> running = [];
    private readonly SemaphoreSlim registering = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        paths.EnsureCreated();
        LogStarting(logger, o.HostId, o.Environment!, paths.Root);
        await BringUpAsync(stoppingToken);
        foreach (var journal in journals.LoadAll())
        {
            if (JournalDecisions.OnRestart(journal).Action != CommandAction.Ignore) Worker(journal.Service, stoppingToken).Recover();
        }

        await RegisterAsync(stoppingToken);
        running.Add(HeartbeatLoopAsync(stoppingToken));
        await PollLoopAsync(stoppingToken);
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
    }

    /// <summary>Each service with a current release runs it: the live process is adopted, else it is started.</summary>
    private async Task BringUpAsync(CancellationToken ct)
    {
        var o = options.Value;
        var services = journals.LoadAll().Select(j => j.Service)
            .Concat(Directory.Exists(Path.Combine(paths.Root, "releases"))
                ? Directory.EnumerateDirectories(Path.Combine(paths.Root, "releases")).Select(Path.GetFileName).OfType<string>()
                : [])
            .Distinct(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var dir = releases.Current(service);
            if (dir is null || ReleaseManifest.TryLoad(dir) is not { } manifest) continue;
            var journal = journals.Load(service);
            var version = journal?.Current?.Directory == dir ? journal.Current.Version : null;
            var launch = new ServiceLaunch(service, version, dir, manifest, o.For(service));
            if (supervisor.TryAdopt(launch)) continue;
            var result = await supervisor.StartAsync(launch, ct);
            if (!result.Succeeded) LogBringUpFailed(logger, service, result.Output);
        }
    }

    private async Task PollLoopAsync(CancellationToken ct)
    {
        long generation = 0;
        var delay = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var desired = await engine.DesiredAsync(generation, options.Value.PollSeconds, ct);
                delay = TimeSpan.FromSeconds(1);
                generation = desired.Generation;
                foreach (var entry in desired.Services.Where(e => !string.IsNullOrEmpty(e.Service)))
                {
                    if (entry.IsCommand) Worker(entry.Service, ct).Offer(entry);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Why wait: the engine is down or refusing; the services keep running, and the poll resumes from the same generation.
                LogPollFailed(logger, e.Message, delay.TotalSeconds);
                if (e is EngineCallException { Status: System.Net.HttpStatusCode.NotFound }) await RegisterAsync(ct);
                await Task.Delay(delay, time, ct);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    private ServiceWorker Worker(string service, CancellationToken ct)
    {
        lock (workers)
        {
            if (workers.TryGetValue(service, out var w)) return w;
            w = new ServiceWorker(service, pipeline, journals, engine, RegisterAsync, time, loggers.CreateLogger<ServiceWorker>());
            workers[service] = w;
            running.Add(Task.Run(() => w.RunAsync(ct), ct));
            return w;
        }
    }

    /// <summary>Registers (idempotent) with what the host runs, retrying until the engine accepts.</summary>
    private async Task RegisterAsync(CancellationToken ct)
    {
        await registering.WaitAsync(ct);
        try
        {
            var o = options.Value;
            var delay = TimeSpan.FromSeconds(1);
            while (true)
            {
                try
                {
                    var services = journals.LoadAll().Where(j => j.Current is not null)
                        .ToDictionary(j => j.Service, j => new RunningArtifact(j.Current!.Artifact, j.Current.Version), StringComparer.Ordinal);
                    await engine.RegisterAsync(new RegisterRequest(o.HostId, o.Environment!, o.Labels, services), ct);
                    LogRegistered(logger, o.HostId, o.Environment!, services.Count);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    LogRegisterFailed(logger, e.Message, delay.TotalSeconds);
                    await Task.Delay(delay, time, ct);
                    delay = TimeSpan.FromSeconds(Math.Min(60, delay.TotalSeconds * 2));
                }
            }
        }
        finally
        {
            registering.Release();
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var healthy = supervisor.RunningServices().All(s => supervisor.IsRunning(s.Service));
                await engine.HeartbeatAsync(healthy, ct);
                await engine.FactsAsync(Facts(), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogHeartbeatFailed(logger, e.Message);
            }

            await Task.Delay(interval, time, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private FactsRequest Facts() => new(
        journals.LoadAll().Where(j => j.Current is not null)
            .ToDictionary(j => j.Service, j => new ServiceFacts(j.Current!.Version, j.Current.Artifact, j.Current.ConfigHash), StringComparer.Ordinal),
        new RuntimeFacts(RuntimeInformation.OSDescription, AgentVersion));

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent for host {HostId} in {Environment} starting; data in {DataDirectory}")]
    private static partial void LogStarting(ILogger logger, string hostId, string environment, string dataDirectory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered host {HostId} in {Environment} with {ServiceCount} running service(s)")]
    private static partial void LogRegistered(ILogger logger, string hostId, string environment, int serviceCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registration failed, retrying in {DelaySeconds}s: {Reason}")]
    private static partial void LogRegisterFailed(ILogger logger, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Desired-state poll failed, retrying in {DelaySeconds}s: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat or facts failed: {Reason}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service {Service} could not be started at agent start: {Reason}")]
    private static partial void LogBringUpFailed(ILogger logger, string service, string reason);
}
