using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Declared threshold metrics (wire shape) as the Domain analysis-run evaluator's metrics, validated; and its result as the API shows it.</summary>
public static class AnalysisRunMapping
{
    public const int MaxMetrics = 20;
    public const int MaxCount = 1_000;

    public const int MaxDryRunRules = 20;

    /// <summary>
    /// The metric, or null with field errors. Inside a step of <paramref name="stepDuration"/>, a missing count or
    /// interval is filled so the measurements span the step after the initial delay (count = ⌊(duration − delay) /
    /// interval⌋, or interval = (duration − delay) / count). A count of 0 is Argo's unset count (its
    /// <c>EffectiveCount</c> reads 0 as unset).
    /// </summary>
    public static ThresholdMetric? ToMetric(ThresholdMetricDeclaration d, string prefix, ValidationErrors errors, TimeSpan? stepDuration = null)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        if (d.Source is not null && !Names.IsLabel(d.Source, "x")) errors.Add(prefix + "source", "must be a metric name hosts report");
        JudgeMapping.ValidateQuery(d.Query, d.Provider, prefix, errors);
        if (d.IntervalSeconds is < 1 or > 86_400) errors.Add(prefix + "intervalSeconds", "must be from 1 to 86400");
        if (d.Count is > MaxCount) errors.Add(prefix + "count", $"must be at most {MaxCount}");
        if (d.InitialDelaySeconds is < 0 or > 86_400) errors.Add(prefix + "initialDelaySeconds", "must be from 0 to 86400");
        var policy = MissingDataPolicy.Inconclusive;
        if (d.OnNoData is { } onNoData && (!Enum.TryParse(onNoData, ignoreCase: true, out policy) || !Enum.IsDefined(policy) || int.TryParse(onNoData, out _)))
            errors.Add(prefix + "onNoData", "must be inconclusive, fail or error");

        var interval = d.IntervalSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var delay = d.InitialDelaySeconds is > 0 ? TimeSpan.FromSeconds(d.InitialDelaySeconds.Value) : (TimeSpan?)null;
        var count = d.Count is 0 ? null : d.Count;
        if (stepDuration is { } duration && duration > TimeSpan.Zero)
        {
            var span = duration - (delay ?? TimeSpan.Zero);
            if (span <= TimeSpan.Zero)
            {
                errors.Add(prefix + "initialDelaySeconds", "must be shorter than the analysis step's durationSeconds: no measurement could be taken");
                span = duration;
            }

            count ??= interval is { } i ? Math.Max(1, (int)(span / i)) : 1;
            interval ??= span / count.Value;
        }

        var metric = new ThresholdMetric
        {
            Name = d.Name ?? string.Empty,
            SuccessCondition = d.SuccessCondition,
            FailureCondition = d.FailureCondition,
            Count = count,
            Interval = interval,
            FailureLimit = d.FailureLimit ?? 0,
            InconclusiveLimit = d.InconclusiveLimit ?? 0,
            ConsecutiveErrorLimit = d.ConsecutiveErrorLimit ?? 4,
            ConsecutiveSuccessLimit = d.ConsecutiveSuccessLimit ?? 0,
            InitialDelay = delay,
            OnNoData = policy,
        };
        foreach (var (field, messages) in AnalysisRunEvaluator.Validate(metric).Errors)
        {
            foreach (var message in messages) errors.Add(prefix + field, message);
        }

        return errors.Count > before ? null : metric;
    }

    /// <summary>Validates the threshold metrics of every analysis step of a strategy.</summary>
    public static void ValidateRuns(RolloutStrategySpec strategy, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        var steps = strategy.Steps ?? [];
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i]?.Analysis is not { Metrics: { } metrics } analysis) continue;
            var at = $"strategy.steps[{i}].analysis.metrics";
            if (metrics.Count > MaxMetrics) errors.Add(at, $"at most {MaxMetrics} metrics");
            var duration = analysis.DurationSeconds is > 0 ? TimeSpan.FromSeconds(analysis.DurationSeconds.Value) : (TimeSpan?)null;
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var k = 0; k < metrics.Count; k++)
            {
                if (metrics[k] is not { } metric) errors.Add($"{at}[{k}]", "must be a metric");
                else if (ToMetric(metric, $"{at}[{k}].", errors, duration) is { } parsed && !names.Add(parsed.Name))
                    errors.Add($"{at}[{k}].name", $"'{parsed.Name}' is declared twice");
            }

            ValidateDryRun(analysis.DryRun, metrics.Where(m => m?.Name is not null).Select(m => m!.Name!).ToList(), $"strategy.steps[{i}].analysis.", errors);
        }
    }

    /// <summary>Argo's dry-run rules as regular expressions, or field errors (<c>{prefix}dryRun[k].metricName</c>).</summary>
    public static IReadOnlyList<string> ValidateDryRun(IReadOnlyList<DryRunDeclaration?>? rules, IReadOnlyCollection<string> metricNames, string prefix, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(metricNames);
        ArgumentNullException.ThrowIfNull(errors);
        if (rules is null) return [];
        if (rules.Count > MaxDryRunRules)
        {
            errors.Add(prefix + "dryRun", $"at most {MaxDryRunRules} rules");
            return [];
        }

        var patterns = rules.Select(r => r?.MetricName ?? string.Empty).ToList();
        foreach (var (field, messages) in AnalysisRunEvaluator.ValidateDryRun(patterns, metricNames).ToDictionary())
        {
            foreach (var message in messages) errors.Add(prefix + field, message);
        }

        return patterns;
    }

    public static AnalysisRunView View(AnalysisRunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new AnalysisRunView
        {
            Phase = result.Phase.ToString(),
            Reason = result.Reason,
            Metrics = result.Metrics.Select(ViewMetric).ToList(),
            Summary = ViewSummary(result.Summary),
            DryRunSummary = ViewSummary(result.DryRunSummary),
        };
    }

    private static RunSummaryView ViewSummary(RunSummary s) => new()
    {
        Count = s.Count,
        Successful = s.Successful,
        Failed = s.Failed,
        Inconclusive = s.Inconclusive,
        Error = s.Error,
    };

    public static MetricRunView ViewMetric(MetricRunResult m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new MetricRunView
        {
            Name = m.Name,
            Phase = m.Phase.ToString(),
            Count = m.Count,
            Successful = m.Successful,
            Failed = m.Failed,
            Inconclusive = m.Inconclusive,
            Error = m.Error,
            ConsecutiveError = m.ConsecutiveError,
            Measurements = m.Measurements.Select(x => new MeasurementView
            {
                Value = x.Input.Values is null && x.Input.Value is { } v && double.IsFinite(v) ? v : null,
                Error = x.Input.Error,
                Phase = x.Phase.ToString(),
                Reason = x.Reason,
                Result = x.Input.Error is null && !x.Input.NoData ? AnalysisRunEvaluator.Show(x.Input.Result) : null,
            }).ToList(),
            Reason = m.Reason,
            ConsecutiveSuccess = m.ConsecutiveSuccess,
            DryRun = m.DryRun,
        };
    }
}
