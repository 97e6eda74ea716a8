using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>
/// Kayenta's outlier removal, a69573be kayenta-judge/…/detectors/IQRDetector.scala:40-76 with reduceSensitivity = true
/// (NetflixACAJudge.scala:80) and R-7 percentiles (stats/DescriptiveStatistics.scala:72-75). Fences worked by hand.
/// </summary>
public class OutliersTests
{
    public static TheoryData<string, double[], double, double, double, double[]> Cases => new()
    {
        // label, values, factor, lower fence, upper fence, kept
        // Q1 = 3.5, Q3 = 8.5 (h = 3.5, 8.5), IQR 5; P1 = 1.1, P99 = 10 + 0.9·990 = 901; fences min(1.1, −11.5), max(901, 23.5).
        { "one high outlier", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000], 3, -11.5, 901, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        // the P99 fence dominates whatever the factor: with k = 1.5 the IQR fence is 16, the upper fence still 901.
        { "factor 1.5", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000], 1.5, -4, 901, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        // two equal outliers: Q1 = 3.75, Q3 = 9.25; P99 (h = 11.89) lands between them, at 1000, and nothing is above it —
        // reduced sensitivity keeps both.
        { "two equal outliers stay", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000, 1000], 3, -12.75, 1000, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000, 1000] },
        // low side: Q1 = 2.5, Q3 = 7.5, P1 = −1000 + 0.1·1001 = −899.9 → −1000 lies below min(−899.9, −12.5).
        { "one low outlier", [-1000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3, -899.9, 22.5, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        // no spread: every fence is 5, nothing lies strictly outside.
        { "constant", [5, 5, 5], 3, 5, 5, [5, 5, 5] },
        // a single value is its own percentile.
        { "single", [7], 3, 7, 7, [7] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Iqr_fences_with_reduced_sensitivity(string label, double[] values, double factor, double lower, double upper, double[] kept)
    {
        var (l, u) = Outliers.Fences(values, factor);
        Assert.True(Math.Abs(l - lower) < 1e-9 && Math.Abs(u - upper) < 1e-9, $"{label}: fences [{l}, {u}]");
        Assert.Equal(kept, Outliers.RemoveIqr(values, factor));
    }

    [Theory]
    // R: quantile(1:10, c(0.01, 0.25, 0.5, 0.75, 0.99), type = 7) = 1.09 3.25 5.50 7.75 9.91
    [InlineData(1, 1.09)]
    [InlineData(25, 3.25)]
    [InlineData(50, 5.5)]
    [InlineData(75, 7.75)]
    [InlineData(99, 9.91)]
    [InlineData(100, 10)]
    public void Percentiles_are_r_type_7(double p, double expected) =>
        Assert.Equal(expected, Outliers.Percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p), 12);

    [Fact]
    public void An_empty_side_stays_empty() => Assert.Empty(Outliers.RemoveIqr([], 3));
}
