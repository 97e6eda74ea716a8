using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Deploy.Engine.Grains.Metrics;

/// <summary>
/// Reads an untrusted Prometheus <c>query_range</c> answer into samples. Guarantees: only
/// <c>{"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},"values":[[t,"v"],...]}]}}</c>
/// is accepted, each value exactly a [number, string] pair whose string is a float, "NaN", "+Inf" or "-Inf";
/// at most <c>maxSamples</c> samples; anything else is a short reason, never an exception.
/// An error answer (<c>"status":"error"</c>) yields its errorType and error, cleaned of control characters and
/// clipped to 300 characters.
/// </summary>
public static class PrometheusResponse
{
    public const int MaxErrorLength = 300;

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = 16,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    /// <summary>The samples, or null with <paramref name="error"/> set; <paramref name="isErrorAnswer"/> when Prometheus itself said "error".</summary>
    public static IReadOnlyList<double>? Parse(ReadOnlySpan<byte> body, int maxSamples, out string? error, out bool isErrorAnswer)
    {
        error = null;
        isErrorAnswer = false;
        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(body, Strict);
        }
        catch (JsonException)
        {
            error = "answer is not Prometheus API JSON";
            return null;
        }

        if (envelope is null)
        {
            error = "answer is empty";
            return null;
        }

        if (envelope.Status == "error")
        {
            isErrorAnswer = true;
            error = Clean($"{envelope.ErrorType ?? "error"}: {envelope.Error ?? "(no message)"}");
            return null;
        }

        if (envelope.Status != "success")
        {
            error = "answer's status is neither \"success\" nor \"error\"";
            return null;
        }

        if (envelope.Data is not { } data || data.Result is not { } series)
        {
            error = "answer has no data.result";
            return null;
        }

        if (data.ResultType != "matrix")
        {
            error = $"answer's resultType is {Clean(data.ResultType ?? "missing")}, not matrix (a range query returns a matrix)";
            return null;
        }

        var samples = new List<(double Time, double Value)>();
        foreach (var one in series)
        {
            if (one?.Values is not { } values)
            {
                error = "a series in the answer has no values";
                return null;
            }

            if (samples.Count + values.Count > maxSamples)
            {
                error = $"answer has more than {maxSamples.ToString(CultureInfo.InvariantCulture)} samples (Metrics:MaxSamples)";
                return null;
            }

            foreach (var pair in values)
            {
                if (!TryReadSample(pair, out var sample))
                {
                    error = "a sample in the answer is not a [unix time, \"value\"] pair";
                    return null;
                }

                samples.Add(sample);
            }
        }

        // OrderBy is stable: samples at the same instant keep their series' order.
        return samples.OrderBy(s => s.Time).Select(s => s.Value).ToArray();
    }

    /// <summary>One line, no control characters, at most <see cref="MaxErrorLength"/> characters.</summary>
    public static string Clean(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxErrorLength));
        foreach (var c in text)
        {
            if (builder.Length == MaxErrorLength)
            {
                builder.Length = MaxErrorLength - 1;
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        return builder.ToString();
    }

    /// <summary>Prometheus writes sample values as strings: a Go float, or NaN, +Inf, -Inf.</summary>
    public static bool TryParseValue(string? text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf" or "Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case null or "":
                value = 0;
                return false;
            default:
                // Float only: no thousands separators, no currency, no culture; .NET's own "Infinity" spellings are not Go's.
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
        }
    }

    private static bool TryReadSample(JsonElement pair, out (double Time, double Value) sample)
    {
        sample = default;
        if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
        {
            return false;
        }

        var time = pair[0];
        var value = pair[1];
        if (time.ValueKind != JsonValueKind.Number || !time.TryGetDouble(out var seconds) || !double.IsFinite(seconds)
            || value.ValueKind != JsonValueKind.String || !TryParseValue(value.GetString(), out var parsed))
        {
            return false;
        }

        sample = (seconds, parsed);
        return true;
    }

    private sealed record Envelope(string? Status, Data? Data, string? ErrorType, string? Error);

    private sealed record Data(string? ResultType, List<Series?>? Result);

    private sealed record Series(Dictionary<string, string>? Metric, List<JsonElement>? Values);
}
