using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Deploy.Engine.Domain.Validation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// Names what is wrong with a JSON request body the way the engine's own validation does: the field by its path as the
/// caller sent it (<c>strategy.rollbakTriggers</c>, <c>strategy.steps[2].pause.duration</c>) and why. Bodies are strict
/// (<see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/>), so a misspelt safety setting is
/// a 400 instead of being dropped:
/// <list type="bullet">
/// <item>an unknown field → "unknown field", the closest declared field when one is close ("did you mean"), and the
/// fields allowed at that place;</item>
/// <item>an unknown enum value → the allowed values;</item>
/// <item>a value of the wrong kind → what kind the field takes (string, number, true/false, object, array).</item>
/// </list>
/// The request type comes from the endpoint's accepts metadata and the field is found by walking the serializer's own
/// type contract along the path, so what is reported is what the binder uses, never a second list kept by hand.
/// </summary>
internal static class JsonBodyProblems
{
    public const string InvalidJson = "The request body is not valid JSON for this operation.";

    public static (string Detail, IReadOnlyDictionary<string, string[]>? Errors) Describe(HttpContext context, JsonException exception)
    {
        if (exception.InnerException?.GetType().Name == "JsonReaderException")
        {
            // Malformed JSON: there is no field to name, only a place.
            var at = exception.LineNumber is { } line ? $" (line {line + 1}, byte {exception.BytePositionInLine + 1})" : string.Empty;
            return ("The request body is not valid JSON" + at + ".", null);
        }

        // The exception handler clears the endpoint before handlers run; the feature keeps the one that threw.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        var requestType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        var options = context.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions;
        var segments = Parse(exception.Path);
        if (requestType is null || options is null || segments is null)
        {
            return (InvalidJson, null);
        }

        var message = Explain(options, requestType, segments);
        if (message is null)
        {
            return (InvalidJson, null);
        }

        var field = Render(segments);
        return ($"{field}: {message}", new Dictionary<string, string[]> { [field] = [message] });
    }

    /// <summary>Why the value at the path cannot be read into the request type; null when the path does not lead anywhere known.</summary>
    internal static string? Explain(JsonSerializerOptions options, Type requestType, IReadOnlyList<Segment> segments)
    {
        var type = requestType;
        for (var i = 0; i < segments.Count; i++)
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            var segment = segments[i];
            switch (info.Kind)
            {
                case JsonTypeInfoKind.Object when segment.Name is not null:
                    var property = info.Properties.FirstOrDefault(p => string.Equals(p.Name, segment.Name,
                        options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
                    if (property is null)
                    {
                        var known = info.Properties.Select(p => p.Name).ToList();
                        return "unknown field." + Suggestions.DidYouMean(segment.Name, known) + $" Allowed here: {string.Join(", ", known)}.";
                    }

                    type = property.PropertyType;
                    break;
                case JsonTypeInfoKind.Enumerable when segment.Index is not null:
                case JsonTypeInfoKind.Dictionary when segment.Name is not null:
                    type = info.ElementType!;
                    break;
                default:
                    return null;
            }
        }

        return Expected(options, Nullable.GetUnderlyingType(type) ?? type);
    }

    private static string Expected(JsonSerializerOptions options, Type type)
    {
        if (type.IsEnum)
        {
            return $"unknown value; must be one of {string.Join(", ", Enum.GetNames(type))}.";
        }

        if (type == typeof(string))
        {
            return "must be a string.";
        }

        if (type == typeof(bool))
        {
            return "must be true or false.";
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return "must be an ISO 8601 date and time string such as 2026-01-31T09:00:00Z.";
        }

        if (type.IsPrimitive || type == typeof(decimal))
        {
            return type == typeof(double) || type == typeof(float) || type == typeof(decimal)
                ? "must be a number."
                : "must be a whole number within range.";
        }

        return options.GetTypeInfo(type).Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "must be an object.",
            JsonTypeInfoKind.Enumerable => "must be an array.",
            _ => "is not a valid value here.",
        };
    }

    /// <summary>One step of a System.Text.Json path: a property name (<c>.name</c> or <c>['name']</c>) or an index (<c>[3]</c>).</summary>
    internal sealed record Segment(string? Name, int? Index);

    /// <summary>Parses <c>$.a.b[2]['c d']</c>; null for anything else.</summary>
    internal static IReadOnlyList<Segment>? Parse(string? path)
    {
        if (path is null || !path.StartsWith('$'))
        {
            return null;
        }

        var segments = new List<Segment>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = i + 1;
                while (end < path.Length && path[end] != '.' && path[end] != '[') end++;
                if (end == i + 1) return null;
                segments.Add(new Segment(path[(i + 1)..end], null));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) return null;
                segments.Add(new Segment(path[(i + 2)..end], null));
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    return null;
                }

                segments.Add(new Segment(null, index));
                i = end + 1;
            }
            else
            {
                return null;
            }
        }

        return segments;
    }

    /// <summary>The path in the engine's field notation (<c>strategy.steps[2].pause</c>; <c>$</c> for the body itself).</summary>
    internal static string Render(IReadOnlyList<Segment> segments)
    {
        if (segments.Count == 0) return "$";
        var text = new StringBuilder();
        foreach (var s in segments)
        {
            if (s.Index is { } index) text.Append('[').Append(index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
            else text.Append(text.Length == 0 ? string.Empty : ".").Append(s.Name);
        }

        return text.ToString();
    }
}
