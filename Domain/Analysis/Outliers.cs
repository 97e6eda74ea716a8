namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// Kayenta's outlier removal: <c>IQRDetector(outlierFactor, reduceSensitivity = true)</c> (NetflixACAJudge.scala:78-86,
/// IQRDetector.scala:40-76), applied to each side separately after NaN handling.
/// <para>Fences: <c>lower = min(P1, Q1 − k·IQR)</c>, <c>upper = max(P99, Q3 + k·IQR)</c> with <c>IQR = Q3 − Q1</c> and every
/// percentile R's type 7 as commons-math computes it (DescriptiveStatistics.scala:72-75); a value strictly outside a
/// fence is dropped. Taking P1/P99 as well is Kayenta's "reduce sensitivity": a value is dropped only when it lies beyond
/// both the IQR fence and the 1st/99th percentile.</para>
/// <para>Example (k = 3): 1, 2, …, 10, 1000 → Q1 = 3.5, Q3 = 8.5, IQR = 5, Q3 + 15 = 23.5, P99 = 10 + 0.9·990 = 901 →
/// upper fence 901, so 1000 goes; lower fence min(1.1, −11.5) = −11.5 keeps 1.</para>
/// </summary>
public static class Outliers
{
    public static List<double> RemoveIqr(IReadOnlyList<double> values, double factor)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(factor > 0)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be greater than zero (IQRDetector.scala:33)");
        if (values.Count == 0) return [];
        var (lower, upper) = Fences(values, factor);
        return values.Where(v => !(v > upper || v < lower)).ToList();
    }

    public static (double Lower, double Upper) Fences(IReadOnlyList<double> values, double factor)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        var p25 = Percentile(sorted, 25);
        var p75 = Percentile(sorted, 75);
        var iqr = p75 - p25;
        return (Math.Min(Percentile(sorted, 1), p25 - factor * iqr), Math.Max(Percentile(sorted, 99), p75 + factor * iqr));
    }

    /// <summary>
    /// commons-math <c>Percentile</c> with <c>EstimationType.R_7</c>: position <c>h = 1 + (n − 1)·p/100</c> (1-based),
    /// then <c>x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋)</c>, clamped to the ends. Example: 1..10, p = 25 → h = 3.25 → 3.25.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) return double.NaN;
        var q = p / 100;
        var n = sorted.Count;
        var position = q == 0 ? 0 : q == 1 ? n : 1 + (n - 1) * q;
        if (position < 1) return sorted[0];
        if (position >= n) return sorted[n - 1];
        var floor = Math.Floor(position);
        var at = (int)floor;
        var lower = sorted[at - 1];
        return lower + (position - floor) * (sorted[at] - lower);
    }
}
