using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>
/// Declaration documents arrive as JSON or YAML; both become one JSON element that <see cref="DeclarationParser"/>
/// validates, so the rules and the error paths are the same whichever was written. YAML plain scalars that read as
/// numbers, booleans or null become those; quoted scalars stay strings. Anchors and aliases are refused (a small
/// document must not expand into a large one).
/// </summary>
/// <remarks>
/// Bounded before anything recurses: both readers walk the token stream iteratively with an explicit stack and stop at
/// the first token deeper than <see cref="MaxDepth"/>, past <see cref="MaxNodes"/> nodes, or in a document longer than
/// <see cref="MaxChars"/>. A document nested fifty thousand deep is a 400, never a stack overflow in a library's
/// recursive loader (which kills the process).
/// </remarks>
public static class DeclarationDocuments
{
    public const int MaxDepth = 32;

    /// <summary>The most nodes (scalars, mappings, sequences) one document may hold.</summary>
    public const int MaxNodes = 100_000;

    /// <summary>The longest document read, in characters (the API's body limit is 1 MiB; a file is held to the same).</summary>
    public const int MaxChars = 1024 * 1024;

    private static readonly string TooDeep = $"the document nests deeper than {MaxDepth} levels";

    public static bool IsYaml(string? contentTypeOrPath) => contentTypeOrPath is { } s
        && (s.Contains("yaml", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));

    /// <summary>The document as JSON, or the reason it cannot be read.</summary>
    public static (JsonElement? Document, string? Error) Read(string text, bool yaml)
    {
        if (text.Length > MaxChars)
        {
            return (null, $"the document is longer than {MaxChars} characters");
        }

        try
        {
            if (!yaml)
            {
                return ReadJson(text);
            }

            var node = ReadYaml(text);
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

    /// <summary>
    /// A token pass first (iterative, depth and node count checked at every token), then the document parse, which
    /// cannot meet a depth the pass has not already refused.
    /// </summary>
    private static (JsonElement? Document, string? Error) ReadJson(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = MaxDepth + 2 });
        var nodes = 0;
        while (reader.Read())
        {
            if (reader.CurrentDepth > MaxDepth)
            {
                return (null, TooDeep);
            }

            if (reader.TokenType != JsonTokenType.PropertyName && reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray)
                && ++nodes > MaxNodes)
            {
                return (null, $"the document holds more than {MaxNodes} values");
            }
        }

        using var json = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = MaxDepth + 1 });
        return (json.RootElement.Clone(), null);
    }

    /// <summary>
    /// Builds the document from YamlDotNet's event stream (its parser and scanner are state machines, not recursive)
    /// with an explicit stack, so the depth check runs on every opening event before the next one is read.
    /// </summary>
    private static JsonNode? ReadYaml(string text)
    {
        var parser = new Parser(new StringReader(text));
        var stack = new Stack<Open>();
        JsonNode? root = null;
        var documents = 0;
        var nodes = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case DocumentStart:
                    if (++documents > 1)
                    {
                        throw new InvalidOperationException("expected one YAML document, found more than one");
                    }

                    continue;
                case AnchorAlias:
                    throw new InvalidOperationException("YAML anchors and aliases are not accepted in declarations");
                case NodeEvent { Anchor.IsEmpty: false }:
                    throw new InvalidOperationException("YAML anchors and aliases are not accepted in declarations");
                case MappingStart or SequenceStart or Scalar when ++nodes > MaxNodes:
                    throw new InvalidOperationException($"the document holds more than {MaxNodes} nodes");
                case MappingStart:
                    if (stack.Count >= MaxDepth + 1)
                    {
                        throw new InvalidOperationException(TooDeep);
                    }

                    stack.Push(new Open(new JsonObject()));
                    continue;
                case SequenceStart:
                    if (stack.Count >= MaxDepth + 1)
                    {
                        throw new InvalidOperationException(TooDeep);
                    }

                    stack.Push(new Open(new JsonArray()));
                    continue;
                case Scalar scalar:
                    if (stack.Count == 0)
                    {
                        root = ScalarValue(scalar);
                    }
                    else if (stack.Peek() is { Node: JsonObject, Key: null } mapping)
                    {
                        mapping.Key = scalar.Value;
                        if (((JsonObject)mapping.Node).ContainsKey(mapping.Key))
                        {
                            throw new InvalidOperationException($"key '{mapping.Key}' appears twice");
                        }
                    }
                    else
                    {
                        Add(stack.Peek(), ScalarValue(scalar));
                    }

                    continue;
                case MappingEnd or SequenceEnd:
                    var closed = stack.Pop().Node;
                    if (stack.Count == 0) root = closed;
                    else Add(stack.Peek(), closed);
                    continue;
            }
        }

        if (documents != 1)
        {
            throw new InvalidOperationException($"expected one YAML document, found {documents}");
        }

        return root;
    }

    /// <summary>Adds a finished node to the open collection: an array item, or the value of the mapping's pending key.</summary>
    private static void Add(Open open, JsonNode? node)
    {
        switch (open.Node)
        {
            case JsonArray array:
                array.Add(node);
                break;
            case JsonObject obj when open.Key is { } key:
                obj[key] = node;
                open.Key = null;
                break;
            default:
                throw new InvalidOperationException("mapping keys must be scalars");
        }
    }

    /// <summary>A mapping or sequence being built; a mapping holds its pending key between the key and the value.</summary>
    private sealed class Open(JsonNode node)
    {
        public JsonNode Node { get; } = node;

        public string? Key { get; set; }
    }

    private static JsonNode? ScalarValue(Scalar scalar)
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
