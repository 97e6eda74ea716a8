using Deploy.Engine.Agent.Engine;

namespace Deploy.Engine.Agent.Journal;

/// <summary>
/// What the agent knows about one service across restarts (<c>journal/&lt;service&gt;.json</c>): the release it
/// runs, the one before, and the last command with its completed steps, its outcome and whether the engine
/// acknowledged the report.
/// </summary>
public sealed record ServiceJournal
{
    public required string Service { get; init; }

    public RunningRelease? Current { get; init; }

    public RunningRelease? Previous { get; init; }

    public JournalCommand? Command { get; init; }
}

public sealed record RunningRelease(string Artifact, string? Version, string Directory, string? ConfigHash);

public sealed record JournalCommand
{
    public required string Nonce { get; init; }

    public CommandKind Kind { get; init; }

    public required string Artifact { get; init; }

    public string? Version { get; init; }

    public string? Release { get; init; }

    public string? Rollout { get; init; }

    /// <summary>The DSSE envelope as JSON text, kept so a resumed command can still verify.</summary>
    public string? Provenance { get; init; }

    /// <summary>The release directory that ran when the command began: what a failure switches back to.</summary>
    public string? PriorDirectory { get; init; }

    public string? ReleaseDirectory { get; init; }

    public string? ComputedDigest { get; init; }

    public string? ConfigHash { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public IReadOnlyList<StepRecord> Steps { get; init; } = [];

    /// <summary>The finished command's report; set before the first send, so a crash re-sends the same one.</summary>
    public ReportRequest? Outcome { get; init; }

    public bool Reported { get; init; }

    public bool Completed(string step) => Steps.Any(s => s.Name == step && s.Succeeded);

    public static JournalCommand From(DesiredEntry entry, string? priorDirectory, DateTimeOffset now) => new()
    {
        Nonce = entry.Nonce!,
        Kind = entry.CommandKind,
        Artifact = entry.Artifact!,
        Version = entry.Version,
        Release = entry.Release,
        Rollout = entry.Rollout,
        Provenance = entry.Provenance is { ValueKind: not System.Text.Json.JsonValueKind.Null } p ? p.GetRawText() : null,
        PriorDirectory = priorDirectory,
        StartedAt = now,
    };
}
