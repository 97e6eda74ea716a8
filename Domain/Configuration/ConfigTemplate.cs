using System.Text;

namespace Deploy.Engine.Domain.Configuration;

/// <summary>
/// Configuration templates with one construct and no logic: <c>{{ name }}</c> (spaces optional) is replaced by the
/// environment's parameter <c>name</c>. Names: a letter or '_' then up to 127 letters, digits, '_', '.', '-'.
/// Any other <c>{{</c> is an error (no escapes, filters, conditions or loops), so a typo never renders as text.
/// A lone <c>}}</c> is text (JSON closes nested objects with it). Values are inserted as they are, not escaped.
/// Examples: <c>"url": "{{ db_url }}"</c> names db_url; <c>{{db_url}}</c> too; <c>{{ db url }}</c> and <c>{{ }}</c> are errors.
/// </summary>
public static class ConfigTemplate
{
    public const int MaxNameLength = 128;

    /// <summary>The parameter names the template uses, in order of first use; or the first syntax error (with its line).</summary>
    public static (IReadOnlyList<string> Names, string? Error) Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var names = new List<string>();
        var error = Walk(template, (name, _) =>
        {
            if (!names.Contains(name, StringComparer.Ordinal))
            {
                names.Add(name);
            }
        }, null);
        return (names, error);
    }

    /// <summary>
    /// The rendered text, or the first name the values lack (<c>Missing</c>) or the syntax error.
    /// </summary>
    public static (string? Text, string? Missing, string? Error) Render(string template, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(values);
        var output = new StringBuilder(template.Length);
        string? missing = null;
        var error = Walk(template, (name, _) =>
        {
            if (values.TryGetValue(name, out var value))
            {
                output.Append(value);
            }
            else
            {
                missing ??= name;
            }
        }, text => output.Append(text));
        return error is not null ? (null, null, error)
            : missing is not null ? (null, missing, null)
            : (output.ToString(), null, null);
    }

    /// <summary>Calls <paramref name="placeholder"/> for each placeholder and <paramref name="text"/> for the text between; returns the first error.</summary>
    private static string? Walk(string template, Action<string, int> placeholder, Action<string>? text)
    {
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                text?.Invoke(template[at..]);
                return null;
            }

            text?.Invoke(template[at..open]);
            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            var line = 1 + template.AsSpan(0, open).Count('\n');
            if (close < 0)
            {
                return $"line {line}: '{{{{' is not closed by '}}}}'";
            }

            var name = template[(open + 2)..close].Trim(' ');
            if (!IsName(name))
            {
                return $"line {line}: '{{{{' must open a placeholder '{{{{ name }}}}' with a name of letters, digits, '_', '.', '-' (starting with a letter or '_', at most {MaxNameLength} characters)";
            }

            placeholder(name, line);
            at = close + 2;
        }

        return null;
    }

    public static bool IsName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength }
        && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}
