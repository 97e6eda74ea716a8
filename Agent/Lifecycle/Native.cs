using System.Runtime.InteropServices;

namespace Deploy.Engine.Agent.Lifecycle;

/// <summary>The few POSIX calls .NET does not expose: sending SIGTERM and reading a process's state.</summary>
internal static partial class Native
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string from, string to);

    /// <summary>rename(2): atomically replaces <paramref name="to"/> (a symlink to a directory included, which File.Move refuses).</summary>
    public static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0) throw new IOException($"rename '{from}' -> '{to}' failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public static bool Signal(int pid, int signal) => pid is not (0 or -1) && Kill(pid, signal) == 0; // never 0 or -1: those mean "everyone"

    /// <summary>Signals the process group when the process leads its own (started under setsid), else the process alone.</summary>
    public static void SignalService(int pid, int signal)
    {
        if (ProcessGroupOf(pid) == pid) Signal(-pid, signal);
        else Signal(pid, signal);
    }

    /// <summary>True while /proc/&lt;pid&gt; exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        var stat = ReadStat(pid);
        return stat is not null && stat.Value.State != 'Z' && stat.Value.State != 'X';
    }

    public static int? ProcessGroupOf(int pid) => ReadStat(pid)?.ProcessGroup;

    private static (char State, int ProcessGroup)? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ppid pgrp ..." — comm may hold spaces and parens, so split after the last ')'.
            var rest = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (rest[0][0], int.Parse(rest[2], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    public static IReadOnlyList<string> CommandLine(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            return raw.TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    public static string? WorkingDirectory(int pid)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static bool HasEnvironment(int pid, string entry)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains(entry, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
