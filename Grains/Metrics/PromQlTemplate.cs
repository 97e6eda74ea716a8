using System.Text;
using System.Text.RegularExpressions;

namespace Deploy.Engine.Grains.Metrics;

/// <summary>
/// Fills <c>{{name}}</c> placeholders (Argo Rollouts / Flagger style; spaces inside the braces allowed) in a PromQL
/// template. Guarantees: every value matches <c>^[A-Za-z0-9._:-]{1,128}$</c>, so it cannot close a string literal,
/// start a new selector or comment anything out, and needs no escaping inside <c>"..."</c>; a placeholder with no
/// variable, or a stray <c>{{</c> / <c>}}</c>, is an error rather than being sent as written.
/// <code>
/// latency_ms{version="{{version}}"}  with version = 2.0.0         → latency_ms{version="2.0.0"}
/// latency_ms{version="{{version}}"}  with version = 1"} or up{a="  → error (value refused)
/// latency_ms{env="{{ environment }}"} with no environment          → error (unknown placeholder)
/// </code>
/// </summary>
public static partial class PromQlTemplate
{
    /// <summary>Returns the query, or null with <paramref name="error"/> set.</summary>
    public static string? Render(string template, IReadOnlyDictionary<string, string> variables, out string? error)
    {
        error = null;
        foreach (var (name, value) in variables)
        {
            if (!SafeValue().IsMatch(value ?? ""))
            {
                error = $"variable '{Clip(name)}' has a value PromQL could misread (allowed: letters, digits, '.', '_', '-', ':'; 1 to 128 characters)";
                return null;
            }
        }

        var output = new StringBuilder(template.Length);
        var at = 0;
        foreach (Match match in Placeholder().Matches(template))
        {
            var name = match.Groups[1].Value;
            if (!variables.TryGetValue(name, out var value))
            {
                error = $"query uses {{{{{Clip(name)}}}}}, which has no value";
                return null;
            }

            output.Append(template, at, match.Index - at).Append(value);
            at = match.Index + match.Length;
        }

        output.Append(template, at, template.Length - at);
        var rendered = output.ToString();

        // The template is checked, not the output: values cannot hold braces, so any left are the template's own.
        var rest = Placeholder().Replace(template, "");
        if (rest.Contains("{{", StringComparison.Ordinal) || rest.Contains("}}", StringComparison.Ordinal))
        {
            error = "query has a malformed {{placeholder}}";
            return null;
        }

        return rendered;
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^[A-Za-z0-9._:\-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeValue();
}
