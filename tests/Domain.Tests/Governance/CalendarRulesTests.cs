using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Tests.Governance;

public class CalendarRulesTests
{
    private static DateTimeOffset T(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    private static DeploymentCalendar Window(string cron, string duration, string zone) => new()
    {
        Entries = [new CalendarEntry { Name = "w", Kind = CalendarEntryKind.Window, Cron = cron, Duration = TimeSpan.Parse(duration, System.Globalization.CultureInfo.InvariantCulture), TimeZone = zone }],
    };

    /// <summary>
    /// A one-hour window at 01:30 local in Europe/London, across both daylight-saving transitions of 2026
    /// (29 March: 01:00 GMT → 02:00 BST; 25 October: 02:00 BST → 01:00 GMT), and a New York business-hours window
    /// across 8 March 2026 (02:00 EST → 03:00 EDT).
    /// </summary>
    [Theory]
    // Winter (GMT = UTC): 01:30–02:30 UTC.
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-01-15T01:29:59Z", false)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-01-15T01:30:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-01-15T02:29:59Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-01-15T02:30:00Z", false)]
    // Summer (BST = UTC+1): 00:30–01:30 UTC.
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-06-15T00:30:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-06-15T01:30:00Z", false)]
    // Spring forward: 01:30 local does not exist; the window opens at the end of the gap (02:00 BST = 01:00 UTC) for one hour.
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-03-29T00:59:00Z", false)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-03-29T01:00:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-03-29T01:59:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-03-29T02:00:00Z", false)]
    // Fall back: 01:30 local happens twice (00:30 UTC in BST, 01:30 UTC in GMT); the window opens once, at the first.
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-10-25T00:29:00Z", false)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-10-25T00:30:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-10-25T01:29:00Z", true)]
    [InlineData("30 1 * * *", "01:00:00", "Europe/London", "2026-10-25T01:45:00Z", false)]
    // New York weekdays 09:00 for 8 h: 14:00–22:00 UTC in EST, 13:00–21:00 UTC in EDT.
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-06T13:59:00Z", false)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-06T14:00:00Z", true)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-06T21:59:00Z", true)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-08T15:00:00Z", false)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-09T12:59:00Z", false)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-09T13:00:00Z", true)]
    [InlineData("0 9 * * 1-5", "08:00:00", "America/New_York", "2026-03-09T21:00:00Z", false)]
    public void Recurring_windows_follow_local_time_across_daylight_saving(string cron, string duration, string zone, string at, bool open)
    {
        var verdict = CalendarRules.Evaluate(Window(cron, duration, zone), "shop", "r1", T(at));

        Assert.Equal(open, verdict.IsOpen);
        Assert.Equal(open ? CalendarState.Open : CalendarState.OutsideWindow, verdict.State);
    }

    /// <summary>The next opening is the next local start, with the zone's offset of that day.</summary>
    [Theory]
    [InlineData("0 9 * * 1-5", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-09T13:00:00Z", "next opening 2026-03-09T09:00-04:00")]
    [InlineData("0 9 * * 1-5", "America/New_York", "2026-03-05T23:00:00Z", "2026-03-06T14:00:00Z", "next opening 2026-03-06T09:00-05:00")]
    [InlineData("30 1 * * *", "Europe/London", "2026-03-28T03:00:00Z", "2026-03-29T01:00:00Z", "next opening 2026-03-29T02:00+01:00")]
    [InlineData("30 1 * * *", "Europe/London", "2026-10-25T01:45:00Z", "2026-10-26T01:30:00Z", "next opening 2026-10-26T01:30+00:00")]
    public void Outside_a_window_the_reason_names_the_window_and_the_next_opening(string cron, string zone, string at, string next, string inReason)
    {
        var verdict = CalendarRules.Evaluate(Window(cron, "01:00:00", zone), "shop", null, T(at));

        Assert.Equal(CalendarState.OutsideWindow, verdict.State);
        Assert.Equal(T(next), verdict.NextOpening);
        Assert.Contains($"outside deployment window 'w' ({zone})", verdict.Reason);
        Assert.Contains(inReason, verdict.Reason);
    }

    private static readonly DeploymentCalendar Retail = new()
    {
        Entries =
        [
            new CalendarEntry { Name = "weekday-business-hours", Kind = CalendarEntryKind.Window, Cron = "0 9 * * 1-5", Duration = TimeSpan.FromHours(8), TimeZone = "Europe/London" },
            new CalendarEntry { Name = "black-friday", Kind = CalendarEntryKind.Freeze, Start = T("2026-11-26T00:00:00Z"), End = T("2026-11-30T00:00:00Z") },
            // Friday 16:00 New York for 65 hours of elapsed time: across the spring-forward weekend it ends at 10:00 EDT, not 09:00.
            new CalendarEntry { Name = "weekend", Kind = CalendarEntryKind.Freeze, Cron = "0 16 * * 5", Duration = TimeSpan.FromHours(65), TimeZone = "America/New_York", Service = "payments" },
        ],
    };

    [Theory]
    [InlineData("shop", "2026-11-25T10:00:00Z", CalendarState.Open, null, "inside deployment window 'weekday-business-hours'")]
    [InlineData("shop", "2026-11-27T12:00:00Z", CalendarState.Frozen, "2026-11-30T09:00:00Z", "freeze 'black-friday' until 2026-11-30T00:00Z; next opening 2026-11-30T09:00Z")]
    [InlineData("shop", "2026-11-30T08:00:00Z", CalendarState.OutsideWindow, "2026-11-30T09:00:00Z", "outside deployment window 'weekday-business-hours' (Europe/London); next opening 2026-11-30T09:00+00:00")]
    [InlineData("shop", "2026-11-30T09:00:00Z", CalendarState.Open, null, "until 2026-11-30T17:00+00:00")]
    // The weekend freeze applies to payments only.
    [InlineData("shop", "2026-03-09T13:30:00Z", CalendarState.Open, null, "inside")]
    [InlineData("payments", "2026-03-09T13:30:00Z", CalendarState.Frozen, "2026-03-09T14:00:00Z", "freeze 'weekend' until 2026-03-09T14:00Z")]
    [InlineData("payments", "2026-03-09T14:00:00Z", CalendarState.Open, null, "inside")]
    public void Freezes_block_and_windows_bound_deploying(string service, string at, CalendarState state, string? next, string inReason)
    {
        var verdict = CalendarRules.Evaluate(Retail, service, "r1", T(at));

        Assert.Equal(state, verdict.State);
        Assert.Equal(next is null ? null : T(next), verdict.NextOpening);
        Assert.Contains(inReason, verdict.Reason);
    }

    [Theory]
    [InlineData("r1", "black-friday", "2026-11-27T12:00:00Z", CalendarState.Open)]
    [InlineData("r2", "black-friday", "2026-11-27T12:00:00Z", CalendarState.Frozen)] // another release
    [InlineData("r1", "weekend", "2026-11-27T12:00:00Z", CalendarState.Frozen)] // another freeze
    [InlineData("r1", "black-friday", "2026-11-28T00:00:00Z", CalendarState.Frozen)] // the exception has ended (until is exclusive)
    [InlineData("r1", "black-friday", "2026-11-26T23:59:00Z", CalendarState.Frozen)] // not started yet
    public void An_exception_lets_one_release_through_one_freeze_for_its_time_box(string release, string freeze, string at, CalendarState state)
    {
        var exception = new FreezeException
        {
            Release = "r1",
            Freeze = freeze,
            From = T("2026-11-27T00:00:00Z"),
            Until = T("2026-11-28T00:00:00Z"),
            GrantedBy = "cto",
            Reason = "fix for the checkout outage",
        };
        // Friday 27 November 12:00 UTC is inside the London window, so only the freeze can block.
        var verdict = CalendarRules.Evaluate(Retail, "shop", release, T(at), [exception]);

        Assert.Equal(state, verdict.State);
    }

    [Fact]
    public void Upcoming_lists_the_occurrences_in_the_horizon_by_start()
    {
        var upcoming = CalendarRules.Upcoming(Retail, null, T("2026-11-26T12:00:00Z"), TimeSpan.FromDays(4));

        Assert.Equal(
            [
                ("black-friday", "2026-11-26T00:00Z"),
                ("weekday-business-hours", "2026-11-26T09:00Z"),
                ("weekday-business-hours", "2026-11-27T09:00Z"),
                ("weekend", "2026-11-27T21:00Z"),
                ("weekday-business-hours", "2026-11-30T09:00Z"),
            ],
            upcoming.Select(o => (o.Name, CalendarRules.Utc(o.Start))).ToList());
        Assert.Equal(T("2026-11-30T14:00:00Z"), upcoming[3].End);
    }

    [Fact]
    public void A_calendar_without_entries_is_open()
    {
        var verdict = CalendarRules.Evaluate(DeploymentCalendar.Empty, "shop", null, T("2026-01-01T00:00:00Z"));

        Assert.True(verdict.IsOpen);
        Assert.Equal("no deployment window or freeze applies", verdict.Reason);
    }

    [Theory]
    [InlineData("bad name", "0 9 * * *", "01:00:00", "UTC", "entries[0].name")]
    [InlineData("w", "0 9 * *", "01:00:00", "UTC", "entries[0].cron")]
    [InlineData("w", "0 0 9 * * *", "01:00:00", "UTC", "entries[0].cron")] // seconds are not part of the format
    [InlineData("w", "0 9 * * *", "00:00:00", "UTC", "entries[0].duration")]
    [InlineData("w", "0 9 * * *", "40.00:00:00", "UTC", "entries[0].duration")]
    [InlineData("w", "0 9 * * *", "01:00:00", "Mars/Olympus", "entries[0].timeZone")]
    public void Invalid_recurring_entries_name_the_field(string name, string cron, string duration, string zone, string field)
    {
        var errors = new ValidationErrors();
        CalendarRules.Validate(new DeploymentCalendar
        {
            Entries = [new CalendarEntry { Name = name, Kind = CalendarEntryKind.Window, Cron = cron, Duration = TimeSpan.Parse(duration, System.Globalization.CultureInfo.InvariantCulture), TimeZone = zone }],
        }, errors);

        Assert.Equal([field], errors.ToDictionary().Keys);
    }

    [Fact]
    public void One_off_entries_need_an_end_after_the_start_and_unique_names()
    {
        var errors = new ValidationErrors();
        CalendarRules.Validate(new DeploymentCalendar
        {
            Entries =
            [
                new CalendarEntry { Name = "a", Kind = CalendarEntryKind.Freeze, Start = T("2026-01-02T00:00:00Z"), End = T("2026-01-01T00:00:00Z") },
                new CalendarEntry { Name = "a", Kind = CalendarEntryKind.Freeze, Start = T("2026-01-01T00:00:00Z"), End = T("2026-01-02T00:00:00Z") },
                new CalendarEntry { Name = "b", Kind = CalendarEntryKind.Freeze },
            ],
        }, errors);

        Assert.Equal(["entries[0].end", "entries[1].name", "entries[2].start"], errors.ToDictionary().Keys.Order().ToList());
    }
}
