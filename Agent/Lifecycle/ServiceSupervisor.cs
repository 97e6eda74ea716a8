using System.Diagnostics;
using System.Globalization;
using Deploy.Engine.Agent.Releases;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Agent.Lifecycle;

/// <summary>
/// Runs each service's current release as a child process (or through <c>systemctl</c>), restarts it when it dies
/// on its own, and survives agent restarts: the process is started in its own session with its output going
/// straight to <c>logs/&lt;service&gt;.log</c>, so it does not need the agent; a restarted agent adopts it through
/// <c>run/&lt;service&gt;.pid</c> instead of restarting a healthy service.
/// </summary>
public sealed partial class ServiceSupervisor(AgentPaths paths, ILogger<ServiceSupervisor> logger, TimeProvider time) : IDisposable
{
    private static readonly string? SetSid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    // Started under sh so the output redirection is in place before the service's first byte; `exec` keeps the pid.
    private const string Launcher = "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null";

    private readonly Dictionary<string, Supervised> services = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stopping = new();

    public bool IsRunning(string service)
    {
        lock (gate)
        {
            return services.TryGetValue(service, out var s) && (s.Launch.Options.Systemd is not null || Native.IsAlive(s.Pid));
        }
    }

    public ServiceLaunch? Running(string service)
    {
        lock (gate) return services.TryGetValue(service, out var s) ? s.Launch : null;
    }

    /// <summary>The services under supervision now, with the release each runs.</summary>
    public IReadOnlyList<ServiceLaunch> RunningServices()
    {
        lock (gate) return services.Values.Select(s => s.Launch).ToList();
    }

    public int? PidOf(string service)
    {
        lock (gate) return services.TryGetValue(service, out var s) && s.Pid > 0 ? s.Pid : null;
    }

    /// <summary>Adopts the process named by the pid file when it is alive and is this release's start command; else false.</summary>
    public bool TryAdopt(ServiceLaunch launch)
    {
        if (launch.Options.Systemd is not null)
        {
            Track(launch, 0);
            return true;
        }

        if (!File.Exists(paths.PidFile(launch.Service))) return false;
        if (!int.TryParse(File.ReadAllText(paths.PidFile(launch.Service)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        if (!Matches(pid, launch)) return false;
        Track(launch, pid);
        LogAdopted(logger, launch.Service, pid);
        return true;
    }

    /// <summary>
    /// The process is this release's service: alive, and either its argv is the start command, or (a command
    /// that execs another, e.g. <c>sh -c 'exec …'</c>) it runs in the release directory with this DEPLOY_SERVICE.
    /// </summary>
    public static bool Matches(int pid, ServiceLaunch launch)
    {
        if (!Native.IsAlive(pid)) return false;
        var cmdline = Native.CommandLine(pid);
        if (cmdline.SequenceEqual(launch.Argv(), StringComparer.Ordinal)) return true;
        var cwd = Native.WorkingDirectory(pid);
        return cwd is not null
            && string.Equals(Path.GetFullPath(cwd), Path.GetFullPath(launch.ReleaseDirectory), StringComparison.Ordinal)
            && Native.HasEnvironment(pid, "DEPLOY_SERVICE=" + launch.Service);
    }

    /// <summary>Starts the release (the previous process of the service must already be stopped).</summary>
    public async Task<ProcessResult> StartAsync(ServiceLaunch launch, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        if (launch.Options.Systemd is { } unit)
        {
            var result = await ProcessRunner.RunAsync("systemctl", ["restart", unit], launch.ReleaseDirectory, new Dictionary<string, string>(), TimeSpan.FromSeconds(90), ct);
            if (result.Succeeded) Track(launch, 0);
            return result;
        }

        try
        {
            var pid = Spawn(launch);
            Track(launch, pid);
            LogStarted(logger, launch.Service, pid, launch.ReleaseDirectory);
            return new ProcessResult(0, false, $"started pid {pid}", watch.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidDataException or IOException)
        {
            return new ProcessResult(127, false, e.Message, watch.ElapsedMilliseconds);
        }
    }

    /// <summary>SIGTERM to the service (its process group), SIGKILL after <c>stopTimeoutSeconds</c>.</summary>
    public async Task<ProcessResult> StopAsync(string service, CancellationToken ct)
    {
        Supervised? s;
        lock (gate)
        {
            services.Remove(service, out s);
        }

        var watch = Stopwatch.StartNew();
        if (s is null) return new ProcessResult(0, false, "not running", 0);
        s.Watch.Cancel();
        if (s.Launch.Options.Systemd is { } unit)
            return await ProcessRunner.RunAsync("systemctl", ["stop", unit], s.Launch.ReleaseDirectory, new Dictionary<string, string>(), TimeSpan.FromSeconds(90), ct);

        var pid = s.Pid;
        if (!Native.IsAlive(pid)) return Stopped(service, "had already exited", watch);
        Native.SignalService(pid, Native.SigTerm);
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(1, s.Launch.Manifest.StopTimeoutSeconds));
        while (Native.IsAlive(pid) && time.GetUtcNow() < deadline) await Task.Delay(100, ct);
        if (!Native.IsAlive(pid)) return Stopped(service, $"pid {pid} stopped on SIGTERM", watch);
        Native.SignalService(pid, Native.SigKill);
        for (var i = 0; i < 50 && Native.IsAlive(pid); i++) await Task.Delay(100, ct);
        return Stopped(service, $"pid {pid} killed after {s.Launch.Manifest.StopTimeoutSeconds}s", watch);
    }

    private ProcessResult Stopped(string service, string what, Stopwatch watch)
    {
        ArtifactsDelete(paths.PidFile(service));
        return new ProcessResult(0, false, what, watch.ElapsedMilliseconds);
    }

    private int Spawn(ServiceLaunch launch)
    {
        Directory.CreateDirectory(paths.Logs);
        Directory.CreateDirectory(paths.Run);
        var argv = launch.Argv();
        var info = new ProcessStartInfo(SetSid ?? "/bin/sh")
        {
            WorkingDirectory = launch.ReleaseDirectory,
            UseShellExecute = false,
        };
        if (SetSid is not null) info.ArgumentList.Add("/bin/sh");
        foreach (var a in new[] { "-c", Launcher, "deploy-agent-start", paths.Log(launch.Service) }.Concat(argv)) info.ArgumentList.Add(a);
        foreach (var (k, v) in launch.Environment()) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new IOException("the service did not start");
        var pid = process.Id;
        var temp = paths.PidFile(launch.Service) + ".tmp";
        File.WriteAllText(temp, pid.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(temp, paths.PidFile(launch.Service), overwrite: true);
        return pid;
    }

    private void Track(ServiceLaunch launch, int pid)
    {
        var s = new Supervised(launch, pid, CancellationTokenSource.CreateLinkedTokenSource(stopping.Token));
        lock (gate)
        {
            if (services.Remove(launch.Service, out var old)) old.Watch.Cancel();
            services[launch.Service] = s;
        }

        if (pid > 0) _ = WatchAsync(s);
    }

    /// <summary>Restarts a service that exits on its own, backing off 1s, 2s, 4s … up to 60s.</summary>
    private async Task WatchAsync(Supervised s)
    {
        var backoff = TimeSpan.FromSeconds(1);
        var pid = s.Pid;
        try
        {
            while (!s.Watch.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), time, s.Watch.Token);
                if (Native.IsAlive(pid)) continue;
                LogExited(logger, s.Launch.Service, pid, backoff.TotalSeconds);
                await Task.Delay(backoff, time, s.Watch.Token);
                lock (gate)
                {
                    if (!services.TryGetValue(s.Launch.Service, out var now) || now != s) return;
                }

                try
                {
                    pid = Spawn(s.Launch);
                    lock (gate) s.Pid = pid;
                    LogStarted(logger, s.Launch.Service, pid, s.Launch.ReleaseDirectory);
                }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidDataException)
                {
                    LogRestartFailed(logger, s.Launch.Service, e.Message);
                }

                backoff = TimeSpan.FromSeconds(Math.Min(60, backoff.TotalSeconds * 2));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void ArtifactsDelete(string path) => Artifacts.ArtifactDownloader.TryDeleteFile(path);

    /// <summary>Stops watching; the services themselves keep running (an agent restart must not restart them).</summary>
    public void Dispose()
    {
        stopping.Cancel();
        stopping.Dispose();
    }

    private sealed class Supervised(ServiceLaunch launch, int pid, CancellationTokenSource watch)
    {
        public ServiceLaunch Launch { get; } = launch;

        public int Pid { get; set; } = pid;

        public CancellationTokenSource Watch { get; } = watch;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service} adopted: pid {Pid} is already running its current release")]
    private static partial void LogAdopted(ILogger logger, string service, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service} started: pid {Pid} in {ReleaseDirectory}")]
    private static partial void LogStarted(ILogger logger, string service, int pid, string releaseDirectory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service} (pid {Pid}) exited on its own; restarting in {BackoffSeconds}s")]
    private static partial void LogExited(ILogger logger, string service, int pid, double backoffSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service {Service} could not be restarted: {Reason}")]
    private static partial void LogRestartFailed(ILogger logger, string service, string reason);
}
