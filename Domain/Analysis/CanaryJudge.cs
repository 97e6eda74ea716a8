using System.Globalization;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// The statistical canary judge, after Kayenta's NetflixACAJudge: validation → cleaning → classification → scoring,
/// each a pure stage.
/// <para><b>Cleaning</b> (per metric): NaN is dropped (<see cref="NanStrategy.Remove"/>) or becomes 0
/// (<see cref="NanStrategy.Replace"/>); ±∞ is always dropped (a rank test cannot place it meaningfully).</para>
/// <para><b>Classification</b> (Kayenta MannWhitneyClassifier), first rule that fires wins:</para>
/// <list type="number">
/// <item>a side is empty → NoData, or NoDataFailure when MustHaveData; on a critical metric it fails the canary.</item>
/// <item>the sorted samples are identical → Pass, estimate 0.</item>
/// <item>every value of both sides is the same → Pass, estimate 0 (R cannot test this, σ = 0; Kayenta passes it).</item>
/// <item>otherwise run <see cref="MannWhitney.Test"/>(canary, baseline) → estimate e, interval [l, u]; the no-change
/// band is ±b with <c>b = Tolerance·|e|</c> (Kayenta <c>calculateBounds</c>: a fraction of the Hodges-Lehmann estimate,
/// not of the baseline mean). Statistically higher when <c>l &gt; b</c>, lower when <c>u &lt; −b</c>, else Pass.
/// Example: e = 10, [4, 16], Tolerance 0.25 → b = 2.5, 4 &gt; 2.5 → higher; e = 10, [2, 18] → 2 ≤ 2.5 → Pass.</item>
/// <item>direction: a higher canary on a Decrease metric, or a lower one on an Increase metric, is a Pass.</item>
/// <item>effect size: higher is High only when effect ≥ AllowedIncrease; lower is Low only when effect ≤ AllowedDecrease.</item>
/// <item>critical: on a critical metric, High with effect ≥ CriticalIncrease or Low with effect ≤ CriticalDecrease fails the canary.</item>
/// </list>
/// <para><b>Scoring</b> (Kayenta WeightedSumScorer): group score = 100·Pass / (Pass + High + Low + NoDataFailure);
/// NoData is left out, and a group with nothing left is dropped from the summary without handing its weight on (so
/// missing data lowers the score, as in Kayenta). Groups without an explicit weight share <c>100 − Σ explicit</c>
/// equally. Summary = Σ score·weight/100, rounded to 2 decimals (half away from zero). Example: groups a = 100 (weight
/// 50), b = 50 and c = 0 sharing 50 → 25 each → 50 + 12.5 + 0 = 62.5. Then: any critical failure → 0; more than
/// MaxNoDataShare of the metrics with no data (NoData or NoDataFailure; a project rule, Kayenta has none) → 0.
/// Outcome: Pass if score ≥ PassThreshold, Marginal if ≥ MarginalThreshold, else Fail.</para>
/// </summary>
public static class CanaryJudge
{
    /// <summary>Group of metrics declared without one.</summary>
    public const string DefaultGroup = "default";

    public static MetricVerdict Classify(JudgeMetric metric, IReadOnlyList<double> baseline, IReadOnlyList<double> canary)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(canary);

        var b = Clean(baseline, metric.NanStrategy);
        var c = Clean(canary, metric.NanStrategy);
        MetricVerdict Verdict(MetricClassification label, bool critical, double? estimate, double? lower, double? upper,
            double? p, double? effect, string reason) =>
            new(metric.Name, metric.Group, label, critical, b.Count, c.Count, estimate, lower, upper, p, effect,
                $"{metric.Name}: {label} — {reason}");

        // Why first: without both sides there is nothing to compare; whether that fails is the config's call.
        if (b.Count == 0 || c.Count == 0)
        {
            var label = metric.MustHaveData ? MetricClassification.NoDataFailure : MetricClassification.NoData;
            var why = $"baseline has {b.Count} and canary {c.Count} values after cleaning (NaN {metric.NanStrategy}); rule: an empty side cannot be compared"
                + (metric.MustHaveData ? ", and the metric must have data" : "")
                + (metric.Critical ? "; critical metric without data fails the canary" : "");
            return Verdict(label, metric.Critical, null, null, null, null, null, why);
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
        var effect = Effect(metric.EffectMeasure, b, c, test.W);
        var band = metric.Tolerance * Math.Abs(test.Estimate);
        var evidence = $"estimate {F(test.Estimate)} in [{F(test.Lower)}, {F(test.Upper)}] at {F(metric.Confidence * 100)}%, "
            + $"band ±{F(band)} = {F(metric.Tolerance)}·|estimate|, p {F(test.PValue)}, {metric.EffectMeasure} {F(effect)}";
        MetricVerdict Result(MetricClassification label, bool critical, string rule) =>
            Verdict(label, critical, test.Estimate, test.Lower, test.Upper, test.PValue, effect, $"{evidence}; rule: {rule}");

        if (test.Lower > band)
        {
            var allowed = metric.AllowedIncrease ?? neutral;
            if (metric.Direction == MetricDirection.Decrease)
                return Result(MetricClassification.Pass, false, "canary is higher (lower bound > band) but the direction Decrease only fails a decrease");
            if (effect < allowed)
                return Result(MetricClassification.Pass, false, $"canary is higher but effect {F(effect)} < allowed increase {F(allowed)}");
            var limit = metric.CriticalIncrease ?? neutral;
            var critical = metric.Critical && effect >= limit;
            return Result(MetricClassification.High, critical,
                $"lower bound {F(test.Lower)} > band {F(band)} and effect {F(effect)} ≥ allowed increase {F(allowed)}"
                + (critical ? $"; critical: effect ≥ critical increase {F(limit)}" : ""));
        }

        if (test.Upper < -band)
        {
            var allowed = metric.AllowedDecrease ?? neutral;
            if (metric.Direction == MetricDirection.Increase)
                return Result(MetricClassification.Pass, false, "canary is lower (upper bound < −band) but the direction Increase only fails an increase");
            if (effect > allowed)
                return Result(MetricClassification.Pass, false, $"canary is lower but effect {F(effect)} > allowed decrease {F(allowed)}");
            var limit = metric.CriticalDecrease ?? neutral;
            var critical = metric.Critical && effect <= limit;
            return Result(MetricClassification.Low, critical,
                $"upper bound {F(test.Upper)} < −band {F(-band)} and effect {F(effect)} ≤ allowed decrease {F(allowed)}"
                + (critical ? $"; critical: effect ≤ critical decrease {F(limit)}" : ""));
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
            if (!(m.Confidence > 0 && m.Confidence < 1)) errors.Add(at + ".confidence", "must lie in (0, 1)");
            if (!(m.Tolerance >= 0 && double.IsFinite(m.Tolerance))) errors.Add(at + ".tolerance", "must be a finite number ≥ 0");
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
        if (!(config.MaxNoDataShare >= 0 && config.MaxNoDataShare <= 1)) errors.Add("maxNoDataShare", "must lie in [0, 1]");
        return errors;
    }

    /// <summary>The scoring stage alone, over verdicts already made (see the class comment for the rules).</summary>
    public static JudgeResult Score(JudgeConfig config, IReadOnlyList<MetricVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(verdicts);

        var groups = verdicts.GroupBy(v => v.Group ?? DefaultGroup, StringComparer.Ordinal).ToList();
        var explicitSum = config.GroupWeights.Values.Sum();
        var unweighted = groups.Count(g => !config.GroupWeights.ContainsKey(g.Key));
        var shared = unweighted > 0 ? (100 - explicitSum) / unweighted : 0;

        var groupScores = new Dictionary<string, double>(StringComparer.Ordinal);
        var parts = new List<string>();
        var summary = 0.0;
        foreach (var group in groups)
        {
            var passed = group.Count(v => v.Classification == MetricClassification.Pass);
            var counted = group.Count(v => v.Classification != MetricClassification.NoData);
            var weight = config.GroupWeights.TryGetValue(group.Key, out var w) ? w : shared;
            if (counted == 0)
            {
                parts.Add($"{group.Key}: no data, weight {F(weight)}% unused");
                continue;
            }

            var score = 100.0 * passed / counted;
            groupScores[group.Key] = score;
            summary += score * (weight / 100);
            parts.Add($"{group.Key}: {F(score)} ({passed}/{counted} pass) × {F(weight)}%");
        }

        summary = Math.Round(summary, 2, MidpointRounding.AwayFromZero);
        var detail = string.Join(", ", parts);

        var criticalFailures = verdicts.Where(v => v.Critical && v.Classification != MetricClassification.Pass).ToList();
        if (criticalFailures.Count > 0)
        {
            var names = string.Join(", ", criticalFailures.Select(v => $"{v.Name} ({v.Classification})"));
            return new JudgeResult(JudgeOutcome.Fail, 0, groupScores, verdicts,
                $"Fail: score 0 (would be {F(summary)}); rule: a critical metric failed: {names}");
        }

        var missing = verdicts.Count(v => v.Classification is MetricClassification.NoData or MetricClassification.NoDataFailure);
        if (verdicts.Count == 0 || (double)missing / verdicts.Count > config.MaxNoDataShare)
        {
            var share = verdicts.Count == 0 ? "no metrics" : $"{missing} of {verdicts.Count} metrics have no data";
            return new JudgeResult(JudgeOutcome.Fail, 0, groupScores, verdicts,
                $"Fail: score 0 (would be {F(summary)}); rule: {share}, more than the allowed share {F(config.MaxNoDataShare)}");
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
        return new JudgeResult(outcome, summary, groupScores, verdicts, $"{outcome}: score {F(summary)}; rule: {rule}; groups: {detail}");
    }

    private static List<double> Clean(IReadOnlyList<double> values, NanStrategy strategy) =>
        values.Select(v => double.IsNaN(v) && strategy == NanStrategy.Replace ? 0 : v).Where(double.IsFinite).ToList();

    private static double Effect(EffectMeasure measure, List<double> baseline, List<double> canary, double w)
    {
        if (measure == EffectMeasure.Cles) return w / ((double)canary.Count * baseline.Count);
        var baselineMean = baseline.Average();
        return baselineMean == 0 ? 1.0 : canary.Average() / baselineMean;
    }

    private static string F(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
