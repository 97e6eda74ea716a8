namespace Deploy.Engine.Domain.Governance;

/// <summary>A deployment window (deploying is allowed inside it) or a freeze (deploying is blocked inside it).</summary>
public enum CalendarEntryKind
{
    Window = 0,
    Freeze = 1,
}

/// <summary>What a rollout outside every deployment window does: wait for the next opening, or be refused.</summary>
public enum OutsideWindowPolicy
{
    Wait = 0,
    Refuse = 1,
}

/// <summary>
/// One window or freeze of an environment's calendar. Recurring: <see cref="Cron"/> names the local start times in
/// <see cref="TimeZone"/> (an IANA id such as <c>Europe/London</c>) and each occurrence lasts <see cref="Duration"/>
/// of elapsed time. One-off: from <see cref="Start"/> (inclusive) to <see cref="End"/> (exclusive), e.g. a peak
/// trading period. <see cref="Service"/> narrows the entry to one service; null applies it to every service.
/// </summary>
public sealed record CalendarEntry
{
    public required string Name { get; init; }

    public required CalendarEntryKind Kind { get; init; }

    public string? Cron { get; init; }

    public TimeSpan Duration { get; init; }

    public string TimeZone { get; init; } = "UTC";

    public DateTimeOffset? Start { get; init; }

    public DateTimeOffset? End { get; init; }

    public string? Service { get; init; }

    public string? Description { get; init; }

    public bool IsRecurring => Cron is not null;

    public bool AppliesTo(string service) => Service is null || string.Equals(Service, service, StringComparison.Ordinal);
}

/// <summary>An environment's windows and freezes, and what happens outside every window.</summary>
public sealed record DeploymentCalendar
{
    public static readonly DeploymentCalendar Empty = new();

    public IReadOnlyList<CalendarEntry> Entries { get; init; } = [];

    public OutsideWindowPolicy OutsideWindow { get; init; } = OutsideWindowPolicy.Wait;
}

/// <summary>
/// An executive exception: release <see cref="Release"/> may deploy through freeze <see cref="Freeze"/> between
/// <see cref="From"/> (inclusive) and <see cref="Until"/> (exclusive). It covers that freeze only, never a window.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "An exception to a freeze, the calendar's term; not a System.Exception")]
public sealed record FreezeException
{
    public required string Release { get; init; }

    public required string Freeze { get; init; }

    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset Until { get; init; }

    public required string GrantedBy { get; init; }

    public required string Reason { get; init; }

    public DateTimeOffset GrantedAt { get; init; }

    public bool Covers(string? release, string freeze, DateTimeOffset at) =>
        release is not null
        && string.Equals(Release, release, StringComparison.Ordinal)
        && string.Equals(Freeze, freeze, StringComparison.Ordinal)
        && From <= at && at < Until;
}

/// <summary>One concrete occurrence of a window or freeze: [Start, End).</summary>
public sealed record CalendarOccurrence(string Name, CalendarEntryKind Kind, string? Service, DateTimeOffset Start, DateTimeOffset End);

public enum CalendarState
{
    Open = 0,
    Frozen = 1,
    OutsideWindow = 2,
}

/// <summary>
/// Whether a release of a service may deploy now, and if not why and when it may next: <see cref="NextOpening"/>
/// is null when no opening was found within the search horizon.
/// </summary>
public sealed record CalendarVerdict(CalendarState State, string Reason, DateTimeOffset? NextOpening = null, string? Entry = null)
{
    public bool IsOpen => State == CalendarState.Open;
}
