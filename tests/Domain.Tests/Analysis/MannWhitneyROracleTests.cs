using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsCheck;
using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>R's <c>Rscript</c> (Debian's <c>r-base-core</c>): <c>DEPLOY_RSCRIPT</c> when set, else the first on PATH; null when absent.</summary>
public static class R
{
    public static string? Rscript { get; } =
        new[] { Environment.GetEnvironmentVariable("DEPLOY_RSCRIPT") }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "Rscript")))
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
}

/// <summary>A test that needs R: reported skipped, with the reason, where Rscript is not installed.</summary>
public sealed class RFactAttribute : FactAttribute
{
    public RFactAttribute()
    {
        if (R.Rscript is null)
        {
            Skip = "R is not installed: Rscript is missing (apt-get install --no-install-recommends r-base-core; deploy/test.sh tries when it can).";
        }
    }
}

/// <summary>
/// Property test with R as the oracle: generated samples with many ties, at several confidence levels, go to one
/// Rscript run of <c>wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = c)</c>; the engine's
/// W, p-value, estimate and both interval ends must agree with R's within 1e-6 (relative above 1). Kayenta's judge calls
/// the same algorithm through its own port (kayenta-mannwhitney/…/MannWhitney.scala), so R is the reference.
/// </summary>
public class MannWhitneyROracleTests
{
    private const double Tolerance = 1e-6;
    private const int Cases = 400;

    private sealed record Case(double[] X, double[] Y, double Confidence);

    /// <summary>Values drawn from small grids so ties are common: whole numbers, quarters, or three-decimal reals.</summary>
    private static Gen<double[]> Side(int kind) => kind switch
    {
        0 => Gen.Int[0, 6].Select(i => (double)i).Array[1, 30],
        1 => Gen.Int[-20, 20].Select(i => i * 0.25).Array[1, 30],
        _ => Gen.Int[-5000, 5000].Select(i => i / 1000.0).Array[1, 30],
    };

    private static readonly Gen<Case> CaseGen =
        from kind in Gen.Int[0, 2]
        from x in Side(kind)
        from y in Side(kind)
        from shift in Gen.Int[-3, 3]
        from confidence in Gen.OneOf(Gen.Const(0.9), Gen.Const(0.95), Gen.Const(0.98), Gen.Const(0.99))
        where x.Length + y.Length >= 3
        select new Case(x.Select(v => v + shift).ToArray(), y, confidence);

    [RFact]
    public void Interval_estimate_and_p_match_R_on_generated_samples_with_ties()
    {
        CaseGen.Array[Cases].Sample(cases =>
        {
            var answers = RunR(cases);
            var failures = new List<string>();
            var compared = 0;
            for (var i = 0; i < cases.Length; i++)
            {
                var c = cases[i];
                var r = answers[i];
                if (r is null)
                {
                    // R refuses only where every value ties or both sides are constant ("cannot compute confidence
                    // interval when all observations are tied"); the engine answers those exactly (MannWhitneyTests).
                    if (!(c.X.Concat(c.Y).Distinct().Count() == 1 || (c.X.Distinct().Count() == 1 && c.Y.Distinct().Count() == 1)
                          || c.X.Length + c.Y.Length == 2))
                        failures.Add($"case {i}: R gave no answer for a case the engine claims R answers: {Show(c)}");
                    continue;
                }

                var ours = MannWhitney.Test(c.X, c.Y, c.Confidence);
                compared++;
                foreach (var (what, expected, actual) in new[] { ("W", r[0], ours.W), ("p", r[1], ours.PValue),
                             ("estimate", r[2], ours.Estimate), ("lower", r[3], ours.Lower), ("upper", r[4], ours.Upper) })
                {
                    if (!(Math.Abs(expected - actual) <= Tolerance * Math.Max(1, Math.Abs(expected))))
                        failures.Add($"case {i} {what}: R {expected:R}, engine {actual:R}; {Show(c)}");
                }
            }

            Assert.True(compared >= Cases * 3 / 4, $"only {compared} of {Cases} cases were comparable");
            Assert.True(failures.Count == 0, $"{failures.Count} disagreements with R:\n" + string.Join("\n", failures.Take(10)));
        }, iter: 1, threads: 1);
    }

    /// <summary>One Rscript run for every case: W, p, estimate, lower, upper per line, or null where R stops with an error.</summary>
    private static double[]?[] RunR(Case[] cases)
    {
        var dir = Directory.CreateTempSubdirectory("deploy-r-oracle-");
        try
        {
            var input = Path.Combine(dir.FullName, "cases.txt");
            var output = Path.Combine(dir.FullName, "answers.txt");
            var script = Path.Combine(dir.FullName, "oracle.R");
            File.WriteAllLines(input, cases.Select(c => $"{N(c.Confidence)};{string.Join(",", c.X.Select(N))};{string.Join(",", c.Y.Select(N))}"));
            File.WriteAllText(script, """
                args <- commandArgs(trailingOnly = TRUE)
                lines <- readLines(args[1])
                num <- function(s) as.numeric(strsplit(s, ",", fixed = TRUE)[[1]])
                out <- vapply(lines, function(line) {
                  f <- strsplit(line, ";", fixed = TRUE)[[1]]
                  r <- tryCatch(suppressWarnings(wilcox.test(num(f[2]), num(f[3]), conf.int = TRUE, exact = FALSE,
                                                             correct = TRUE, conf.level = as.numeric(f[1]))),
                                error = function(e) NULL)
                  if (is.null(r)) "NA" else sprintf("%.17g %.17g %.17g %.17g %.17g", unname(r$statistic), r$p.value,
                                                    unname(r$estimate), r$conf.int[1], r$conf.int[2])
                }, "", USE.NAMES = FALSE)
                writeLines(out, args[2])
                """);
            var start = new ProcessStartInfo(R.Rscript!, ["--vanilla", script, input, output])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("Rscript did not finish within 3 minutes");
            }

            Assert.True(process.ExitCode == 0, $"Rscript exited {process.ExitCode}: {stderr.Result}");
            var lines = File.ReadAllLines(output);
            Assert.Equal(cases.Length, lines.Length);
            return lines.Select(l => l == "NA" ? null
                : l.Split(' ').Select(v => v == "NaN" || v == "NA" ? double.NaN : double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Show(Case c) =>
        new StringBuilder().Append("x = c(").AppendJoin(", ", c.X.Select(N)).Append("), y = c(").AppendJoin(", ", c.Y.Select(N))
            .Append("), conf.level = ").Append(N(c.Confidence)).ToString();
}
