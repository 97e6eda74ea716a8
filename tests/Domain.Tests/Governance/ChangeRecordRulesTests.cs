using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

public class ChangeRecordRulesTests
{
    private static readonly DateTimeOffset Nine = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Five = Nine.AddHours(8);
    private static readonly ChangeAuthors Authors = new("ci", ["dana"]);

    private static ChangeRecordFacts Record(string state = "approved", string? service = "shop", string? release = null, bool window = true, string? approvedBy = "carol") =>
        new("CHG-1", state, service, release, window ? Nine : null, window ? Five : null, approvedBy);

    public static TheoryData<ChangeRecordFacts, int, ChangeRecordVerdict, string> Cases => new()
    {
        { Record(), 3, ChangeRecordVerdict.Valid, "change record CHG-1 is approved for shop until 2026-12-01 17:00:00Z" },
        { Record(release: "rel-9"), 3, ChangeRecordVerdict.Valid, "change record CHG-1 is approved for shop until 2026-12-01 17:00:00Z" },
        { Record(), -1, ChangeRecordVerdict.NotYetOpen, "change record CHG-1 is valid from 2026-12-01 09:00:00Z" },
        { Record(), 8, ChangeRecordVerdict.Invalid, "change record CHG-1 expired at 2026-12-01 17:00:00Z" },
        { Record(), 9, ChangeRecordVerdict.Invalid, "change record CHG-1 expired at 2026-12-01 17:00:00Z" },
        { Record(state: "rejected"), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 is rejected" },
        { Record(state: "pending"), 3, ChangeRecordVerdict.Pending, "change record CHG-1 is pending, not approved" },
        { Record(service: "cart"), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 is for service 'cart', not 'shop'" },
        { Record(service: null), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 names no service, so it authorises none (bind it to a service, a time window and optionally a release)" },
        { Record(release: "rel-1"), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 is for release rel-1, not rel-9" },
        { Record(window: false), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 has no time window (an end), so it authorises nothing" },
        { Record(approvedBy: "dana"), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 was approved by 'dana', who deployed release rel-9: no self-approval (four eyes)" },
        { Record(approvedBy: "ci"), 3, ChangeRecordVerdict.Invalid, "change record CHG-1 was approved by 'ci', who submitted release rel-9: no self-approval (four eyes)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_record_authorises_its_service_and_release_inside_its_window_only(ChangeRecordFacts record, int hoursAfterNine, ChangeRecordVerdict verdict, string reason)
    {
        var check = ChangeRecordRules.Check(record, "shop", "rel-9", Authors, Nine.AddHours(hoursAfterNine));
        Assert.Equal((verdict, reason), (check.Verdict, check.Reason));
        Assert.Equal(verdict == ChangeRecordVerdict.NotYetOpen ? Nine : null, check.RecheckAt);
    }

    /// <summary>The worked example of <see cref="ChangeRecordRules.WindowPhase"/>: 09:00-17:00, minutes after nine.</summary>
    [Theory]
    [InlineData(true, true, -1, ChangeWindowPhase.Upcoming)]
    [InlineData(true, true, 0, ChangeWindowPhase.Open)]
    [InlineData(true, true, 479, ChangeWindowPhase.Open)]
    [InlineData(true, true, 480, ChangeWindowPhase.Closed)]
    [InlineData(false, true, -60, ChangeWindowPhase.Open)]
    [InlineData(true, false, 60, ChangeWindowPhase.Closed)]
    public void A_window_is_upcoming_open_or_closed(bool hasStart, bool hasEnd, int minutesAfterNine, ChangeWindowPhase phase) =>
        Assert.Equal(phase, ChangeRecordRules.WindowPhase(hasStart ? Nine : null, hasEnd ? Five : null, Nine.AddMinutes(minutesAfterNine)));
}
