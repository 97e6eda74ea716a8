namespace Deploy.Engine.Grains.Metrics;

/// <summary>
/// One range query against a metric provider configured server-side by name (<see cref="Provider"/>): a caller names
/// a provider, never a URL. <see cref="Query"/> is a template whose <c>{{name}}</c> placeholders are filled from
/// <see cref="Variables"/> (see <see cref="PromQlTemplate"/>).
/// </summary>
public sealed record MetricQuery(
    string Provider,
    string Query,
    DateTimeOffset Start,
    DateTimeOffset End,
    TimeSpan Step,
    IReadOnlyDictionary<string, string> Variables);

/// <summary>
/// The samples a query returned: every value of every series, in time order (series order breaks ties).
/// NaN and ±Infinity are kept as such; an empty list is missing data, never a pass. When <see cref="Ok"/> is false,
/// <see cref="Error"/> says why in one short line and <see cref="Values"/> is empty.
/// </summary>
public sealed record MetricSeriesResult(bool Ok, IReadOnlyList<double> Values, string? Error)
{
    public static MetricSeriesResult Success(IReadOnlyList<double> values) => new(true, values, null);

    public static MetricSeriesResult Fail(string error) => new(false, [], error);
}

/// <summary>Reads samples for the canary analysis. Problems with the source are results (Ok = false), not exceptions.</summary>
public interface IMetricProvider
{
    Task<MetricSeriesResult> QueryRange(MetricQuery query, CancellationToken ct);
}
