using MathNet.Numerics.Distributions;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// The two-sample Mann-Whitney (Wilcoxon rank-sum) result, in R's terms: <see cref="W"/> is R's statistic
/// (rank sum of <c>x</c> minus <c>nₓ(nₓ+1)/2</c>, i.e. the count of pairs with xᵢ &gt; yⱼ, ties counting ½),
/// <see cref="Estimate"/> the shift <c>x − y</c> (Hodges-Lehmann style), [<see cref="Lower"/>, <see cref="Upper"/>] its
/// two-sided confidence interval.
/// </summary>
public sealed record MannWhitneyResult(double W, double PValue, double Estimate, double Lower, double Upper);

/// <summary>
/// R's <c>wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = confidence)</c>
/// (the "approximate" branch of <c>wilcox.test.default</c>, R 4.x):
/// <list type="bullet">
/// <item>W = Σ rank(xᵢ in x∪y, ties averaged) − nₓ(nₓ+1)/2.</item>
/// <item>σ = √( nₓn_y/12 · ( nₓ+n_y+1 − Σₜ(t³−t) / ((nₓ+n_y)(nₓ+n_y−1)) ) ), t over tie-group sizes.</item>
/// <item>z = (W − nₓn_y/2 − sign(W − nₓn_y/2)·½) / σ; p = 2·Φ(−|z|).</item>
/// <item>For a shift d, W(d) is the same standardised statistic over (x − d, y). The interval ends are the roots of
/// W(d) = ±z_{1−α/2} on [min x − max y, max x − min y], found with R's <c>uniroot</c> (tol 1e-4; see
/// <see cref="RZeroin"/>); when the equation has no sign change the bracket end is returned, as R does.</item>
/// <item>The estimate is the root of W(d) = 0 with the continuity correction switched off (R sets
/// <c>correct &lt;- FALSE</c> before it).</item>
/// </list>
/// Example (R, in the reference table): x = 1..5, y = 3..7 → W = 4.5, p = 0.113846, estimate −2, CI ≈ [−4.99997, 0.99997].
/// Degenerate inputs, where R cannot answer: every value of x ∪ y equal (σ = 0; R returns p = NaN and no interval) →
/// W = nₓn_y/2, p = 1, estimate and interval 0; each side constant but different (R stops: "cannot compute confidence
/// interval when all observations are tied") → the shift is known exactly: estimate = lower = upper = x₀ − y₀, with
/// R's p. Kayenta avoids the second case by adding random noise; a pure function cannot.
/// </summary>
public static class MannWhitney
{
    /// <summary>R's <c>uniroot</c> tolerance in <c>wilcox.test</c> (<c>tol.root = 1e-4</c>).</summary>
    public const double RootTolerance = 1e-4;

    public static MannWhitneyResult Test(IReadOnlyList<double> x, IReadOnlyList<double> y, double confidence)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count == 0 || y.Count == 0) throw new ArgumentException("both samples need at least one value");
        if (x.Concat(y).Any(v => !double.IsFinite(v))) throw new ArgumentException("samples must be finite; clean them first");
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "must lie in (0, 1)");

        double nx = x.Count, ny = y.Count;
        var (w, sigma) = Statistic(x, y, 0);
        var centred = w - nx * ny / 2;
        if (sigma == 0) return new MannWhitneyResult(w, 1, 0, 0, 0);

        var z = (centred - Math.Sign(centred) * 0.5) / sigma;
        var p = 2 * Normal.CDF(0, 1, -Math.Abs(z));

        var muMin = x.Min() - y.Max();
        var muMax = x.Max() - y.Min();
        if (muMin == muMax) return new MannWhitneyResult(w, p, muMin, muMin, muMin);

        var alpha = 1 - confidence;
        var zq = -Normal.InvCDF(0, 1, alpha / 2); // R: qnorm(alpha/2, lower.tail = FALSE)

        double Standardised(double d, bool correct)
        {
            var (wd, sd) = Statistic(x, y, d);
            var dz = wd - nx * ny / 2;
            var correction = correct ? Math.Sign(dz) * 0.5 : 0;
            return (dz - correction) / sd;
        }

        var fMin = Standardised(muMin, true);
        var fMax = Standardised(muMax, true);
        double Root(double q)
        {
            var fLower = fMin - q;
            if (fLower <= 0) return muMin;
            var fUpper = fMax - q;
            if (fUpper >= 0) return muMax;
            return RZeroin.Find(d => Standardised(d, true) - q, muMin, muMax, fLower, fUpper, RootTolerance);
        }

        var lower = Root(zq);
        var upper = Root(-zq);
        var estimate = RZeroin.Find(
            d => Standardised(d, false), muMin, muMax, Standardised(muMin, false), Standardised(muMax, false), RootTolerance);
        return new MannWhitneyResult(w, p, estimate, lower, upper);
    }

    /// <summary>R's W for (x − shift, y) and the tie-corrected σ of that ranking.</summary>
    private static (double W, double Sigma) Statistic(IReadOnlyList<double> x, IReadOnlyList<double> y, double shift)
    {
        int nx = x.Count, n = x.Count + y.Count;
        var values = new double[n];
        for (var i = 0; i < nx; i++) values[i] = x[i] - shift;
        for (var j = 0; j < y.Count; j++) values[nx + j] = y[j];

        var order = Enumerable.Range(0, n).OrderBy(i => values[i]).ToArray();
        var rankSumX = 0.0;
        var tieTerm = 0.0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && values[order[end + 1]] == values[order[start]]) end++;
            double t = end - start + 1;
            var rank = (start + end + 2) / 2.0; // average of 1-based ranks start+1 … end+1
            for (var k = start; k <= end; k++)
            {
                if (order[k] < nx) rankSumX += rank;
            }

            tieTerm += t * t * t - t;
            start = end + 1;
        }

        double dnx = nx, dny = y.Count, dn = n;
        var w = rankSumX - dnx * (dnx + 1) / 2;
        var sigma = Math.Sqrt(dnx * dny / 12 * (dn + 1 - tieTerm / (dn * (dn - 1))));
        return (w, sigma);
    }
}
