namespace Deploy.Engine.Domain.Webhooks;

/// <summary>What happens to the event at the head of a subscription's outbox after a failed delivery round.</summary>
public enum DeliveryOutcome
{
    /// <summary>Try again at <see cref="DeliveryVerdict.RetryAt"/>; the events behind it wait (order per subscription).</summary>
    Retry,

    /// <summary>Give up on it: it moves to the dead letters (re-drivable) and the next event goes.</summary>
    DeadLetter,
}

public sealed record DeliveryVerdict(DeliveryOutcome Outcome, DateTimeOffset RetryAt, string Reason);

/// <summary>
/// Backoff between delivery rounds of one event. A round is one pass through the HTTP retry pipeline (a few quick
/// attempts for a blip); when a whole round fails the event waits, doubling each time, up to a ceiling:
/// <c>delay(n) = min(baseDelay × 2^(n−1), maxDelay)</c> after the n-th failed round, and after <c>maxRounds</c> failed
/// rounds the event is dead-lettered.
/// Worked example (base 5 s, max 10 min, 8 rounds): waits of 5, 10, 20, 40, 80, 160, 320 s after rounds 1-7, so a
/// receiver that is down for about eleven minutes loses nothing; the 8th failed round dead-letters the event.
/// </summary>
public static class DeliverySchedule
{
    public static TimeSpan Delay(int failedRounds, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        if (failedRounds < 1) return TimeSpan.Zero;
        var exponent = Math.Min(failedRounds - 1, 30);
        var ticks = baseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= maxDelay.Ticks ? maxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>After round <paramref name="failedRounds"/> failed at <paramref name="now"/> with <paramref name="error"/>.</summary>
    public static DeliveryVerdict AfterFailure(int failedRounds, int maxRounds, TimeSpan baseDelay, TimeSpan maxDelay, DateTimeOffset now, string error)
    {
        if (failedRounds >= maxRounds)
        {
            return new DeliveryVerdict(DeliveryOutcome.DeadLetter, now,
                $"dead-lettered after {failedRounds} failed delivery round{(failedRounds == 1 ? "" : "s")}; last: {error}");
        }

        var delay = Delay(failedRounds, baseDelay, maxDelay);
        return new DeliveryVerdict(DeliveryOutcome.Retry, now + delay,
            $"round {failedRounds} of {maxRounds} failed ({error}); next in {delay.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}s");
    }
}
