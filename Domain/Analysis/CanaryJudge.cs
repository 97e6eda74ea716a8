using System.Globalization;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// The statistical canary judge, Kayenta's NetflixACAJudge rule for rule (kayenta a69573be,
/// kayenta-judge/src/main/scala/com/netflix/kayenta/judge/…): cleaning → classification → scoring, each a pure stage.
/// <para><b>Cleaning</b> (per side, NetflixACAJudge.scala:66-86): NaN is dropped (<see cref="NanStrategy.Remove"/>) or
/// becomes 0 (<see cref="NanStrategy.Replace"/>); ±∞ is dropped (a project rule: a rank test cannot place it, Kayenta
/// would fail the metric with an Error); then, with <see cref="OutlierStrategy.Remove"/>, <see cref="Outliers.RemoveIqr"/>.</para>
/// <para><b>Classification</b> (MannWhitneyClassifier.scala:145-211), first rule that fires wins:</para>
/// <list type="number">
/// <item>a side is empty (:153): under Replace → Pass; under Remove → NoDataFailure when MustHaveData on a non-critical
/// metric (:157), else NoData, which fails the canary when the metric is critical (:160).</item>
/// <item>the sorted samples are identical → Pass (:167); every value of both sides is the same → Pass (:173).</item>
/// <item>otherwise run <see cref="MannWhitney.Test"/>(canary, baseline) at <see cref="JudgeMetric.Confidence"/> → estimate
/// e, interval [l, u]; the no-change band is ±b with <c>b = Tolerance·|e|</c> (calculateBounds, :72-79: a fraction of the
/// Hodges-Lehmann estimate, not of the baseline mean). Example: e = 10, [4, 16], Tolerance 0.25 → b = 2.5, 4 &gt; 2.5 →
/// higher; e = 10, [2, 18] → 2 ≤ 2.5 → Pass.</item>
/// <item>High when the direction is Increase or Either, <c>l &gt; b</c> and effect ≥ AllowedIncrease; Low when it is
/// Decrease or Either, <c>u &lt; −b</c> and effect ≤ AllowedDecrease (:116-130); a NaN effect (mean ratio with a mean of
/// 0) skips the effect comparison. Anything else passes.</item>
/// <item>critical: on a critical metric, High with effect ≥ CriticalIncrease or Low with effect ≤ CriticalDecrease (a NaN
/// effect: always) fails the canary (:182-202).</item>
/// </list>
/// <para><b>Scoring</b> (ScoringHelper.scala:38, WeightedSumScorer.scala): muted metrics are dropped first. Each metric
/// counts in every group it names. Group score = 100·Pass / (Pass + High + Low + NoDataFailure) (:29-43); NoData is left
/// out, and a group with nothing left counts as 100 in the summary (:71). Groups without an explicit weight share
/// <c>100 − Σ explicit</c> equally (:56-66). Summary = Σ score·weight/100, rounded to 2 decimals as commons-math
/// <c>Precision.round</c> does (:77, <see cref="Round2"/>). Then, in Kayenta's order (:90-105): any critical failure →
/// 0; NoData on 50 % or more of the scored metrics (≥, NoDataFailure not counted, :84-88) → 0. Outcome
/// (ThresholdScoreClassifier.scala:24-33): Pass if score ≥ PassThreshold, Marginal if ≥ MarginalThreshold, else Fail —
/// except that a critical failure or too much NoData is always Fail (a project rule: Kayenta would classify the 0 by the
/// thresholds). Example: groups a = 100 (weight 50), b = 50 and c = no data sharing 50 → 25 each → 50 + 12.5 + 25 = 87.5.</para>
/// </summary>
public static class CanaryJudge
{
    /// <summary>Group of metrics declared without one.</summary>
    public const string DefaultGroup = "default";

    /// <summary>WeightedSumScorer.scala:27 <c>NODATA_THRESHOLD = 50</c>: NoData on this percentage of the scored metrics or more zeroes the score.</summary>
    public const double NoDataThresholdPercent = 50;

    public static MetricVerdict Classify(JudgeMetric metric, IReadOnlyList<double> baseline, IReadOnlyList<double> canary)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(canary);

        var b = Clean(baseline, metric);
        var c = Clean(canary, metric);
        var groups = metric.Groups.Count > 0 ? metric.Groups : [DefaultGroup];
        double? ratio = b.Count > 0 && c.Count > 0 ? MeanRatio(b, c) : null;
        MetricVerdict Verdict(MetricClassification label, bool critical, double? estimate, double? lower, double? upper,
            double? p, double? effect, string reason) =>
            new(metric.Name, groups, label, critical, b.Count, c.Count, estimate, lower, upper, p, effect,
                $"{metric.Name}: {label} — {reason}{(metric.Muted ? " (muted: not scored)" : "")}")
            {
                Muted = metric.Muted,
                MeanRatio = ratio,
            };

        var cleaning = $"NaN {metric.NanStrategy}" + (metric.OutlierStrategy == OutlierStrategy.Remove ? $", outliers removed (IQR factor {F(metric.OutlierFactor)})" : "");
        if (b.Count == 0 || c.Count == 0)
        {
            var counts = $"baseline has {b.Count} and canary {c.Count} values after cleaning ({cleaning})";
            // Why: Kayenta treats an empty side differently under each NaN strategy (MannWhitneyClassifier.scala:153-163).
            if (metric.NanStrategy == NanStrategy.Replace)
                return Verdict(MetricClassification.Pass, false, null, null, null, null, null, $"{counts}; rule: an empty side passes under nanStrategy replace");
            if (metric.MustHaveData && !metric.Critical)
                return Verdict(MetricClassification.NoDataFailure, false, null, null, null, null, null, $"{counts}; rule: an empty side cannot be compared, and the metric must have data");
            return Verdict(MetricClassification.NoData, metric.Critical, null, null, null, null, null,
                $"{counts}; rule: an empty side cannot be compared" + (metric.Critical ? "; critical metric without data fails the canary" : ""));
        }

        var neutral = metric.EffectMeasure == EffectMeasure.MeanRatio ? 1.0 : 0.5;
        if (b.Order().SequenceEqual(c.Order()))
        {
            return Verdict(MetricClassification.Pass, false, 0, 0, 0, 1, neutral,
                "estimate 0 in [0, 0]; rule: canary and baseline samples are identical");
        }

        if (b.Concat(c).Distinct().Count() == 1)
        {
            return Verdict(MetricClassification.Pass, false, 0, 0, 0, 1, neutral,
                $"estimate 0 in [0, 0]; rule: every value equals {F(b[0])}, no shift is possible (R cannot test this)");
        }

        var test = MannWhitney.Test(c, b, metric.Confidence);
        var effect = metric.EffectMeasure == EffectMeasure.Cles ? test.W / ((double)c.Count * b.Count) : MeanRatio(b, c);
        var band = metric.Tolerance * Math.Abs(test.Estimate);
        var evidence = $"estimate {F(test.Estimate)} in [{F(test.Lower)}, {F(test.Upper)}] at {F(metric.Confidence * 100)}%, "
            + $"band ±{F(band)} = {F(metric.Tolerance)}·|estimate|, p {F(test.PValue)}, {metric.EffectMeasure} {F(effect)}";
        MetricVerdict Result(MetricClassification label, bool critical, string rule) =>
            Verdict(label, critical, test.Estimate, test.Lower, test.Upper, test.PValue, effect, $"{evidence}; rule: {rule}");

        // Why NaN passes every effect check: Kayenta ignores the effect size when it cannot be computed (:115, :124).
        var nan = double.IsNaN(effect);
        var unknown = nan ? $"{metric.EffectMeasure} is undefined (a mean is 0), so the effect-size checks are skipped" : null;
        if (test.Lower > band)
        {
            var allowed = metric.AllowedIncrease ?? neutral;
            if (metric.Direction == MetricDirection.Decrease)
                return Result(MetricClassification.Pass, false, "canary is higher (lower bound > band) but the direction Decrease only fails a decrease");
            if (!nan && effect < allowed)
                return Result(MetricClassification.Pass, false, $"canary is higher but effect {F(effect)} < allowed increase {F(allowed)}");
            var limit = metric.CriticalIncrease ?? neutral;
            var critical = metric.Critical && (nan || effect >= limit);
            return Result(MetricClassification.High, critical,
                $"lower bound {F(test.Lower)} > band {F(band)} and " + (unknown ?? $"effect {F(effect)} ≥ allowed increase {F(allowed)}")
                + (critical ? "; critical: " + (nan ? "a critical High with no effect size" : $"effect ≥ critical increase {F(limit)}") : ""));
        }

        if (test.Upper < -band)
        {
            var allowed = metric.AllowedDecrease ?? neutral;
            if (metric.Direction == MetricDirection.Increase)
                return Result(MetricClassification.Pass, false, "canary is lower (upper bound < −band) but the direction Increase only fails an increase");
            if (!nan && effect > allowed)
                return Result(MetricClassification.Pass, false, $"canary is lower but effect {F(effect)} > allowed decrease {F(allowed)}");
            var limit = metric.CriticalDecrease ?? neutral;
            var critical = metric.Critical && (nan || effect <= limit);
            return Result(MetricClassification.Low, critical,
                $"upper bound {F(test.Upper)} < −band {F(-band)} and " + (unknown ?? $"effect {F(effect)} ≤ allowed decrease {F(allowed)}")
                + (critical ? "; critical: " + (nan ? "a critical Low with no effect size" : $"effect ≤ critical decrease {F(limit)}") : ""));
        }

        return Result(MetricClassification.Pass, false, "the interval reaches into the band ±tolerance·|estimate|");
    }

    public static JudgeResult Judge(
        JudgeConfig config, IReadOnlyDictionary<string, (IReadOnlyList<double> Baseline, IReadOnlyList<double> Canary)> samples)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(samples);
        var errors = Validate(config);
        if (errors.Any)
        {
            throw new ArgumentException("invalid judge config: " + string.Join("; ",
                errors.ToDictionary().SelectMany(e => e.Value.Select(m => e.Key + ": " + m))), nameof(config));
        }

        var verdicts = config.Metrics.Select(m => samples.TryGetValue(m.Name, out var s)
            ? Classify(m, s.Baseline, s.Canary)
            : Classify(m, [], [])).ToList();
        return Score(config, verdicts);
    }

    /// <summary>Field errors in <paramref name="config"/>; none means <see cref="Judge"/> accepts it.</summary>
    public static ValidationErrors Validate(JudgeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new ValidationErrors();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Metrics.Count; i++)
        {
            var m = config.Metrics[i];
            var at = $"metrics[{i}]";
            if (string.IsNullOrWhiteSpace(m.Name)) errors.Add(at + ".name", "is required");
            else if (!names.Add(m.Name)) errors.Add(at + ".name", $"'{m.Name}' is declared twice");
            if (m.Groups.Any(string.IsNullOrWhiteSpace)) errors.Add(at + ".groups", "a group name cannot be empty");
            if (m.Groups.Distinct(StringComparer.Ordinal).Count() != m.Groups.Count) errors.Add(at + ".groups", "names a group twice");
            if (!(m.Confidence > 0 && m.Confidence < 1)) errors.Add(at + ".confidence", "must lie in (0, 1)");
            if (!(m.Tolerance >= 0 && double.IsFinite(m.Tolerance))) errors.Add(at + ".tolerance", "must be a finite number ≥ 0");
            if (!(m.OutlierFactor > 0 && double.IsFinite(m.OutlierFactor))) errors.Add(at + ".outlierFactor", "must be a finite number > 0");
            foreach (var (field, value) in new[] { ("allowedIncrease", m.AllowedIncrease), ("allowedDecrease", m.AllowedDecrease),
                         ("criticalIncrease", m.CriticalIncrease), ("criticalDecrease", m.CriticalDecrease) })
            {
                if (value is { } v && !double.IsFinite(v)) errors.Add($"{at}.{field}", "must be finite");
            }
        }

        foreach (var (group, weight) in config.GroupWeights)
        {
            if (!(weight >= 0 && weight <= 100)) errors.Add($"groupWeights.{group}", "must lie in [0, 100]");
        }

        if (config.GroupWeights.Values.Sum() > 100) errors.Add("groupWeights", "must not sum to more than 100");
        if (!(config.PassThreshold >= 0 && config.PassThreshold <= 100)) errors.Add("passThreshold", "must lie in [0, 100]");
        if (!(config.MarginalThreshold >= 0 && config.MarginalThreshold <= config.PassThreshold))
            errors.Add("marginalThreshold", "must lie in [0, passThreshold]");
        return errors;
    }

    /// <summary>The scoring stage alone, over verdicts already made (see the class comment for the rules).</summary>
    public static JudgeResult Score(JudgeConfig config, IReadOnlyList<MetricVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(verdicts);

        // Why first: a muted metric is shown but never scored, not even as a critical failure (ScoringHelper.scala:38).
        var scored = verdicts.Where(v => !v.Muted).ToList();
        var groups = scored
            .SelectMany(v => (v.Groups.Count > 0 ? v.Groups : [DefaultGroup]).Distinct(StringComparer.Ordinal).Select(g => (Group: g, Verdict: v)))
            .GroupBy(p => p.Group, p => p.Verdict, StringComparer.Ordinal)
            .ToList();
        var explicitSum = config.GroupWeights.Values.Sum();
        var unweighted = groups.Count(g => !config.GroupWeights.ContainsKey(g.Key));
        var shared = unweighted > 0 ? (100 - explicitSum) / unweighted : 0;

        var groupScores = new Dictionary<string, double>(StringComparer.Ordinal);
        var parts = new List<string>();
        var sum = 0.0;
        foreach (var group in groups)
        {
            var passed = group.Count(v => v.Classification == MetricClassification.Pass);
            var counted = group.Count(v => v.Classification != MetricClassification.NoData);
            var weight = config.GroupWeights.TryGetValue(group.Key, out var w) ? w : shared;
            if (counted == 0)
            {
                // WeightedSumScorer.scala:71: a group with nothing to score counts as 100 in the summary.
                sum += 100 * (weight / 100);
                parts.Add($"{group.Key}: no data, counts as 100 × {F(weight)}%");
                continue;
            }

            var score = 100.0 * passed / counted;
            groupScores[group.Key] = score;
            sum += score * (weight / 100);
            parts.Add($"{group.Key}: {F(score)} ({passed}/{counted} pass) × {F(weight)}%");
        }

        var summary = Round2(sum);
        var detail = string.Join(", ", parts);
        var muted = verdicts.Count - scored.Count;
        var mutedNote = muted > 0 ? $"; {muted} muted metric{(muted == 1 ? "" : "s")} not scored" : "";

        var criticalFailures = scored.Where(v => v.Critical && v.Classification != MetricClassification.Pass).ToList();
        if (criticalFailures.Count > 0)
        {
            var names = string.Join(", ", criticalFailures.Select(v => $"{v.Name} ({v.Classification})"));
            return new JudgeResult(JudgeOutcome.Fail, 0, groupScores, verdicts,
                $"Fail: score 0 (would be {F(summary)}); rule: a critical metric failed: {names}{mutedNote}");
        }

        var missing = scored.Count(v => v.Classification == MetricClassification.NoData);
        if (scored.Count > 0 && 100.0 * missing / scored.Count >= NoDataThresholdPercent)
        {
            return new JudgeResult(JudgeOutcome.Fail, 0, groupScores, verdicts,
                $"Fail: score 0 (would be {F(summary)}); rule: {missing} of {scored.Count} scored metrics have no data, "
                + $"{F(NoDataThresholdPercent)}% or more{mutedNote}");
        }

        var outcome = summary >= config.PassThreshold ? JudgeOutcome.Pass
            : summary >= config.MarginalThreshold ? JudgeOutcome.Marginal
            : JudgeOutcome.Fail;
        var rule = outcome switch
        {
            JudgeOutcome.Pass => $"score ≥ pass threshold {F(config.PassThreshold)}",
            JudgeOutcome.Marginal => $"marginal threshold {F(config.MarginalThreshold)} ≤ score < pass threshold {F(config.PassThreshold)}",
            _ => $"score < marginal threshold {F(config.MarginalThreshold)}",
        };
        var groupText = groups.Count > 0 ? detail : "no metric is scored";
        return new JudgeResult(outcome, summary, groupScores, verdicts, $"{outcome}: score {F(summary)}; rule: {rule}; groups: {groupText}{mutedNote}");
    }

    /// <summary>
    /// commons-math <c>Precision.round(x, 2)</c> as Kayenta rounds the summary (WeightedSumScorer.scala:77): the decimal
    /// the double prints as (<c>Double.toString</c>, the shortest round-trip digits), rounded half up (away from zero).
    /// Not <c>Math.Round(x, 2)</c>, which scales the binary value: 1.005 is stored as 1.00499999999999989…, so
    /// Math.Round gives 1.00 where Kayenta gives 1.01.
    /// </summary>
    public static double Round2(double value)
    {
        if (!double.IsFinite(value)) return value;
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact)) return Math.Round(value, 2, MidpointRounding.AwayFromZero);
        return (double)Math.Round(exact, 2, MidpointRounding.AwayFromZero);
    }

    /// <summary>NaN handling, ±∞ dropped, then the IQR outlier removal when declared (NetflixACAJudge.scala:66-86).</summary>
    private static List<double> Clean(IReadOnlyList<double> values, JudgeMetric metric)
    {
        var cleaned = values.Select(v => double.IsNaN(v) && metric.NanStrategy == NanStrategy.Replace ? 0 : v).Where(double.IsFinite).ToList();
        return metric.OutlierStrategy == OutlierStrategy.Remove ? Outliers.RemoveIqr(cleaned, metric.OutlierFactor) : cleaned;
    }

    /// <summary>EffectSizes.scala:17-19: mean(canary) / mean(baseline), NaN when either mean is 0.</summary>
    private static double MeanRatio(List<double> baseline, List<double> canary)
    {
        var baselineMean = baseline.Average();
        var canaryMean = canary.Average();
        return baselineMean == 0 || canaryMean == 0 ? double.NaN : canaryMean / baselineMean;
    }

    private static string F(double value) => double.IsNaN(value) ? "NaN" : value.ToString("0.######", CultureInfo.InvariantCulture);
}
