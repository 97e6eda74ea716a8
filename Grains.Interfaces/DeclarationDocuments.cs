using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>
/// Declaration documents arrive as JSON or YAML; both become one JSON element that <see cref="DeclarationParser"/>
/// validates, so the rules and the error paths are the same whichever was written. YAML plain scalars that read as
/// numbers, booleans or null become those; quoted scalars stay strings. Anchors and aliases are refused (a small
/// document must not expand into a large one).
/// </summary>
public static class DeclarationDocuments
{
    public const int MaxDepth = 32;

    public static bool IsYaml(string? contentTypeOrPath) => contentTypeOrPath is { } s
        && (s.Contains("yaml", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));

    /// <summary>The document as JSON, or the reason it cannot be read.</summary>
    public static (JsonElement? Document, string? Error) Read(string text, bool yaml)
    {
        try
        {
            if (!yaml)
            {
                using var json = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
                return (json.RootElement.Clone(), null);
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count != 1)
            {
                return (null, $"expected one YAML document, found {stream.Documents.Count}");
            }

            var node = Convert(stream.Documents[0].RootNode, 0);
            return (JsonSerializer.SerializeToElement(node), null);
        }
        catch (JsonException e)
        {
            return (null, "not valid JSON: " + FirstLine(e.Message));
        }
        catch (YamlException e)
        {
            return (null, $"not valid YAML (line {e.Start.Line}): " + FirstLine(e.Message));
        }
        catch (InvalidOperationException e)
        {
            return (null, e.Message);
        }
    }

    private static JsonNode? Convert(YamlNode node, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"the document nests deeper than {MaxDepth} levels");
        }

        if (!node.Anchor.IsEmpty)
        {
            throw new InvalidOperationException("YAML anchors and aliases are not accepted in declarations");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    var name = key is YamlScalarNode scalarKey ? scalarKey.Value ?? string.Empty : throw new InvalidOperationException("mapping keys must be scalars");
                    if (obj.ContainsKey(name))
                    {
                        throw new InvalidOperationException($"key '{name}' appears twice");
                    }

                    obj[name] = Convert(value, depth + 1);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(Convert(item, depth + 1));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new InvalidOperationException("unsupported YAML node");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        // Numbers keep the text written ("2.0" stays "2.0" where a string such as a version is expected).
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            try
            {
                return JsonNode.Parse(value);
            }
            catch (JsonException)
            {
                // Not JSON's number grammar ("+1", "1."): a string.
            }
        }

        return JsonValue.Create(value);
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
