using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// A real host agent process (<c>Agent/</c>, run with <c>dotnet Deploy.Engine.Agent.dll</c>) in a directory of its own,
/// talking HTTP to the engine. The services it starts outlive it (as under systemd with KillMode=process), so
/// <see cref="DisposeAsync"/> stops them too, by the PIDs in the agent's <c>run/</c> directory.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private AgentProcess(string hostId, string directory, IReadOnlyDictionary<string, int> ports, string configPath)
    {
        HostId = hostId;
        Directory = directory;
        Ports = ports;
        ConfigPath = configPath;
    }

    public string HostId { get; }

    /// <summary>The agent's data directory: releases/, journal/, run/, logs/.</summary>
    public string Directory { get; }

    /// <summary>The loopback port each service gets.</summary>
    public IReadOnlyDictionary<string, int> Ports { get; }

    public string ConfigPath { get; }

    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return _output.Length > 6000 ? _output.ToString(_output.Length - 6000, 6000) : _output.ToString();
            }
        }
    }

    public static AgentProcess Create(
        Uri engine, string key, string environment, string hostId, string root, IReadOnlyDictionary<string, int> ports,
        IReadOnlyDictionary<string, string>? labels = null, long maxUnpackedBytes = 256L * 1024 * 1024)
    {
        var directory = Path.Combine(root, hostId);
        System.IO.Directory.CreateDirectory(directory);
        var config = new Dictionary<string, object?>
        {
            ["Engine"] = engine.ToString().TrimEnd('/'),
            ["Key"] = key,
            ["HostId"] = hostId,
            ["Environment"] = environment,
            ["DataDirectory"] = directory,
            ["Labels"] = labels ?? new Dictionary<string, string>(),
            ["Services"] = ports.ToDictionary(p => p.Key, p => new { Port = p.Value }),
            ["PollSeconds"] = 10,
            ["HeartbeatSeconds"] = 2,
            ["MetricsSeconds"] = 1,
            ["MaxUnpackedBytes"] = maxUnpackedBytes,
        };
        var configPath = Path.Combine(directory, "agent.json");
        File.WriteAllText(configPath, JsonSerializer.Serialize(config));
        return new AgentProcess(hostId, directory, ports, configPath);
    }

    public void Start()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        info.ArgumentList.Add(RepoPaths.AgentDll);
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(ConfigPath);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>kill -9: the agent stops mid-step; its services keep running.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: false);
            p.WaitForExit(10_000);
        }
    }

    public bool HasExited => _process?.HasExited ?? true;

    /// <summary>The agent's process id while it runs.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>The PIDs of the services the agent started (its run/ directory).</summary>
    public IReadOnlyList<int> ServicePids()
    {
        var run = Path.Combine(Directory, "run");
        if (!System.IO.Directory.Exists(run))
        {
            return [];
        }

        var pids = new List<int>();
        foreach (var file in System.IO.Directory.EnumerateFiles(run, "*.pid", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file).Trim();
            if (int.TryParse(text, out var pid))
            {
                pids.Add(pid);
            }
            else if (text.StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.TryGetProperty("pid", out var p) && p.TryGetInt32(out pid))
                {
                    pids.Add(pid);
                }
            }
        }

        return pids;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        foreach (var pid in ServicePids())
        {
            try
            {
                using var service = Process.GetProcessById(pid);
                // Only what this agent's directory started: a recycled PID belongs to someone else.
                var cwd = new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? string.Empty;
                if (cwd.StartsWith(Directory, StringComparison.Ordinal))
                {
                    service.Kill(entireProcessTree: true);
                    await service.WaitForExitAsync(new CancellationTokenSource(5000).Token);
                }
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            catch (InvalidOperationException)
            {
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or UnauthorizedAccessException)
            {
                // Gone while we looked, or not ours to read.
            }
        }

        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>Where the repository's scripts and built programs are, from the test assembly's location.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Release or Debug, as this test assembly was built.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    public static string AgentDll => Path.Combine(Root, "Agent", "bin", Configuration, "net10.0", "Deploy.Engine.Agent.dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Deploy.Engine.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Deploy.Engine.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Artifacts of the sample service, packaged by <c>deploy/package-sample.sh</c> as a user would.</summary>
public static class SampleArtifacts
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Packages VERSION in MODE (ok, fail-validate, errors) into <paramref name="outDir"/>: (digest, path).</summary>
    public static async Task<(string Digest, string Path)> Package(string version, string mode, string outDir, IReadOnlyDictionary<string, string>? environment = null)
    {
        var last = (await Run(environment, "deploy/package-sample.sh", version, mode, outDir)).TrimEnd().Split('\n')[^1].Split(' ', 2);
        return (last[0], last[1]);
    }

    /// <summary>traversal.tar.gz, symlink-out.tar.gz and bomb.tar.gz in <paramref name="outDir"/>.</summary>
    public static Task BadArchives(string outDir) => Run(null, "deploy/package-sample.sh", "--bad-archives", outDir);

    public static string DigestOf(string path)
    {
        using var stream = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    private static async Task<string> Run(IReadOnlyDictionary<string, string>? environment, string script, params string[] args)
    {
        await Gate.WaitAsync();
        try
        {
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
            info.ArgumentList.Add(script);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            {
                info.Environment[k] = v;
            }

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{script} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
            }

            return await stdout;
        }
        finally
        {
            Gate.Release();
        }
    }
}
