using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Deploy.Engine.Cli;

/// <summary>
/// Reads a strategy (the <c>strategy</c> object of <c>POST /v1/rollouts</c>) from a JSON or YAML file. YAML scalars keep
/// their type (numbers and booleans unquoted, strings quoted), so the engine sees the same JSON either way.
/// </summary>
public static class StrategyFile
{
    public static JsonNode Read(string path)
    {
        if (!File.Exists(path)) throw new CliProblemException(ExitCodes.Usage, "No such strategy file", path);
        var text = File.ReadAllText(path);
        try
        {
            if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || text.TrimStart().StartsWith('{'))
            {
                return JsonNode.Parse(text) as JsonObject
                    ?? throw new CliProblemException(ExitCodes.Usage, "Invalid strategy file", $"{path}: the strategy must be an object");
            }

            var yaml = new YamlStream();
            yaml.Load(new StringReader(text));
            return yaml.Documents.Count > 0 && ToJson(yaml.Documents[0].RootNode) is JsonObject strategy
                ? strategy
                : throw new CliProblemException(ExitCodes.Usage, "Invalid strategy file", $"{path}: the strategy must be a mapping");
        }
        catch (Exception ex) when (ex is JsonException or YamlDotNet.Core.YamlException)
        {
            throw new CliProblemException(ExitCodes.Usage, "Invalid strategy file", $"{path}: {ex.Message}");
        }
    }

    /// <summary>
    /// Int-or-percent fields are strings in the API (<c>"25%"</c>, <c>"2"</c>); YAML reads a bare <c>2</c> as a number,
    /// so under these keys a plain scalar stays a string.
    /// </summary>
    private static readonly HashSet<string> IntOrPercent = new(StringComparer.Ordinal) { "maxSurge", "maxUnavailable", "maxFailures" };

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
        {
            var key = ((YamlScalarNode)kv.Key).Value ?? string.Empty;
            return KeyValuePair.Create(key, IntOrPercent.Contains(key) && kv.Value is YamlScalarNode { Value: { Length: > 0 } text }
                ? JsonValue.Create(text)
                : ToJson(kv.Value));
        })),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted) return JsonValue.Create(value);
        if (value is "" or "~" or "null") return null;
        if (value is "true" or "false") return JsonValue.Create(value == "true");
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) return JsonValue.Create(integer);
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real)) return JsonValue.Create(real);
        return JsonValue.Create(value);
    }
}
