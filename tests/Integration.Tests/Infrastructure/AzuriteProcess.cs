using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// A real Azurite (the version pinned in <c>deploy/azurite/package.json</c>) listening on three free
/// loopback ports, for tests that need Azure Storage. Guarantees: <see cref="StartAsync"/> returns
/// only once blob, queue and table accept TCP connections; <see cref="RestartAsync"/> comes back on
/// the same ports and data directory, so a connection string taken before stays valid; nothing but
/// the process this instance started is ever killed.
/// </summary>
/// <remarks>
/// Azurite keeps its table/queue/blob metadata in memory and saves it to disk every few seconds
/// (measured: a table write made just before a kill was gone after the restart). A graceful stop
/// (SIGTERM) saves it first; an abrupt one is a crash that can lose the last seconds of writes.
/// </remarks>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The well-known development account key every Azurite accepts; not a secret.</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(10);
    private const int OutputLinesKept = 200;
    private const int StartAttempts = 3;

    private readonly string _executable;
    private readonly bool _ownsDataDirectory;
    private readonly Queue<string> _output = new();
    private readonly Lock _outputLock = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Process? _process;

    private AzuriteProcess(string executable, string dataDirectory, bool ownsDataDirectory, int blobPort, int queuePort, int tablePort)
    {
        _executable = executable;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        ConnectionString = BuildConnectionString(blobPort, queuePort, tablePort);
    }

    public string ConnectionString { get; }

    public string DataDirectory { get; }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>The Azurite process's id while it runs (the bench reads its CPU time).</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Whether Azurite keeps its data in memory only (lost when the process stops).</summary>
    public bool InMemoryPersistence { get; private init; }

    /// <summary>The last lines Azurite wrote to stdout and stderr, for failure messages.</summary>
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

    /// <summary>
    /// Starts Azurite on three free loopback ports. <paramref name="dataDirectory"/> is used (and kept)
    /// when given; otherwise a fresh temporary directory is made and deleted on dispose. With
    /// <paramref name="inMemoryPersistence"/> Azurite keeps its data in memory only (its <c>--inMemoryPersistence</c>;
    /// it refuses a location then): on disk, its table store also saves the whole table database every five seconds
    /// on its one thread (the bench's <c>--azurite-in-memory</c> measures without that).
    /// </summary>
    public static async Task<AzuriteProcess> StartAsync(string? dataDirectory = null, bool inMemoryPersistence = false, CancellationToken ct = default)
    {
        var executable = FindExecutable();
        var ownsDataDirectory = dataDirectory is null;
        var directory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "deploy-engine-azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);

        // A port found free can be taken by someone else before Azurite binds it: try fresh ports.
        for (var attempt = 1; ; attempt++)
        {
            var ports = PickFreeLoopbackPorts(3);
            var azurite = new AzuriteProcess(executable, directory, ownsDataDirectory, ports[0], ports[1], ports[2]) { InMemoryPersistence = inMemoryPersistence };
            try
            {
                await azurite.LaunchAsync(ct);
                return azurite;
            }
            catch (InvalidOperationException) when (attempt < StartAttempts && azurite.RecentOutput.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                await azurite.StopAsync();
            }
            catch
            {
                await azurite.DisposeAsync();
                throw;
            }
        }
    }

    public static string BuildConnectionString(int blob, int queue, int table) =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        $"AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";

    /// <summary>
    /// Stops Azurite and waits for it to exit; idempotent. By default it kills the process tree, like
    /// a crash or an outage: writes of the last few seconds may be lost. With <paramref name="graceful"/>
    /// it asks Azurite to shut down (SIGTERM), which saves its data, and kills it only after 10 s.
    /// </summary>
    public async Task StopAsync(bool graceful = false)
    {
        await _gate.WaitAsync();
        try
        {
            await StopCoreAsync(graceful);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops, then starts again on the same ports and data directory. Graceful by default, so that
    /// everything written before the restart is still there; pass <c>graceful: false</c> to restart
    /// after a crash instead (see <see cref="StopAsync"/>).
    /// </summary>
    public async Task RestartAsync(bool graceful = true, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await StopCoreAsync(graceful);
            await LaunchCoreAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
                // Left for the OS to clean up with the rest of the temp folder.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task LaunchAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await LaunchCoreAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task LaunchCoreAsync(CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = DataDirectory,
        };
        foreach (var argument in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port(BlobPort),
            "--queueHost", "127.0.0.1", "--queuePort", Port(QueuePort),
            "--tableHost", "127.0.0.1", "--tablePort", Port(TablePort),
            "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        // In memory, Azurite refuses a location; on disk, its data goes to the data directory.
        foreach (var argument in InMemoryPersistence ? ["--inMemoryPersistence"] : new[] { "--location", DataDirectory })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        Capture($"--- starting {_executable} (blob {BlobPort}, queue {QueuePort}, table {TablePort}, data {DataDirectory})");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                // Let the output readers drain before quoting them.
                await process.WaitForExitAsync(ct);
                throw new InvalidOperationException(
                    $"Azurite exited with code {process.ExitCode} during start-up. Output:{Environment.NewLine}{RecentOutput}");
            }

            if (await AcceptsAsync(BlobPort, ct) && await AcceptsAsync(QueuePort, ct) && await AcceptsAsync(TablePort, ct))
            {
                return;
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException(
                    $"Azurite did not accept connections on 127.0.0.1:{BlobPort}/{QueuePort}/{TablePort} within {ReadyTimeout.TotalSeconds:0} s. Output:{Environment.NewLine}{RecentOutput}");
            }

            await Task.Delay(100, ct);
        }
    }

    private async Task StopCoreAsync(bool graceful)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        _process = null;
        if (graceful && !OperatingSystem.IsWindows() && !process.HasExited && NativeMethods.Kill(process.Id, NativeMethods.SigTerm) == 0)
        {
            using var timeout = new CancellationTokenSource(GracefulStopTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Capture($"--- no exit {GracefulStopTimeout.TotalSeconds:0} s after SIGTERM; killing");
            }
        }

        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        await process.WaitForExitAsync();
        process.Dispose();
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

    private static async Task<bool> AcceptsAsync(int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private static int[] PickFreeLoopbackPorts(int count)
    {
        // All listeners are held at once so the OS hands out distinct ports.
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private static string FindExecutable()
    {
        var root = FindRepositoryRoot();
        var name = OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite";
        var executable = Path.Combine(root, "deploy", "azurite", "node_modules", ".bin", name);
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed: {executable} is missing. Run `npm ci` in {Path.Combine(root, "deploy", "azurite")} (deploy/test.sh does it for you).");
        }

        return executable;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Deploy.Engine.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No folder containing Deploy.Engine.sln above {AppContext.BaseDirectory}: cannot locate deploy/azurite.");
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static class NativeMethods
    {
        internal const int SigTerm = 15;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static extern int Kill(int pid, int signal);
    }
}
