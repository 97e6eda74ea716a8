using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>The declared judge (wire shape) as the Domain judge's configuration, validated field by field; and its verdict as the API shows it.</summary>
public static class JudgeMapping
{
    public const int MaxMetrics = 50;

    /// <summary>The configuration, or null with the field errors added (paths under <paramref name="prefix"/>).</summary>
    public static JudgeConfig? ToConfig(JudgeDeclaration judge, string prefix, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        var metrics = new List<JudgeMetric>();
        if (judge.Metrics is not { Count: > 0 } declared)
        {
            errors.Add(prefix + "metrics", "a judge needs at least one metric");
            declared = [];
        }
        else if (declared.Count > MaxMetrics)
        {
            errors.Add(prefix + "metrics", $"at most {MaxMetrics} metrics");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < declared.Count; i++)
        {
            var at = $"{prefix}metrics[{i}].";
            var m = declared[i];
            if (m is null)
            {
                errors.Add($"{prefix}metrics[{i}]", "must be a metric");
                continue;
            }

            if (m.Name is null || !Names.IsLabel(m.Name, "x")) errors.Add(at + "name", "is required: a metric name hosts report (up to 63 letters, digits, '.', '-', '_')");
            else if (!names.Add(m.Name)) errors.Add(at + "name", $"'{m.Name}' is declared twice");
            var groups = Groups(m, at, errors);
            var direction = Parse(m.Direction, MetricDirection.Either, at + "direction", errors, "increase, decrease or either");
            var nan = Parse(m.NanStrategy, NanStrategy.Remove, at + "nanStrategy", errors, "remove or replace");
            var effect = EffectSize(m, at, errors);
            var outliers = Parse(m.Outliers?.Strategy, OutlierStrategy.Keep, at + "outliers.strategy", errors, "keep or remove");
            if (m.Outliers?.OutlierFactor is { } factor && (!double.IsFinite(factor) || factor is <= 0 or > 100))
                errors.Add(at + "outliers.outlierFactor", "must be above 0 and at most 100 (Kayenta's IQR factor, default 3)");
            ValidateQuery(m.Query, m.Provider, at, errors);
            if (m.Tolerance is { } tolerance && (!double.IsFinite(tolerance) || tolerance is < 0 or > 10)) errors.Add(at + "tolerance", "must be from 0 to 10");
            metrics.Add(new JudgeMetric
            {
                Name = m.Name ?? string.Empty,
                Groups = groups,
                Direction = direction,
                NanStrategy = nan,
                Critical = m.Critical ?? false,
                MustHaveData = m.MustHaveData ?? false,
                Muted = m.Muted ?? false,
                EffectMeasure = effect.Measure,
                AllowedIncrease = effect.AllowedIncrease,
                AllowedDecrease = effect.AllowedDecrease,
                CriticalIncrease = effect.CriticalIncrease,
                CriticalDecrease = effect.CriticalDecrease,
                OutlierStrategy = outliers,
                OutlierFactor = m.Outliers?.OutlierFactor ?? JudgeMetric.KayentaOutlierFactor,
                Tolerance = m.Tolerance ?? judge.Tolerance ?? JudgeMetric.KayentaTolerance,
                Confidence = judge.ConfLevel ?? JudgeMetric.KayentaConfidence,
            });
        }

        if (judge.Tolerance is { } judgeTolerance && (!double.IsFinite(judgeTolerance) || judgeTolerance is < 0 or > 10))
            errors.Add(prefix + "tolerance", "must be from 0 to 10 (Kayenta's default 0.25)");
        if (judge.ConfLevel is { } confidence && (!double.IsFinite(confidence) || confidence is < 0.5 or >= 1))
            errors.Add(prefix + "confLevel", "must be at least 0.5 and below 1 (Kayenta's default 0.98)");

        foreach (var (group, weight) in judge.GroupWeights ?? new Dictionary<string, double>())
        {
            if (!double.IsFinite(weight) || weight is < 0 or > 100) errors.Add($"{prefix}groupWeights.{group}", "must be from 0 to 100");
        }

        if ((judge.GroupWeights?.Values.Where(double.IsFinite).Sum() ?? 0) > 100) errors.Add(prefix + "groupWeights", "weights add up to more than 100");
        var pass = judge.PassThreshold ?? 95;
        var marginal = judge.MarginalThreshold ?? 75;
        if (!double.IsFinite(pass) || pass is < 0 or > 100) errors.Add(prefix + "passThreshold", "must be from 0 to 100");
        if (!double.IsFinite(marginal) || marginal is < 0 or > 100 || marginal > pass) errors.Add(prefix + "marginalThreshold", "must be from 0 to 100 and at most passThreshold");

        if (errors.Count > before)
        {
            return null;
        }

        var config = new JudgeConfig
        {
            Metrics = metrics,
            GroupWeights = judge.GroupWeights ?? new Dictionary<string, double>(),
            PassThreshold = pass,
            MarginalThreshold = marginal,
        };

        // Whatever else the judge itself refuses, named under the same prefix.
        foreach (var (field, messages) in CanaryJudge.Validate(config).ToDictionary())
        {
            foreach (var message in messages) errors.Add(prefix + field, message);
        }

        return errors.Count > before ? null : config;
    }

    /// <summary><c>groups</c> (Kayenta) or the shorthand <c>group</c>; neither puts the metric in the default group.</summary>
    private static IReadOnlyList<string> Groups(JudgeMetricDeclaration m, string at, ValidationErrors errors)
    {
        if (m.Group is not null && m.Groups is not null)
        {
            errors.Add(at + "groups", "declare either group or groups, not both");
            return [];
        }

        if (m.Groups is { } groups)
        {
            // Why refused: Kayenta leaves a metric with no group out of every group score; the engine never drops a metric silently.
            if (groups.Count == 0) errors.Add(at + "groups", "must name at least one group (or leave it out for the default group)");
            for (var g = 0; g < groups.Count; g++)
            {
                if (groups[g] is null || !Names.IsLabel(groups[g], "x")) errors.Add($"{at}groups[{g}]", "must be a group name");
            }

            if (groups.Distinct(StringComparer.Ordinal).Count() != groups.Count) errors.Add(at + "groups", "names a group twice");
            return groups;
        }

        if (m.Group is not null && !Names.IsLabel(m.Group, "x")) errors.Add(at + "group", "must be a group name");
        return m.Group is null ? [] : [m.Group];
    }

    private sealed record Effect(EffectMeasure Measure, double? AllowedIncrease, double? AllowedDecrease, double? CriticalIncrease, double? CriticalDecrease);

    /// <summary>
    /// Kayenta's effectSize block; the flat allowedIncrease / allowedDecrease are the older shorthand (mean ratio only).
    /// Limits must sit on the side of the neutral value they guard (mean ratio 1, CLES 0.5): an increase limit at or
    /// above it, a decrease limit at or below it; anything else would call a change the wrong way High or Low.
    /// </summary>
    private static Effect EffectSize(JudgeMetricDeclaration m, string at, ValidationErrors errors)
    {
        var e = m.EffectSize;
        var measure = Parse(e?.Measure, EffectMeasure.MeanRatio, at + "effectSize.measure", errors, "meanRatio or cles");
        if (e is not null && (m.AllowedIncrease is not null || m.AllowedDecrease is not null))
            errors.Add(at + "effectSize", "declare allowedIncrease and allowedDecrease in effectSize or on the metric, not both");
        var allowedIncrease = e?.AllowedIncrease ?? m.AllowedIncrease;
        var allowedDecrease = e?.AllowedDecrease ?? m.AllowedDecrease;
        var where = e is null ? at : at + "effectSize.";
        var (neutral, top, name) = measure == EffectMeasure.Cles ? (0.5, 1.0, "a CLES") : (1.0, double.PositiveInfinity, "a mean ratio");
        void Up(string field, double? value)
        {
            if (value is { } v && (!double.IsFinite(v) || v < neutral || v > top))
                errors.Add(where + field, measure == EffectMeasure.Cles ? $"must be {name} from 0.5 to 1" : $"must be {name} of 1 or more");
        }

        void Down(string field, double? value)
        {
            if (value is { } v && (!double.IsFinite(v) || v > neutral || (measure == EffectMeasure.Cles ? v < 0 : v <= 0)))
                errors.Add(where + field, measure == EffectMeasure.Cles ? $"must be {name} from 0 to 0.5" : $"must be {name} above 0 and at most 1");
        }

        Up("allowedIncrease", allowedIncrease);
        Down("allowedDecrease", allowedDecrease);
        Up("criticalIncrease", e?.CriticalIncrease);
        Down("criticalDecrease", e?.CriticalDecrease);
        return new Effect(measure, allowedIncrease, allowedDecrease, e?.CriticalIncrease, e?.CriticalDecrease);
    }

    public const int MaxQueryLength = 2_000;

    /// <summary>A provider query is declared whole (query and provider) or not at all; the provider is a server-side name.</summary>
    public static void ValidateQuery(string? query, string? provider, string at, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (query is null && provider is null) return;
        if (string.IsNullOrWhiteSpace(query) || query.Length > MaxQueryLength) errors.Add(at + "query", $"must be a PromQL template of 1 to {MaxQueryLength} characters");
        if (provider is null || !Names.IsDnsLabel(provider)) errors.Add(at + "provider", "must name a metric provider configured on the server");
    }

    /// <summary>Validates the judge of every canary analysis step of a strategy.</summary>
    public static void ValidateJudges(RolloutStrategySpec strategy, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        var steps = strategy.Steps ?? [];
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i]?.Analysis?.Judge is { } judge)
            {
                ToConfig(judge, $"strategy.steps[{i}].analysis.judge.", errors);
            }
        }
    }

    /// <summary>Judges the samples with a configuration that was validated when it was declared.</summary>
    public static JudgeVerdictView Judge(JudgeDeclaration judge, IReadOnlyDictionary<string, AnalysisSamples> samples)
    {
        var errors = new ValidationErrors();
        var config = ToConfig(judge, "judge.", errors) ?? throw new InvalidOperationException("the judge was validated when it was declared");
        var input = config.Metrics.ToDictionary(
            m => m.Name,
            m => samples.TryGetValue(m.Name, out var s) ? (s.Baseline, s.Canary) : ((IReadOnlyList<double>)[], (IReadOnlyList<double>)[]),
            StringComparer.Ordinal);
        return View(CanaryJudge.Judge(config, input));
    }

    public static JudgeVerdictView View(JudgeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new JudgeVerdictView
        {
            Outcome = result.Outcome.ToString(),
            Score = result.Score,
            GroupScores = result.GroupScores,
            Reason = result.Reason,
            NoData = result.Metrics.Count > 0 && result.Metrics.All(m => m.Classification is MetricClassification.NoData or MetricClassification.NoDataFailure),
            Metrics = result.Metrics.Select(m => new MetricVerdictView
            {
                Name = m.Name,
                Group = m.Groups.Count > 0 ? m.Groups[0] : null,
                Groups = m.Groups,
                Muted = m.Muted,
                MeanRatio = Finite(m.MeanRatio),
                Classification = m.Classification.ToString(),
                Critical = m.Critical,
                BaselineCount = m.BaselineCount,
                CanaryCount = m.CanaryCount,
                Estimate = Finite(m.Estimate),
                Lower = Finite(m.Lower),
                Upper = Finite(m.Upper),
                PValue = Finite(m.PValue),
                EffectSize = Finite(m.EffectSize),
                Reason = m.Reason,
            }).ToList(),
        };
    }

    /// <summary>JSON has no NaN or infinity: an undefined number is shown as null.</summary>
    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static T Parse<T>(string? value, T fallback, string field, ValidationErrors errors, string allowed)
        where T : struct, Enum
    {
        if (value is null) return fallback;
        if (Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)) return parsed;
        errors.Add(field, $"must be {allowed}");
        return fallback;
    }
}
