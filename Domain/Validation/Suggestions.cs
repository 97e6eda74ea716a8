using Quickenshtein;

namespace Deploy.Engine.Domain.Validation;

/// <summary>
/// "Did you mean" for a field or value the engine does not know: the closest declared name by Levenshtein distance,
/// compared case-insensitively, when it is close enough to be a typo rather than a different word.
/// Close enough: distance at most 1 for names of up to 4 characters, 2 up to 8, else 3 — so <c>rollbakTriggers</c>
/// suggests <c>rollbackTriggers</c> (distance 1) and <c>confLevel</c> suggests nothing among unrelated names.
/// Ties go to the name declared first.
/// </summary>
public static class Suggestions
{
    public static string? Closest(string unknown, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(unknown);
        ArgumentNullException.ThrowIfNull(known);
        var lower = unknown.ToLowerInvariant();
        var limit = unknown.Length <= 4 ? 1 : unknown.Length <= 8 ? 2 : 3;
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var name in known)
        {
            var distance = Levenshtein.GetDistance(lower, name.ToLowerInvariant());
            if (distance <= limit && distance < bestDistance)
            {
                best = name;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>" Did you mean 'x'?" or the empty string, ready to append to a message.</summary>
    public static string DidYouMean(string unknown, IEnumerable<string> known) =>
        Closest(unknown, known) is { } match ? $" Did you mean '{match}'?" : string.Empty;
}
