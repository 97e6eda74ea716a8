using System.Text.Json;

namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>The untrusted-JSON entry shared by the supply-chain parsers: bounded size and depth, never throws.</summary>
internal static class BoundedJson
{
    public delegate bool RootParser<T>(JsonElement root, out T? value, out string field, out string error);

    /// <summary>
    /// Empty, larger than <paramref name="maxChars"/>, deeper than <paramref name="maxDepth"/> or not JSON fails with the
    /// error on <paramref name="rootField"/>; otherwise <paramref name="parse"/> reads the root (and reports its own field).
    /// </summary>
    public static bool TryParse<T>(string? json, int maxChars, int maxDepth, string rootField, RootParser<T> parse,
        out T? value, out string field, out string error)
    {
        value = default;
        field = rootField;
        if (string.IsNullOrWhiteSpace(json))
        {
            error = "is empty";
            return false;
        }

        if (json.Length > maxChars)
        {
            error = $"is larger than {maxChars} characters";
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
            return parse(doc.RootElement, out value, out field, out error);
        }
        catch (JsonException)
        {
            error = "is not valid JSON";
            return false;
        }
    }

    /// <summary>The string property <paramref name="name"/>, or null when absent or not a string.</summary>
    public static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
