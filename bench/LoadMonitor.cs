using System.Diagnostics;
using System.Globalization;

namespace Deploy.Engine.Bench;

/// <summary>
/// The machine's load while a figure is measured: the 1-minute load average (sampled every second), how busy all the
/// machine's cores were (/proc/stat) and how much of that was this process. On a shared machine a figure measured while
/// other builds and tests ran is not the same figure: the results file says which it was.
/// </summary>
public sealed class LoadMonitor : IAsyncDisposable
{
    private readonly List<double> _loads = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly (long Busy, long Total)? _cpuStart;
    private readonly TimeSpan _processStart;
    private readonly Stopwatch _wall = Stopwatch.StartNew();

    private LoadMonitor()
    {
        _cpuStart = ReadCpu();
        _processStart = Process.GetCurrentProcess().TotalProcessorTime;
        _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                if (ReadLoad() is { } load)
                {
                    lock (_loads) _loads.Add(load);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    public static LoadMonitor Start() => new();

    /// <summary>e.g. "load 2.1–6.3 (1-min avg), cores 97 % busy, 61 % of that this process".</summary>
    public async Task<string> Stop()
    {
        await _stop.CancelAsync();
        await _sampler;
        var cpu = ReadCpu();
        var own = (Process.GetCurrentProcess().TotalProcessorTime - _processStart).TotalSeconds;
        string loads;
        lock (_loads)
        {
            loads = _loads.Count == 0 ? "load n/a" : string.Create(CultureInfo.InvariantCulture, $"load {_loads.Min():0.0}–{_loads.Max():0.0}");
        }

        if (cpu is not { } end || _cpuStart is not { } start || end.Total <= start.Total)
        {
            return loads;
        }

        var busyShare = (double)(end.Busy - start.Busy) / (end.Total - start.Total);
        var machineCpuSeconds = busyShare * Environment.ProcessorCount * _wall.Elapsed.TotalSeconds;
        var ownShare = machineCpuSeconds <= 0 ? 0 : Math.Min(1, own / machineCpuSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"{loads} (1-min avg), cores {busyShare:P0} busy, {ownShare:P0} of that the bench process");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await Stop();
        _stop.Dispose();
    }

    private static double? ReadLoad()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Jiffies busy and in all from the first line of /proc/stat (user nice system idle iowait irq softirq steal).</summary>
    private static (long Busy, long Total)? ReadCpu()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = fields.Sum();
            var idle = fields[3] + fields[4];
            return (total - idle, total);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What else runs on the machine: the load averages and the busiest other processes (from ps).</summary>
public static class MachineLoad
{
    public static string Snapshot()
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        try
        {
            var info = new ProcessStartInfo("ps", "-eo pid=,pcpu=,comm= --sort=-pcpu") { RedirectStandardOutput = true, UseShellExecute = false };
            using var ps = Process.Start(info)!;
            var own = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            var top = ps.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length == 3 && f[0] != own && f[2] != "ps")
                .Take(5)
                .Select(f => $"{f[2]} {f[1]} %");
            ps.WaitForExit();
            return $"load averages {load}; busiest other processes (CPU % over their lifetime): {string.Join(", ", top)}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"load averages {load}";
        }
    }
}

/// <summary>
/// CPU time one process (this one, or Azurite by its PID) spent over a sample, from /proc/PID/stat (user + system, in
/// clock ticks of 10 ms; a sample of ~1 s is read to about 1 %): tells whether a figure is bounded by Azurite's work per
/// operation or by the client's.
/// </summary>
public static class ProcessCpu
{
    /// <summary>CPU seconds <paramref name="pid"/> has used so far; null where /proc cannot be read.</summary>
    public static double? Seconds(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Wraps a sampler giving operations per second: records, per call, the CPU microseconds per operation of Azurite
    /// (<paramref name="azuritePid"/>) and, when <paramref name="own"/> is given, of this process, over <paramref name="operations"/>
    /// operations; warm-up calls (negative index, <see cref="Measure.Interleaved"/>) are not recorded.
    /// </summary>
    public static Func<int, Task<double>> PerOperation(Func<int, Task<double>> sample, int operations, int? azuritePid, List<double> azurite, List<double>? own = null) => async i =>
    {
        if (i < 0) return await sample(i);
        var azuriteBefore = azuritePid is { } pid ? Seconds(pid) : null;
        var ownBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var rate = await sample(i);
        if (azuritePid is { } p && azuriteBefore is { } before && Seconds(p) is { } after)
        {
            azurite.Add((after - before) * 1e6 / operations);
        }

        own?.Add((Process.GetCurrentProcess().TotalProcessorTime - ownBefore).TotalMicroseconds / operations);
        return rate;
    };
}
