using System.Globalization;
using Cronos;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Governance;

/// <summary>
/// Deployment windows and freezes. The rule, in order:
/// <list type="number">
/// <item>a freeze that applies to the service and covers <c>now</c> blocks, unless an executive exception covers
/// this release, this freeze and <c>now</c>;</item>
/// <item>if any deployment window applies to the service, deploying is allowed only inside one of them;</item>
/// <item>otherwise the calendar is open.</item>
/// </list>
/// Recurring entries start at the cron's local times in their time zone (Cronos: a start that falls in a
/// spring-forward gap moves to the first instant after the gap; a start in a fall-back overlap happens once, at
/// its first, daylight-time instant) and last <see cref="CalendarEntry.Duration"/> of elapsed time. Worked
/// examples (from the table tests): window <c>30 1 * * *</c> for 1 h in Europe/London is open 01:30–02:30 UTC in
/// winter and 00:30–01:30 UTC in summer; on the spring-forward day (29 March 2026) 01:30 local does not exist, so
/// it opens at 02:00 BST (01:00 UTC) and closes at 02:00 UTC; on the fall-back day (25 October 2026) it opens
/// at the first 01:30 (BST, 00:30 UTC) only.
/// </summary>
public static class CalendarRules
{
    /// <summary>How far ahead the next opening is searched.</summary>
    public static readonly TimeSpan SearchHorizon = TimeSpan.FromDays(400);

    public static readonly TimeSpan MaxRecurringDuration = TimeSpan.FromDays(31);

    public static readonly TimeSpan MaxOneOffLength = TimeSpan.FromDays(366);

    public const int MaxEntries = 100;

    private const int MaxSteps = 5000;

    /// <summary>Is deploying <paramref name="service"/> (release <paramref name="release"/>) allowed at <paramref name="now"/>?</summary>
    public static CalendarVerdict Evaluate(
        DeploymentCalendar calendar, string service, string? release, DateTimeOffset now, IReadOnlyList<FreezeException>? exceptions = null)
    {
        exceptions ??= [];
        var freezes = BlockingFreezes(calendar, service, release, now, exceptions);
        if (freezes.Count > 0)
        {
            var until = freezes.Max(f => f.End);
            var first = freezes[0];
            var next = NextOpening(calendar, service, release, now, exceptions);
            var names = string.Join(", ", freezes.Select(f => $"'{f.Name}'"));
            var reason = $"freeze {names} until {Utc(until)}"
                + (next is { } n && n != until ? $"; next opening {Utc(n)}" : string.Empty)
                + (next is null ? "; no opening within the next 400 days" : string.Empty)
                + "; an executive exception for this release can let it through";
            return new CalendarVerdict(CalendarState.Frozen, reason, next, first.Name);
        }

        var windows = calendar.Entries.Where(e => e.Kind == CalendarEntryKind.Window && e.AppliesTo(service)).ToList();
        if (windows.Count == 0)
        {
            return new CalendarVerdict(CalendarState.Open, "no deployment window or freeze applies");
        }

        var inside = windows.Select(w => (Entry: w, Occurrence: Covering(w, now))).FirstOrDefault(x => x.Occurrence is not null);
        if (inside.Occurrence is { } open)
        {
            return new CalendarVerdict(CalendarState.Open,
                $"inside deployment window '{open.Name}' until {Local(open.End, inside.Entry.TimeZone)}", Entry: open.Name);
        }

        var opening = NextOpening(calendar, service, release, now, exceptions);
        var described = string.Join(", ", windows.Select(w => $"'{w.Name}' ({w.TimeZone})"));
        var zone = windows[0].TimeZone;
        var why = (windows.Count == 1 ? "outside deployment window " : "outside every deployment window: ") + described
            + (opening is { } o ? $"; next opening {Local(o, zone)}" : "; no opening within the next 400 days");
        return new CalendarVerdict(CalendarState.OutsideWindow, why, opening, windows[0].Name);
    }

    /// <summary>
    /// The first instant at or after <paramref name="from"/> when the calendar is open for the service (no
    /// unexcepted freeze covers it and, if windows apply, one of them does); null if none within <see cref="SearchHorizon"/>.
    /// </summary>
    public static DateTimeOffset? NextOpening(
        DeploymentCalendar calendar, string service, string? release, DateTimeOffset from, IReadOnlyList<FreezeException>? exceptions = null)
    {
        exceptions ??= [];
        var windows = calendar.Entries.Where(e => e.Kind == CalendarEntryKind.Window && e.AppliesTo(service)).ToList();
        var t = from;
        for (var step = 0; step < MaxSteps && t <= from + SearchHorizon; step++)
        {
            var freezes = BlockingFreezes(calendar, service, release, t, exceptions);
            if (freezes.Count > 0)
            {
                // Why: nothing can open before the last covering freeze ends; look again from there.
                t = freezes.Max(f => f.End);
                continue;
            }

            if (windows.Count == 0 || windows.Any(w => Covering(w, t) is not null))
            {
                return t;
            }

            var starts = windows.Select(w => NextStart(w, t)).Where(s => s is not null).Select(s => s!.Value).ToList();
            if (starts.Count == 0)
            {
                return null;
            }

            t = starts.Min();
        }

        return null;
    }

    /// <summary>Occurrences of every entry (for <paramref name="service"/>, or all when null) that overlap [from, from + horizon), by start.</summary>
    public static IReadOnlyList<CalendarOccurrence> Upcoming(DeploymentCalendar calendar, string? service, DateTimeOffset from, TimeSpan horizon, int limit = 500)
    {
        var to = from + horizon;
        var found = new List<CalendarOccurrence>();
        foreach (var entry in calendar.Entries.Where(e => service is null || e.AppliesTo(service)))
        {
            if (!entry.IsRecurring)
            {
                if (entry.End > from && entry.Start < to)
                {
                    found.Add(new CalendarOccurrence(entry.Name, entry.Kind, entry.Service, entry.Start!.Value, entry.End!.Value));
                }

                continue;
            }

            if (Covering(entry, from) is { } current)
            {
                found.Add(current);
            }

            var (cron, zone) = Parse(entry);
            foreach (var start in cron.GetOccurrences(from, to, zone, fromInclusive: false, toInclusive: false).Take(limit))
            {
                found.Add(new CalendarOccurrence(entry.Name, entry.Kind, entry.Service, start, start + entry.Duration));
            }
        }

        return found.OrderBy(o => o.Start).ThenBy(o => o.Name, StringComparer.Ordinal).Take(limit).ToList();
    }

    /// <summary>The occurrence of <paramref name="entry"/> that covers <paramref name="at"/> (the earliest-starting one), or null.</summary>
    public static CalendarOccurrence? Covering(CalendarEntry entry, DateTimeOffset at)
    {
        if (!entry.IsRecurring)
        {
            return entry.Start <= at && at < entry.End
                ? new CalendarOccurrence(entry.Name, entry.Kind, entry.Service, entry.Start.Value, entry.End.Value)
                : null;
        }

        var (cron, zone) = Parse(entry);
        // An occurrence covers `at` when start <= at < start + duration, i.e. start is in (at - duration, at].
        var start = cron.GetNextOccurrence(at - entry.Duration, zone, inclusive: false);
        return start is { } s && s <= at
            ? new CalendarOccurrence(entry.Name, entry.Kind, entry.Service, s, s + entry.Duration)
            : null;
    }

    /// <summary>Checks a calendar as a caller sent it; field names are JSON paths (<c>entries[2].cron</c>).</summary>
    public static void Validate(DeploymentCalendar calendar, ValidationErrors errors, string prefix = "")
    {
        if (calendar.Entries.Count > MaxEntries)
        {
            errors.Add(prefix + "entries", $"at most {MaxEntries} windows and freezes");
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < calendar.Entries.Count; i++)
        {
            var entry = calendar.Entries[i];
            var at = $"{prefix}entries[{i}].";
            if (!Names.IsDnsLabel(entry.Name)) errors.Add(at + "name", "must be a lower-case DNS label (a-z, 0-9, '-'; 1-63 characters)");
            else if (!names.Add(entry.Name)) errors.Add(at + "name", $"'{entry.Name}' is declared twice; names must be unique (exceptions name freezes)");
            if (entry.Service is not null && !Names.IsDnsLabel(entry.Service)) errors.Add(at + "service", "must be a lower-case DNS label");
            if (entry.Description is { Length: > 512 }) errors.Add(at + "description", "must be at most 512 characters");

            if (entry.IsRecurring)
            {
                if (entry.Start is not null || entry.End is not null)
                    errors.Add(at + "cron", "a recurring entry has a cron and a duration, not start/end");
                if (entry.Cron!.Length > 200 || !TryParseCron(entry.Cron, out _))
                    errors.Add(at + "cron", "must be a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. \"0 9 * * 1-5\"");
                if (entry.Duration <= TimeSpan.Zero || entry.Duration > MaxRecurringDuration)
                    errors.Add(at + "duration", "must be more than 0 and at most 31 days (e.g. \"08:00:00\" or \"2.00:00:00\")");
                if (!TryZone(entry.TimeZone, out _))
                    errors.Add(at + "timeZone", "must be an IANA time zone id such as \"Europe/London\" or \"UTC\"");
            }
            else if (entry.Start is not { } start || entry.End is not { } end)
            {
                errors.Add(at + "start", "give either cron + duration (recurring) or start + end (one-off, with offsets)");
            }
            else if (end <= start || end - start > MaxOneOffLength)
            {
                errors.Add(at + "end", "must be after start and at most 366 days after it");
            }
        }
    }

    /// <summary>An instant in UTC, minutes precision: <c>2026-11-30T00:00Z</c>.</summary>
    public static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);

    /// <summary>An instant in a zone's local time with its offset: <c>2026-11-30T09:00+00:00</c>.</summary>
    public static string Local(DateTimeOffset at, string timeZone) =>
        TryZone(timeZone, out var zone)
            ? TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd'T'HH:mmzzz", CultureInfo.InvariantCulture)
            : Utc(at);

    private static List<CalendarOccurrence> BlockingFreezes(
        DeploymentCalendar calendar, string service, string? release, DateTimeOffset at, IReadOnlyList<FreezeException> exceptions)
    {
        var blocking = new List<CalendarOccurrence>();
        foreach (var freeze in calendar.Entries.Where(e => e.Kind == CalendarEntryKind.Freeze && e.AppliesTo(service)))
        {
            if (Covering(freeze, at) is { } occurrence && !exceptions.Any(x => x.Covers(release, freeze.Name, at)))
            {
                blocking.Add(occurrence);
            }
        }

        return blocking;
    }

    private static DateTimeOffset? NextStart(CalendarEntry entry, DateTimeOffset from)
    {
        if (!entry.IsRecurring)
        {
            return entry.Start >= from ? entry.Start : null;
        }

        var (cron, zone) = Parse(entry);
        return cron.GetNextOccurrence(from, zone, inclusive: true);
    }

    private static (CronExpression Cron, TimeZoneInfo Zone) Parse(CalendarEntry entry)
    {
        if (!TryParseCron(entry.Cron, out var cron) || !TryZone(entry.TimeZone, out var zone))
        {
            throw new ArgumentException($"calendar entry '{entry.Name}' is invalid (validate calendars before storing them)", nameof(entry));
        }

        return (cron, zone);
    }

    private static bool TryParseCron(string? expression, out CronExpression cron)
    {
        cron = null!;
        if (expression is null || !CronExpression.TryParse(expression, CronFormat.Standard, out var parsed)) return false;
        cron = parsed!;
        return true;
    }

    public static bool TryZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) return false;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (TimeZoneNotFoundException)
        {
            return false;
        }
        catch (InvalidTimeZoneException)
        {
            return false;
        }
    }
}
