using System.Diagnostics;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Lifecycle;

namespace Deploy.Engine.Agent.Metrics;

/// <summary>
/// One service's metrics: probe requests spread evenly over each second (when the manifest asks for them), a
/// Prometheus scrape per window (when it names an endpoint), and the health checks that failed in a row. The
/// scrape wins when it saw requests in the window; the probes are the fallback.
/// </summary>
public sealed class MetricsSampler(ServiceLaunch launch, HttpClient http, HealthChecker health, TimeProvider time)
{
    private readonly ProbeWindow probes = new();
    private HttpTraffic? lastScrape;
    private int failedHealthChecks;

    public ServiceLaunch Launch { get; } = launch;

    /// <summary>Sends <c>perSecond</c> probes a second, one every 1/perSecond s, until cancelled.</summary>
    public async Task RunProbesAsync(CancellationToken ct)
    {
        if (Launch.Manifest.Metrics?.Probe is not { PerSecond: > 0 } probe || Launch.Options.Port is not { } port) return;
        var spacing = TimeSpan.FromSeconds(1 / Math.Min(probe.PerSecond, 1000));
        var uri = new Uri($"http://127.0.0.1:{port}{(probe.Path.StartsWith('/') ? probe.Path : "/" + probe.Path)}");
        while (!ct.IsCancellationRequested)
        {
            _ = ProbeOnceAsync(uri, ct);
            await Task.Delay(spacing, time, ct);
        }
    }

    private async Task ProbeOnceAsync(Uri uri, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            probes.Record(watch.Elapsed.TotalMilliseconds, (int)response.StatusCode >= 500);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            if (!ct.IsCancellationRequested) probes.Record(watch.Elapsed.TotalMilliseconds, error: true);
        }
    }

    /// <summary>Closes the window: the figures for the engine.</summary>
    public async Task<MetricsRequest> SampleAsync(CancellationToken ct)
    {
        var probeSummary = probes.Drain();
        var window = await ScrapeWindowAsync(ct);
        if (Launch.Manifest.Health?.Http is not null)
        {
            var (ok, _) = await health.CheckOnceAsync(Launch with { Manifest = Launch.Manifest with { Health = Launch.Manifest.Health with { Command = null } } }, ct);
            failedHealthChecks = ok ? 0 : failedHealthChecks + 1;
        }

        var useScrape = window is { Requests: > 0 };
        return new MetricsRequest(
            Launch.Service,
            ErrorRatePercent: Math.Clamp((useScrape ? window!.ErrorRatePercent : probeSummary.ErrorRatePercent) ?? 0, 0, 100),
            P99LatencyMs: Math.Clamp((useScrape ? window!.QuantileMs(0.99) ?? probeSummary.P99LatencyMs : probeSummary.P99LatencyMs) ?? 0, 0, 3_600_000),
            FailedHealthChecks: failedHealthChecks,
            Requests: useScrape ? (long)window!.Requests : probeSummary.Requests);
    }

    private async Task<HttpTraffic?> ScrapeWindowAsync(CancellationToken ct)
    {
        if (Launch.Manifest.Metrics?.Prometheus is not { } path || Launch.Options.Port is not { } port) return null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{(path.StartsWith('/') ? path : "/" + path)}"), timeout.Token);
            var now = HttpTraffic.From(PrometheusText.Parse(text));
            var window = lastScrape is null ? null : now.Since(lastScrape);
            lastScrape = now;
            return window;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }
}
