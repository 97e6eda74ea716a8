namespace Deploy.Engine.Cli;

/// <summary>What the CLI touches outside itself: its two output streams and its environment (tests pass their own).</summary>
public sealed record CliHost(TextWriter Out, TextWriter Error, Func<string, string?> Environment)
{
    /// <summary>For tests: an HTTP handler to use instead of sockets (null: a normal HttpClient).</summary>
    public HttpMessageHandler? Handler { get; init; }
}

/// <summary>Exit codes, stable so pipelines can branch on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command line itself is wrong (unknown option, missing argument, unreadable file).</summary>
    public const int Usage = 1;

    /// <summary>The engine answered with a problem (4xx/5xx): its title and detail are printed.</summary>
    public const int Refused = 3;

    /// <summary>The engine could not be reached (or no URL/key is configured).</summary>
    public const int Unreachable = 4;

    /// <summary><c>audit verify</c>: the audit trail's hash chain is broken.</summary>
    public const int AuditBroken = 5;

    /// <summary><c>rollout watch</c>: the rollout ended RolledBack.</summary>
    public const int RolledBack = 10;

    /// <summary><c>rollout watch</c>: the rollout ended Aborted.</summary>
    public const int Aborted = 11;

    /// <summary><c>rollout watch</c>: the rollout ended Failed.</summary>
    public const int Failed = 12;

    /// <summary><c>rollout watch --timeout</c>: the rollout had not ended in time.</summary>
    public const int WatchTimedOut = 13;

    /// <summary>The exit code of a rollout status for <c>rollout watch</c>; null while it is still going.</summary>
    public static int? ForStatus(string? status) => status switch
    {
        "Succeeded" => Ok,
        "RolledBack" => RolledBack,
        "Aborted" => Aborted,
        "Failed" => Failed,
        _ => null,
    };
}

/// <summary>A refusal to report: the engine's ProblemDetails, or a local reason with no status.</summary>
public sealed class CliProblemException(int exitCode, string title, string? detail, int? status = null,
    IReadOnlyDictionary<string, string[]>? errors = null, string? body = null) : Exception(title)
{
    public int ExitCode { get; } = exitCode;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    public int? Status { get; } = status;

    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;

    /// <summary>The problem as the engine sent it (JSON), for <c>--output json</c>.</summary>
    public string? Body { get; } = body;
}
