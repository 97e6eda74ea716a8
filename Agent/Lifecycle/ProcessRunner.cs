using System.Diagnostics;
using System.Text;

namespace Deploy.Engine.Agent.Lifecycle;

/// <summary>How a finished command went: its exit code, whether it ran out of time, and the tail of its output.</summary>
public sealed record ProcessResult(int ExitCode, bool TimedOut, string Output, long DurationMs)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;
}

/// <summary>
/// Runs a command to completion with a timeout; on timeout the whole process tree is killed and the result says so.
/// stdout and stderr are merged and only the last <see cref="OutputTail"/> characters kept.
/// </summary>
public static class ProcessRunner
{
    public const int OutputTail = 2000;

    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeout, CancellationToken ct)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;

        var output = new TailBuffer(OutputTail);
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ProcessResult(127, false, $"could not start '{fileName}': {e.Message}", watch.ElapsedMilliseconds);
        }

        process.StandardInput.Close();
        var readers = Task.WhenAll(Pump(process.StandardOutput, output), Pump(process.StandardError, output));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await exited.Task.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !ct.IsCancellationRequested;
            KillTree(process);
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            ct.ThrowIfCancellationRequested();
        }

        // A child that outlives the command may hold its pipes open: do not wait on it for long.
        await Task.WhenAny(readers, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        var exitCode = process.HasExited ? process.ExitCode : -1;
        var text = output.ToString();
        if (timedOut) text = TailBuffer.Trim(text + $"\n[killed after {timeout.TotalSeconds:0}s timeout]", OutputTail);
        return new ProcessResult(exitCode, timedOut, text, watch.ElapsedMilliseconds);
    }

    /// <summary>
    /// Runs <paramref name="script"/> (a path inside <paramref name="workingDirectory"/>) through /bin/sh, its stderr
    /// joined to its stdout on one pipe so the tail keeps the order the script wrote in.
    /// </summary>
    public static Task<ProcessResult> RunShellAsync(string script, string workingDirectory, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken ct) =>
        RunAsync("/bin/sh", ["-c", "exec /bin/sh \"$0\" 2>&1", script], workingDirectory, environment, timeout, ct);

    /// <summary>Runs a command line through <c>/bin/sh -c</c>, stderr joined to stdout.</summary>
    public static Task<ProcessResult> RunCommandAsync(string commandLine, string workingDirectory, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken ct) =>
        RunAsync("/bin/sh", ["-c", "exec 2>&1\n" + commandLine], workingDirectory, environment, timeout, ct);

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static async Task Pump(StreamReader reader, TailBuffer output)
    {
        var buffer = new char[4096];
        int n;
        try
        {
            while ((n = await reader.ReadAsync(buffer)) > 0) output.Append(buffer.AsSpan(0, n));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>Keeps the last N characters written to it (thread-safe: stdout and stderr append concurrently).</summary>
public sealed class TailBuffer(int capacity)
{
    private readonly StringBuilder text = new();
    private readonly Lock gate = new();

    public void Append(ReadOnlySpan<char> chars)
    {
        lock (gate)
        {
            text.Append(chars);
            if (text.Length > capacity * 2) text.Remove(0, text.Length - capacity);
        }
    }

    public override string ToString()
    {
        lock (gate) return Trim(text.ToString(), capacity);
    }

    public static string Trim(string s, int capacity) => s.Length <= capacity ? s : s[^capacity..];
}
