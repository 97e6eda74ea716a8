using System.Diagnostics;
using System.Text.Json;
using Deploy.Engine.Agent.Artifacts;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Hosting;
using Deploy.Engine.Agent.Journal;
using Deploy.Engine.Agent.Lifecycle;
using Deploy.Engine.Agent.Releases;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Agent.Apply;

/// <summary>
/// Carries out one journalled command (docs/agent.md, "Applying, in order"): download → verify → unpack → config →
/// BeforeInstall → AfterInstall → ApplicationStop (old release) → stop → switch → start → ApplicationStart → health →
/// ValidateService. A failure from ApplicationStop on switches <c>current</c> back to the release that ran before and
/// restarts it. A revert whose release is still on disk is a stop, a switch and a start. Returns the report, which
/// the caller journals before sending.
/// </summary>
public sealed partial class ApplyPipeline(
    EngineClient engine,
    ArtifactDownloader downloader,
    ReleaseStore releases,
    ServiceSupervisor supervisor,
    HealthChecker health,
    JournalStore journals,
    AgentPaths paths,
    IOptions<AgentOptions> options,
    ILogger<ApplyPipeline> logger)
{
    public static readonly string[] HooksBeforeStop = ["BeforeInstall", "AfterInstall"];

    /// <summary>Runs (or resumes) the command in <paramref name="journal"/>; the journal is saved as steps complete.</summary>
    public async Task<ServiceJournal> RunAsync(ServiceJournal journal, CancellationToken ct)
    {
        var log = new StepLog(journals, journal);
        var command = log.Command;
        var watch = Stopwatch.StartNew();
        LogCommandStarted(logger, journal.Service, command.Kind, command.Artifact, command.Nonce);
        string? failure = null;
        try
        {
            var onDisk = command.Kind == CommandKind.Revert ? VerifiedRelease(journal.Service, command) : null;
            if (onDisk is not null) await RevertAsync(log, onDisk, ct);
            else await ApplyAsync(log, ct);
        }
        catch (StepFailedException e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or EngineCallException or HttpRequestException)
        {
            failure = e.Message; // e.g. a manifest that does not parse: nothing was switched yet
        }

        var succeeded = failure is null;
        var c = log.Command;
        var report = new ReportRequest
        {
            Service = journal.Service,
            Rollout = c.Rollout,
            Nonce = c.Nonce,
            Artifact = c.Artifact,
            ComputedDigest = c.ComputedDigest,
            Succeeded = succeeded,
            Healthy = succeeded || (log.RestoredHealthy ?? supervisor.IsRunning(journal.Service)),
            Message = Limit(failure ?? (c.Kind == CommandKind.Revert ? $"reverted to {c.Version} ({Path.GetFileName(c.ReleaseDirectory)})" : $"applied {c.Version} ({Path.GetFileName(c.ReleaseDirectory)})"), 2000),
            DurationMs = watch.ElapsedMilliseconds,
            Steps = log.Steps.ToList(),
        };
        if (succeeded) LogCommandSucceeded(logger, journal.Service, c.Nonce, watch.ElapsedMilliseconds);
        else LogCommandFailed(logger, journal.Service, c.Nonce, failure!);
        log.Update(x => x with { Outcome = report });
        return log.Journal;
    }

    private async Task ApplyAsync(StepLog log, CancellationToken ct)
    {
        var o = options.Value;
        var service = log.Journal.Service;
        var c = log.Command;
        var releaseDir = paths.ReleaseDirectory(service, c.Version, c.Artifact);
        log.Update(x => x with { ReleaseDirectory = releaseDir });

        // Download, verify, unpack: skipped when an earlier run (or an earlier command) left this exact release verified on disk.
        var resumed = log.Command.Completed("unpack") && Directory.Exists(releaseDir) && ReleaseStore.ReadDigest(releaseDir) == c.Artifact;
        if (resumed)
        {
            log.Reuse("download");
            log.Reuse("verify");
            log.Reuse("unpack");
        }
        else if (Directory.Exists(releaseDir) && ReleaseStore.ReadDigest(releaseDir) == c.Artifact)
        {
            log.Update(x => x with { ComputedDigest = c.Artifact });
            await log.RunAsync("unpack", () => Task.FromResult<string?>("release already on disk, verified when it was unpacked"));
        }
        else
        {
            await DownloadVerifyUnpackAsync(log, releaseDir, o, ct);
        }

        var manifest = ReleaseManifest.Load(releaseDir);
        var launch = new ServiceLaunch(service, c.Version, releaseDir, manifest, o.For(service));
        var prior = PriorLaunch(log.Journal, c.PriorDirectory, releaseDir);
        var stopped = false;
        try
        {
            await log.RunAsync("config", () => ConfigAsync(log, launch, ct));
            foreach (var hook in HooksBeforeStop)
            {
                if (!log.Reuse(hook)) await RunHooksAsync(log, hook, launch, c.Rollout, ct);
            }

            stopped = true; // from here on the old release may be down: a failure restarts it
            if (prior is not null) await RunHooksAsync(log, "ApplicationStop", prior, c.Rollout, ct);
            await log.RunAsync("stop", () => supervisor.StopAsync(service, ct));
            await log.RunAsync("switch", () =>
            {
                releases.Switch(service, releaseDir);
                return Task.FromResult<string?>("current -> " + Path.GetFileName(releaseDir));
            });
            await log.RunAsync("start", () => supervisor.StartAsync(launch, ct));
            await RunHooksAsync(log, "ApplicationStart", launch, c.Rollout, ct);
            await HealthAsync(log, launch, ct);
            await RunHooksAsync(log, "ValidateService", launch, c.Rollout, ct);
        }
        catch (StepFailedException)
        {
            await RestorePriorAsync(log, prior, stopped, ct);
            throw;
        }

        Activated(log, launch, log.Command.ConfigHash);
    }

    private async Task DownloadVerifyUnpackAsync(StepLog log, string releaseDir, AgentOptions o, CancellationToken ct)
    {
        var c = log.Command;
        DownloadedArtifact? download = null;
        try
        {
            await log.RunAsync("download", async () =>
            {
                download = await downloader.DownloadAsync(c.Artifact, paths.Downloads, o.MaxArtifactBytes, ct);
                return $"{download.Bytes} bytes";
            });
            log.Update(x => x with { ComputedDigest = download!.ComputedDigest });
            await log.RunAsync("verify", () =>
            {
                if (!string.Equals(download!.ComputedDigest, c.Artifact, StringComparison.Ordinal))
                    throw new InvalidDataException($"artifact verification failed: expected {c.Artifact}, got {download.ComputedDigest}");
                var provenance = c.Provenance is null ? (JsonElement?)null : JsonDocument.Parse(c.Provenance).RootElement;
                if (ProvenanceVerifier.Verify(provenance, c.Artifact, o.TrustedKeys) is { } refusal)
                    throw new InvalidDataException("artifact verification failed: " + refusal);
                return Task.FromResult<string?>(o.TrustedKeys.Count > 0 ? "sha256 and provenance verified" : "sha256 verified");
            }, r => r.Output);
            await log.RunAsync("unpack", () =>
            {
                ArchiveUnpacker.TryDelete(releaseDir); // an unverified leftover of the same name (never the running one: its digest matched)
                ArchiveUnpacker.Unpack(download!.Path, releaseDir, o.MaxUnpackedBytes);
                ReleaseStore.WriteDigest(releaseDir, c.Artifact);
                return Task.FromResult<string?>("into " + Path.GetFileName(releaseDir));
            }, r => "unpack refused: " + r.Output);
        }
        finally
        {
            if (download is not null) ArtifactDownloader.TryDeleteFile(download.Path);
        }
    }

    private async Task<string?> ConfigAsync(StepLog log, ServiceLaunch launch, CancellationToken ct)
    {
        var release = log.Command.Release;
        if (string.IsNullOrEmpty(release)) return "no release named: no configuration";
        var config = await engine.ConfigAsync(release, ct);
        if (config is null) return "the release has no configuration templates";
        var written = ConfigWriter.Write(launch.ReleaseDirectory, launch.Manifest.Config?.Directory ?? "config", config.Files);
        log.Update(x => x with { ConfigHash = config.Hash });
        return $"{written.Count} file(s) written (mode 0600), hash {config.Hash}"; // names and hash only: never contents
    }

    private async Task HealthAsync(StepLog log, ServiceLaunch launch, CancellationToken ct)
    {
        await log.RunAsync("health", async () =>
        {
            var result = await health.WaitHealthyAsync(launch, () => supervisor.IsRunning(launch.Service), ct);
            return new ProcessResult(result.Healthy ? 0 : 1, false, result.Output, result.DurationMs);
        }, r => "health failed: " + r.Output);
    }

    /// <summary>Runs the event's hooks in order, through /bin/sh from the release directory; the first failure stops them.</summary>
    private static async Task RunHooksAsync(StepLog log, string lifecycleEvent, ServiceLaunch launch, string? rollout, CancellationToken ct)
    {
        var hooks = launch.Manifest.HooksFor(lifecycleEvent);
        if (hooks.Count == 0) return;
        await log.RunAsync(lifecycleEvent, async () =>
        {
            var outputs = new List<string>();
            ProcessResult? last = null;
            foreach (var hook in hooks)
            {
                var (segments, refusal) = ArchivePathRules.Normalize(hook.Run);
                if (segments is null || segments.Length == 0) return new ProcessResult(126, false, $"hook '{hook.Run}': {refusal ?? "empty"}", 0);
                var script = Path.Combine([launch.ReleaseDirectory, .. segments]);
                if (!File.Exists(script)) return new ProcessResult(127, false, $"hook '{hook.Run}' is not in the release", 0);
                last = await ProcessRunner.RunShellAsync(script, launch.ReleaseDirectory, launch.Environment(lifecycleEvent, rollout),
                    TimeSpan.FromSeconds(Math.Max(1, hook.TimeoutSeconds)), ct);
                outputs.Add(last.Output);
                if (!last.Succeeded) return last with { Output = string.Join('\n', outputs) };
            }

            return new ProcessResult(0, false, string.Join('\n', outputs), last?.DurationMs ?? 0);
        });
    }

    /// <summary>
    /// Puts back the release that ran before: the failed one is stopped, <c>current</c> switched back and the old
    /// one started. With no release before, <c>current</c> is removed so nothing broken starts on reboot.
    /// </summary>
    private async Task RestorePriorAsync(StepLog log, ServiceLaunch? prior, bool stopped, CancellationToken ct)
    {
        var service = log.Journal.Service;
        if (!stopped && (prior is null || supervisor.Running(service)?.ReleaseDirectory == prior.ReleaseDirectory)) return;
        try
        {
            await log.RunAsync("rollback", async () =>
            {
                var running = supervisor.Running(service);
                if (running is not null && running.ReleaseDirectory != prior?.ReleaseDirectory) await supervisor.StopAsync(service, ct);
                if (prior is null)
                {
                    releases.Clear(service);
                    return new ProcessResult(0, false, "no release ran before: current removed", 0);
                }

                if (releases.Current(service) != prior.ReleaseDirectory) releases.Switch(service, prior.ReleaseDirectory);
                if (supervisor.IsRunning(service)) return new ProcessResult(0, false, "current -> " + Path.GetFileName(prior.ReleaseDirectory) + " (still running)", 0);
                var start = await supervisor.StartAsync(prior, ct);
                if (!start.Succeeded) return start;
                var healthy = await health.WaitHealthyAsync(prior, () => supervisor.IsRunning(service), ct);
                log.RestoredHealthy = healthy.Healthy;
                return new ProcessResult(healthy.Healthy ? 0 : 1, false,
                    $"current -> {Path.GetFileName(prior.ReleaseDirectory)}; {start.Output}; health: {healthy.Output}", start.DurationMs + healthy.DurationMs);
            });
        }
        catch (StepFailedException e)
        {
            LogRollbackFailed(logger, service, e.Message);
        }
    }

    private async Task RevertAsync(StepLog log, string releaseDir, CancellationToken ct)
    {
        var o = options.Value;
        var service = log.Journal.Service;
        var c = log.Command;
        log.Update(x => x with { ReleaseDirectory = releaseDir, ComputedDigest = ReleaseStore.ReadDigest(releaseDir) });
        var launch = new ServiceLaunch(service, c.Version, releaseDir, ReleaseManifest.Load(releaseDir), o.For(service));
        await log.RunAsync("revert", async () =>
        {
            if (releases.Current(service) == releaseDir && supervisor.Running(service)?.ReleaseDirectory == releaseDir && supervisor.IsRunning(service))
                return new ProcessResult(0, false, $"{Path.GetFileName(releaseDir)} is already current and running", 0);
            var stop = await supervisor.StopAsync(service, ct);
            releases.Switch(service, releaseDir);
            var start = await supervisor.StartAsync(launch, ct);
            return start with { Output = $"{stop.Output}; current -> {Path.GetFileName(releaseDir)}; {start.Output}", DurationMs = stop.DurationMs + start.DurationMs };
        });
        await HealthAsync(log, launch, ct);
        var configHash = log.Journal.Previous?.Directory == releaseDir ? log.Journal.Previous.ConfigHash : null;
        Activated(log, launch, configHash);
    }

    /// <summary>The release is live: journal it as current (the old one becomes previous) and prune old releases.</summary>
    private void Activated(StepLog log, ServiceLaunch launch, string? configHash)
    {
        var c = log.Command;
        var old = log.Journal.Current;
        log.UpdateJournal(j => j with
        {
            Current = new RunningRelease(c.Artifact, c.Version, launch.ReleaseDirectory, configHash),
            Previous = old is not null && old.Directory != launch.ReleaseDirectory ? old : j.Previous,
        });
        ReleaseStore.Touch(launch.ReleaseDirectory, DateTime.UtcNow);
        releases.Prune(launch.Service, options.Value.KeepReleases, [launch.ReleaseDirectory, log.Journal.Previous?.Directory, c.PriorDirectory]);
    }

    /// <summary>The revert target when its release is on disk and was verified against the same digest.</summary>
    private string? VerifiedRelease(string service, JournalCommand c)
    {
        var dir = releases.Find(service, c.Version, c.Artifact);
        return dir is not null && ReleaseStore.ReadDigest(dir) == c.Artifact && ReleaseManifest.TryLoad(dir) is not null ? dir : null;
    }

    private ServiceLaunch? PriorLaunch(ServiceJournal journal, string? priorDir, string newDir)
    {
        if (priorDir is null || !Directory.Exists(priorDir) || ReleaseManifest.TryLoad(priorDir) is not { } manifest) return null;
        if (string.Equals(Path.GetFullPath(priorDir), Path.GetFullPath(newDir), StringComparison.Ordinal)) return null;
        var version = journal.Current?.Directory == priorDir ? journal.Current.Version
            : journal.Previous?.Directory == priorDir ? journal.Previous.Version : null;
        return new ServiceLaunch(journal.Service, version, priorDir, manifest, options.Value.For(journal.Service));
    }

    private static string Limit(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Kind} {Artifact} (command {Nonce}) begins")]
    private static partial void LogCommandStarted(ILogger logger, string service, CommandKind kind, string artifact, string nonce);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: command {Nonce} succeeded in {DurationMs} ms")]
    private static partial void LogCommandSucceeded(ILogger logger, string service, string nonce, long durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: command {Nonce} failed: {Reason}")]
    private static partial void LogCommandFailed(ILogger logger, string service, string nonce, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service {Service}: putting the previous release back failed: {Reason}")]
    private static partial void LogRollbackFailed(ILogger logger, string service, string reason);
}
