namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// Brent's root finder exactly as R's <c>uniroot</c> runs it (<c>R_zeroin2</c> in R's <c>stats/src/zeroin.c</c>,
/// itself a translation of Brent's 1973 ALGOL procedure): same step rules, same tolerance
/// <c>2·ε·|b| + tol/2</c>, same stop on <c>f(b) == 0</c>, same iteration cap.
/// Why not a library root finder: <see cref="MannWhitney"/> solves a <em>step</em> function (a rank statistic of the
/// shift), so the point R reports is decided by the exact sequence of iterates — the first point that lands on a zero
/// plateau, or the point within <c>tol</c> of a jump. Any other Brent variant lands elsewhere in that plateau or
/// window and would disagree with R by up to <c>tol</c> or the plateau width.
/// </summary>
internal static class RZeroin
{
    /// <summary>C's DBL_EPSILON (2⁻⁵²), not .NET's <see cref="double.Epsilon"/> (the smallest subnormal).</summary>
    private const double MachineEpsilon = 2.220446049250313e-16;

    /// <summary>R's <c>uniroot(f, lower, upper, f.lower, f.upper, tol, maxiter = 1000)$root</c>; requires a sign change.</summary>
    public static double Find(Func<double, double> f, double ax, double bx, double fa, double fb, double tol, int maxIterations = 1000)
    {
        if (fa * fb > 0) throw new ArgumentException("f() values at the end points are not of opposite sign");

        double a = ax, b = bx, c = a, fc = fa;
        if (fa == 0.0) return a;
        if (fb == 0.0) return b;

        var left = maxIterations + 1;
        while (left-- > 0)
        {
            var prevStep = b - a;
            if (Math.Abs(fc) < Math.Abs(fb))
            {
                a = b; b = c; c = a;
                fa = fb; fb = fc; fc = fa;
            }

            var tolAct = 2 * MachineEpsilon * Math.Abs(b) + tol / 2;
            var newStep = (c - b) / 2;
            if (Math.Abs(newStep) <= tolAct || fb == 0.0) return b;

            if (Math.Abs(prevStep) >= tolAct && Math.Abs(fa) > Math.Abs(fb))
            {
                double p, q;
                var cb = c - b;
                if (a == c)
                {
                    var t1 = fb / fa;
                    p = cb * t1;
                    q = 1.0 - t1;
                }
                else
                {
                    q = fa / fc;
                    var t1 = fb / fc;
                    var t2 = fb / fa;
                    p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                    q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
                }

                if (p > 0) q = -q;
                else p = -p;

                if (p < 0.75 * cb * q - Math.Abs(tolAct * q) / 2 && p < Math.Abs(prevStep * q / 2)) newStep = p / q;
            }

            if (Math.Abs(newStep) < tolAct) newStep = newStep > 0 ? tolAct : -tolAct;

            a = b; fa = fb;
            b += newStep; fb = f(b);
            if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0))
            {
                c = a; fc = fa;
            }
        }

        return b; // R warns "_NOT_ converged" and still returns the last iterate.
    }
}
