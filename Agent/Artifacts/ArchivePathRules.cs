namespace Deploy.Engine.Agent.Artifacts;

/// <summary>
/// The pure rules an archive's names and links must keep: everything stays inside the release directory.
/// Names are '/'-separated paths relative to the archive root.
/// </summary>
public static class ArchivePathRules
{
    /// <summary>
    /// The entry's path as segments, or the reason it is refused. "./bin/app" → ["bin","app"];
    /// "../x", "a/../../x", "/etc/passwd", "C:/x" and names with NUL are refused; "." and "" give no segments (the root).
    /// </summary>
    public static (string[]? Segments, string? Refusal) Normalize(string name)
    {
        if (name.Contains('\0', StringComparison.Ordinal)) return (null, $"entry '{Printable(name)}' has a NUL in its name");
        if (name.StartsWith('/') || (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0])))
            return (null, $"entry '{Printable(name)}' has an absolute path");
        var segments = new List<string>();
        foreach (var s in name.Split('/'))
        {
            if (s.Length == 0 || s == ".") continue;
            if (s == "..") return (null, $"entry '{Printable(name)}' climbs out of the release with '..'");
            segments.Add(s);
        }

        return (segments.ToArray(), null);
    }

    /// <summary>
    /// Where a symbolic link at <paramref name="linkSegments"/> with <paramref name="target"/> ends up, resolving
    /// the archive's other links on the way (<paramref name="links"/>: link path → target), or null when it leaves
    /// the root. Absolute targets always leave. Worked examples, with links {"lib" → "vendor/lib"}:
    /// "bin/tool" → "../lib/tool" gives "vendor/lib/tool"; "x" → "../etc" gives null;
    /// with {"p" → "."}, "x" → "p/.." gives null (p is the root, and its parent is outside).
    /// </summary>
    public static string? ResolveLink(IReadOnlyList<string> linkSegments, string target, IReadOnlyDictionary<string, string> links)
    {
        if (target.Length == 0 || target.StartsWith('/') || target.Contains('\0', StringComparison.Ordinal)) return null;
        var start = linkSegments.Take(linkSegments.Count - 1).ToList();
        var resolved = Walk(start, target, links, depth: 0);
        return resolved is null ? null : string.Join('/', resolved);
    }

    private static List<string>? Walk(List<string> from, string relative, IReadOnlyDictionary<string, string> links, int depth)
    {
        if (depth > 40) return null; // a loop of links: refuse rather than guess
        var stack = new List<string>(from);
        foreach (var s in relative.Split('/'))
        {
            if (s.Length == 0 || s == ".") continue;
            if (s == "..")
            {
                if (stack.Count == 0) return null;
                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            stack.Add(s);
            if (links.TryGetValue(string.Join('/', stack), out var inner))
            {
                if (inner.StartsWith('/')) return null;
                stack.RemoveAt(stack.Count - 1);
                var next = Walk(stack, inner, links, depth + 1);
                if (next is null) return null;
                stack = next;
            }
        }

        return stack;
    }

    private static string Printable(string name) => name.Replace('\0', '?');
}
