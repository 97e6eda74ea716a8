using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (the Debian package's <c>/usr/bin/prometheus</c>, or <c>DEPLOY_ENGINE_PROMETHEUS</c>) for tests:
/// web and API on 127.0.0.1 and a free port only, a fresh temporary TSDB and config scraping the given loopback
/// targets every second. Guarantees: <see cref="StartAsync"/> returns once <c>/-/ready</c> answers 200; dispose kills
/// only the process this instance started (by its PID) and deletes the temporary folder.
/// </summary>
public sealed class PrometheusProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private const int OutputLinesKept = 200;

    private readonly Queue<string> _output = new();
    private readonly Lock _outputLock = new();
    private readonly string _directory;
    private Process? _process;

    private PrometheusProcess(string directory, int port)
    {
        _directory = directory;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    /// <summary>The binary the tests use, or null when none is installed.</summary>
    public static string? Executable =>
        Environment.GetEnvironmentVariable("DEPLOY_ENGINE_PROMETHEUS") is { Length: > 0 } configured && File.Exists(configured) ? configured
        : File.Exists("/usr/bin/prometheus") ? "/usr/bin/prometheus"
        : null;

    public Uri BaseAddress { get; }

    public string RecentOutput
    {
        get
        {
            lock (_outputLock)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts Prometheus scraping <paramref name="targets"/> (host:port on loopback) at <c>/metrics</c> every second.</summary>
    public static async Task<PrometheusProcess> StartAsync(IEnumerable<string> targets, CancellationToken ct = default)
    {
        var executable = Executable ?? throw new InvalidOperationException("Prometheus is not installed (apt-get install prometheus).");
        var directory = Path.Combine(Path.GetTempPath(), "deploy-engine-prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: served
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            """, ct);

        var prometheus = new PrometheusProcess(directory, FreeLoopbackPort());
        try
        {
            await prometheus.LaunchAsync(executable, config, ct);
            return prometheus;
        }
        catch
        {
            await prometheus.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            try
            {
                // This instance's own process only, by the handle (PID) it started.
                process.Kill(entireProcessTree: false);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the OS to clean up with the rest of the temp folder.
        }
    }

    private async Task LaunchAsync(string executable, string config, CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
        {
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(_directory, "data"),
            "--web.listen-address=" + BaseAddress.Authority,
            "--log.level=warn",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(ct);
                throw new InvalidOperationException($"Prometheus exited with code {process.ExitCode} during start-up. Output:{Environment.NewLine}{RecentOutput}");
            }

            try
            {
                using var ready = await http.GetAsync(new Uri(BaseAddress, "-/ready"), ct);
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException($"Prometheus was not ready on {BaseAddress} within {ReadyTimeout.TotalSeconds:0} s. Output:{Environment.NewLine}{RecentOutput}");
            }

            await Task.Delay(100, ct);
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLinesKept)
            {
                _output.Dequeue();
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}

/// <summary>A <see cref="FactAttribute"/> that reports the test skipped, with the reason, where Prometheus is not installed.</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (PrometheusProcess.Executable is null)
        {
            Skip = "Prometheus is not installed: /usr/bin/prometheus is missing (apt-get install prometheus; deploy/test.sh tries when it can).";
        }
    }
}
