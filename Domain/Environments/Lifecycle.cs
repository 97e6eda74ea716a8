using System.Globalization;
using System.Text.RegularExpressions;

namespace Deploy.Engine.Domain.Environments;

/// <summary>Ephemeral environments: when they expire, and how many hosts they may hold.</summary>
public static partial class Lifecycle
{
    /// <summary>Expired once <paramref name="now"/> reaches created + ttl (an environment with a ttl of 1h created at 10:00 expires at 11:00 sharp).</summary>
    public static bool IsExpired(DateTimeOffset createdAt, TimeSpan ttl, DateTimeOffset now) => now >= createdAt + ttl;

    /// <summary>Why registering <paramref name="adding"/> new hosts would break the quota, or null when it fits.</summary>
    /// <example>quota 3, 2 hosts, adding 2 → "environment 'pr-42' has a host quota of 3: it has 2 hosts, registering 2 more would make 4".</example>
    public static string? QuotaRefusal(string environment, int? quota, int current, int adding)
    {
        if (quota is not { } q || adding == 0 || current + adding <= q)
        {
            return null;
        }

        return $"environment '{environment}' has a host quota of {q}: it has {current} hosts, registering {adding} more would make {current + adding}";
    }

    /// <summary>
    /// A duration written as a number and a unit, <c>90s</c>, <c>30m</c>, <c>12h</c>, <c>7d</c>, or as a .NET TimeSpan
    /// (<c>01:30:00</c>); positive and at most 365 days.
    /// </summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 32)
        {
            return false;
        }

        var match = Unit().Match(text);
        if (match.Success && long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 365L * 86_400)
        {
            duration = match.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }
        else if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration))
        {
            return false;
        }

        return duration > TimeSpan.Zero && duration <= TimeSpan.FromDays(365);
    }

    [GeneratedRegex("^([0-9]{1,12})(s|m|h|d)$", RegexOptions.CultureInvariant)]
    private static partial Regex Unit();
}
