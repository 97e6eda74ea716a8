using System.Globalization;

namespace Deploy.Engine.Agent.Metrics;

/// <summary>
/// The two series a service's scrape is read for: <c>http_requests_total</c> by status code, and the
/// <c>http_request_duration_seconds_bucket</c> histogram by upper bound (summed over every other label).
/// Counters are cumulative; what a window saw is the difference of two snapshots (<see cref="Since"/>).
/// </summary>
public sealed record HttpTraffic(IReadOnlyDictionary<string, double> RequestsByCode, IReadOnlyDictionary<double, double> Buckets)
{
    public const string RequestsMetric = "http_requests_total";
    public const string BucketMetric = "http_request_duration_seconds_bucket";

    private static readonly string[] CodeLabels = ["code", "status", "status_code", "http_response_status_code"];

    public static readonly HttpTraffic Empty = new(new Dictionary<string, double>(), new Dictionary<double, double>());

    public static HttpTraffic From(IEnumerable<PrometheusSample> samples)
    {
        var codes = new Dictionary<string, double>(StringComparer.Ordinal);
        var buckets = new Dictionary<double, double>();
        foreach (var s in samples)
        {
            if (double.IsNaN(s.Value)) continue;
            if (s.Name == RequestsMetric)
            {
                var code = CodeLabels.Select(l => s.Labels.GetValueOrDefault(l)).FirstOrDefault(c => c is not null) ?? "unknown";
                codes[code] = codes.GetValueOrDefault(code) + s.Value;
            }
            else if (s.Name == BucketMetric && s.Labels.TryGetValue("le", out var le) && PrometheusText.ParseValue(le) is { } bound)
            {
                buckets[bound] = buckets.GetValueOrDefault(bound) + s.Value;
            }
        }

        return new HttpTraffic(codes, buckets);
    }

    /// <summary>
    /// What happened between <paramref name="earlier"/> and this snapshot. A counter that went down was reset (the
    /// service restarted): its whole current value is the window's, as Prometheus' <c>increase</c> assumes.
    /// </summary>
    public HttpTraffic Since(HttpTraffic earlier) => new(
        RequestsByCode.ToDictionary(kv => kv.Key, kv => Delta(kv.Value, earlier.RequestsByCode.GetValueOrDefault(kv.Key)), StringComparer.Ordinal),
        Buckets.ToDictionary(kv => kv.Key, kv => Delta(kv.Value, earlier.Buckets.GetValueOrDefault(kv.Key))));

    public double Requests => RequestsByCode.Values.Sum();

    /// <summary>
    /// 5xx as a percentage of all requests, or null with no requests.
    /// Example: {200: 95, 500: 3, 503: 2} → 5.0; {200: 10, 404: 10} → 0.0.
    /// </summary>
    public double? ErrorRatePercent
    {
        get
        {
            var total = Requests;
            if (total <= 0) return null;
            var errors = RequestsByCode.Where(kv => kv.Key.StartsWith('5')).Sum(kv => kv.Value);
            return errors / total * 100;
        }
    }

    /// <summary>
    /// The q-quantile in milliseconds from cumulative bucket counts, interpolated linearly inside the bucket the rank
    /// falls in (Prometheus' <c>histogram_quantile</c>); null with no observations. A rank in the +Inf bucket gives the
    /// highest finite bound. Example (q = 0.99): {0.05: 90, 0.1: 98, 0.25: 100, +Inf: 100} → rank 99 falls in
    /// (0.1, 0.25] holding 98→100, so 0.1 + 0.15 × (99 − 98) / 2 = 0.175 s = 175 ms.
    /// {0.1: 50, 0.5: 100, +Inf: 100} → rank 99 in (0.1, 0.5]: 0.1 + 0.4 × 49/50 = 0.492 s = 492 ms.
    /// </summary>
    public double? QuantileMs(double q = 0.99)
    {
        if (Buckets.Count == 0) return null;
        var ordered = Buckets.OrderBy(kv => kv.Key).ToList();
        var total = ordered[^1].Value;
        if (total <= 0) return null;
        var rank = q * total;
        double lowerBound = 0, lowerCount = 0;
        foreach (var (bound, count) in ordered)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(bound)) return lowerBound * 1000;
                var width = count - lowerCount;
                var at = width <= 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / width);
                return at * 1000;
            }

            lowerBound = bound;
            lowerCount = count;
        }

        return lowerBound * 1000;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Requests} requests");

    private static double Delta(double now, double before) => now >= before ? now - before : now;
}
