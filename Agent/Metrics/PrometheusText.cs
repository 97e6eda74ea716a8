using System.Globalization;
using System.Text;

namespace Deploy.Engine.Agent.Metrics;

/// <summary>One sample line of the Prometheus text format: <c>name{label="value",…} value [timestamp]</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A small, forgiving parser of the Prometheus text exposition format (0.0.4): comments and blank lines are
/// skipped, label values unescape <c>\\</c>, <c>\"</c> and <c>\n</c>, values accept <c>+Inf</c>, <c>-Inf</c> and
/// <c>NaN</c>, a trailing timestamp is ignored, and a line that does not parse is skipped rather than failing
/// the whole scrape.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (TryParseLine(line) is { } sample) samples.Add(sample);
        }

        return samples;
    }

    public static PrometheusSample? TryParseLine(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':')) i++;
        if (i == 0) return null;
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        while (i < line.Length && line[i] == ' ') i++;
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && line[i] is ' ' or ',') i++;
                if (i >= line.Length) return null;
                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var start = i;
                while (i < line.Length && line[i] != '=' && line[i] != ' ') i++;
                var key = line[start..i];
                while (i < line.Length && line[i] == ' ') i++;
                if (i >= line.Length || line[i] != '=') return null;
                i++;
                while (i < line.Length && line[i] == ' ') i++;
                if (i >= line.Length || line[i] != '"') return null;
                i++;
                var value = new StringBuilder();
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else value.Append(line[i]);

                    i++;
                }

                if (i >= line.Length) return null;
                i++; // closing quote
                labels[key] = value.ToString();
            }
        }

        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0 || ParseValue(rest[0]) is not { } v) return null;
        return new PrometheusSample(name, labels, v);
    }

    public static double? ParseValue(string s) => s switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null,
    };
}
