namespace Deploy.Engine.Domain.Governance;

/// <summary>
/// What a change record says about the change it authorises: its state, the service and (optionally) the release it
/// is for, the window it is valid in, and who approved it. Null fields are what the record does not say.
/// </summary>
public sealed record ChangeRecordFacts(
    string Id,
    string State,
    string? Service,
    string? Release,
    DateTimeOffset? Start,
    DateTimeOffset? End,
    string? ApprovedBy);

public enum ChangeRecordVerdict
{
    /// <summary>Approved, for this service (and release), inside its window.</summary>
    Valid,

    /// <summary>Approved and bound right, but its window has not opened yet: wait until <see cref="ChangeRecordCheck.RecheckAt"/>.</summary>
    NotYetOpen,

    /// <summary>Not approved yet (or the provider could not say): may still become valid.</summary>
    Pending,

    /// <summary>Rejected, expired, bound to another service or release, unbound, or approved by the change's own author.</summary>
    Invalid,
}

/// <summary>Where a change record's window stands at an instant.</summary>
public enum ChangeWindowPhase
{
    /// <summary>The window opens later (now is before its start).</summary>
    Upcoming,

    /// <summary>Now is inside the window: from its start (or creation, without one) until its end.</summary>
    Open,

    /// <summary>The window has closed, or the record has none (no end): it authorises nothing any more.</summary>
    Closed,
}

public sealed record ChangeRecordCheck(ChangeRecordVerdict Verdict, string Reason, DateTimeOffset? RecheckAt = null);

/// <summary>
/// Whether a change record authorises one release of one service now. A record authorises only the service it names,
/// only the release it names (when it names one), only between its start and end, and only when whoever approved it
/// did not submit or deploy the release (four eyes).
/// Example: CHG-1 approved for service "shop", 09:00-17:00: release rel-9 of "shop" at 12:00 → valid; at 17:01 →
/// invalid ("expired at 17:00"); release rel-3 of "cart" → invalid ("is for service 'shop', not 'cart'").
/// </summary>
public static class ChangeRecordRules
{
    public static ChangeRecordCheck Check(ChangeRecordFacts record, string service, string releaseId, ChangeAuthors authors, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(authors);
        var id = record.Id;
        if (record.State == "rejected") return Invalid($"change record {id} is rejected");
        if (string.IsNullOrEmpty(record.Service)) return Invalid($"change record {id} names no service, so it authorises none (bind it to a service, a time window and optionally a release)");
        if (!string.Equals(record.Service, service, StringComparison.Ordinal)) return Invalid($"change record {id} is for service '{record.Service}', not '{service}'");
        if (record.Release is { Length: > 0 } release && !string.Equals(release, releaseId, StringComparison.Ordinal))
            return Invalid($"change record {id} is for release {release}, not {releaseId}");
        if (record.State != "approved") return new ChangeRecordCheck(ChangeRecordVerdict.Pending, $"change record {id} is {record.State}, not approved");
        if (record.End is not { } end) return Invalid($"change record {id} has no time window (an end), so it authorises nothing");
        if (now >= end) return Invalid($"change record {id} expired at {Instant(end)}");
        if (record.ApprovedBy is { } approver && authors.RoleOf(approver) is { } role)
            return Invalid($"change record {id} was approved by '{approver}', who {role} release {releaseId}: no self-approval (four eyes)");
        if (record.Start is { } start && now < start)
            return new ChangeRecordCheck(ChangeRecordVerdict.NotYetOpen, $"change record {id} is valid from {Instant(start)}", start);
        return new ChangeRecordCheck(ChangeRecordVerdict.Valid, $"change record {id} is approved for {service} until {Instant(end)}");
    }

    /// <summary>
    /// Where the window [start, end) stands at <paramref name="now"/>. Example: 09:00-17:00 at 08:59 → Upcoming, at 09:00
    /// → Open, at 17:00 → Closed; no start, end 17:00 at 12:00 → Open; no end → Closed.
    /// </summary>
    public static ChangeWindowPhase WindowPhase(DateTimeOffset? start, DateTimeOffset? end, DateTimeOffset now) =>
        end is not { } e || now >= e ? ChangeWindowPhase.Closed
        : start is { } s && now < s ? ChangeWindowPhase.Upcoming
        : ChangeWindowPhase.Open;

    private static ChangeRecordCheck Invalid(string reason) => new(ChangeRecordVerdict.Invalid, reason);

    private static string Instant(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
