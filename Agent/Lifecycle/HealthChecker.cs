using System.Diagnostics;

namespace Deploy.Engine.Agent.Lifecycle;

public sealed record HealthResult(bool Healthy, int Checks, string Output, long DurationMs);

/// <summary>
/// The manifest's health checks: an HTTP GET on 127.0.0.1:PORT (2xx passes) and/or a command (exit 0 passes),
/// which must pass <c>successThreshold</c> times in a row within <c>timeoutSeconds</c>, one try every
/// <c>intervalMs</c>. A failure resets the count; a service that exits meanwhile fails at once.
/// </summary>
public sealed class HealthChecker(HttpClient http, TimeProvider time)
{
    public async Task<HealthResult> WaitHealthyAsync(ServiceLaunch launch, Func<bool> alive, CancellationToken ct)
    {
        var spec = launch.Manifest.Health;
        var watch = Stopwatch.StartNew();
        if (spec is null || (spec.Http is null && string.IsNullOrWhiteSpace(spec.Command)))
            return new HealthResult(alive(), 0, alive() ? "no health checks declared; the process is running" : "the process is not running", 0);

        var threshold = Math.Max(1, spec.SuccessThreshold);
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(1, spec.TimeoutSeconds));
        var passes = 0;
        var checks = 0;
        var last = "";
        while (true)
        {
            if (!alive()) return new HealthResult(false, checks, "the service exited during its health checks. " + last, watch.ElapsedMilliseconds);
            checks++;
            var (ok, output) = await CheckOnceAsync(launch, ct);
            last = output;
            passes = ok ? passes + 1 : 0;
            if (passes >= threshold) return new HealthResult(true, checks, $"{passes} consecutive passes. {last}", watch.ElapsedMilliseconds);
            if (time.GetUtcNow() >= deadline)
                return new HealthResult(false, checks, $"not healthy within {spec.TimeoutSeconds}s ({passes}/{threshold} consecutive passes): {last}", watch.ElapsedMilliseconds);
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(50, spec.IntervalMs)), time, ct);
        }
    }

    /// <summary>One round of the declared checks: every declared check must pass.</summary>
    public async Task<(bool Ok, string Output)> CheckOnceAsync(ServiceLaunch launch, CancellationToken ct)
    {
        var spec = launch.Manifest.Health;
        if (spec is null) return (true, "");
        if (spec.Http is { } h)
        {
            if (launch.Options.Port is not { } port) return (false, "health.http needs Services:" + launch.Service + ":Port in the agent's configuration");
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{Path(h.Path)}"), timeout.Token);
                if (!response.IsSuccessStatusCode) return (false, $"GET {h.Path} answered {(int)response.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                return (false, $"GET {h.Path} failed: {e.Message}");
            }
        }

        if (!string.IsNullOrWhiteSpace(spec.Command))
        {
            var result = await ProcessRunner.RunCommandAsync(spec.Command, launch.ReleaseDirectory, launch.Environment(), TimeSpan.FromSeconds(30), ct);
            if (!result.Succeeded) return (false, $"health command exited {result.ExitCode}{(result.TimedOut ? " (timed out)" : "")}: {result.Output}");
        }

        return (true, "passed");
    }

    private static string Path(string p) => p.StartsWith('/') ? p : "/" + p;
}
