using System.Globalization;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// Judges an analysis run the way Argo Rollouts' analysis controller does (<c>analysis/analysis.go</c>,
/// <c>utils/evaluate/evaluate.go</c>, <c>utils/analysis/helpers.go</c>), as pure functions over finished measurements:
/// <list type="number">
/// <item><b>One measurement</b> (<see cref="Assess"/>, Argo's <c>EvaluateResult</c>): a provider error is Error; no
/// value is what <see cref="ThresholdMetric.OnNoData"/> says; otherwise the conditions decide. Neither condition:
/// Successful. Only a success condition: Successful when true, else Failed. Only a failure condition: Failed when true,
/// else Successful. Both: Failed when the failure condition is true (even if the success condition is too), Successful
/// when only the success condition is, Inconclusive when neither is. A condition that cannot be evaluated: Error.</item>
/// <item><b>Counting</b> (Argo's <c>runMeasurements</c>): Successful, Failed and Inconclusive each add one to Count and
/// their own counter and reset the consecutive-error counter; Error adds to Error and ConsecutiveError, not to Count.</item>
/// <item><b>Metric phase</b> after each measurement (Argo's <c>assessMetricStatus</c> and
/// <c>assessMetricFailureInconclusiveOrError</c>): Failed when failed &gt; failureLimit; Inconclusive when inconclusive &gt;
/// inconclusiveLimit; Error when consecutiveError &gt; consecutiveErrorLimit; else Successful when Count reached the
/// effective count; else Successful when the run is terminated ("run terminated": an unbounded metric ends well when
/// stopped); else Running. A metric that completes stops: later measurements are not counted. Each measurement moves
/// one counter, so at most one limit is crossed at a time; were several over (Argo checks them in turn, the last
/// overriding), Error wins over Inconclusive over Failed.</item>
/// <item><b>Run phase</b> (Argo's <c>assessRunStatus</c> with <c>IsTerminating</c> and <c>IsWorse</c>): a run is
/// terminating when terminated by the caller or when any metric is Failed, Error or Inconclusive; then every metric
/// still running is assessed as terminated (Successful unless a limit was crossed). The run is the worst phase of its
/// completed metrics in Argo's order Successful &lt; Inconclusive &lt; Error &lt; Failed; Running while any metric is
/// running and the run is not terminating; Successful when terminated before any metric completed.</item>
/// </list>
/// Worked example (failureLimit 1, count 3, success condition <c>result &lt; 5</c>): 1, 7, 2 → Successful
/// (1 failed ≤ 1, count 3 reached); 7, 8 → Failed after the second (2 &gt; 1), a third value is never counted.
/// </summary>
public static class AnalysisRunEvaluator
{
    /// <summary>Argo's order of completed phases, best first (<c>analysisStatusOrder</c>, Running/Pending left out).</summary>
    private static readonly AnalysisPhase[] BestToWorst =
        [AnalysisPhase.Successful, AnalysisPhase.Inconclusive, AnalysisPhase.Error, AnalysisPhase.Failed];

    /// <summary>Argo's <c>IsWorse</c>: whether <paramref name="candidate"/> ranks worse than <paramref name="current"/>.</summary>
    public static bool IsWorse(AnalysisPhase current, AnalysisPhase candidate) =>
        Array.IndexOf(BestToWorst, candidate) > Array.IndexOf(BestToWorst, current);

    /// <summary>
    /// Field errors in <paramref name="metric"/>, by Argo's <c>ValidateMetric</c> plus what this model adds: a name;
    /// parseable conditions; count ≥ 1 when given (Argo reads 0 as unset; here unset is null); interval &gt; 0 and
    /// required when count &gt; 1; limits ≥ 0; count ≥ failureLimit and ≥ inconclusiveLimit.
    /// </summary>
    public static Validated<ThresholdMetric> Validate(ThresholdMetric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(metric.Name)) errors.Add("name", "a metric needs a name");
        CheckCondition(errors, "successCondition", metric.SuccessCondition);
        CheckCondition(errors, "failureCondition", metric.FailureCondition);
        if (metric.Count is < 1) errors.Add("count", "count must be >= 1 (leave it out for Argo's default)");
        if (metric.Interval is { } interval && interval <= TimeSpan.Zero) errors.Add("interval", "interval must be positive");
        if (metric.Count > 1 && metric.Interval is null) errors.Add("interval", "interval must be specified when count > 1");
        if (metric.FailureLimit < 0) errors.Add("failureLimit", "failureLimit must be >= 0");
        if (metric.InconclusiveLimit < 0) errors.Add("inconclusiveLimit", "inconclusiveLimit must be >= 0");
        if (metric.ConsecutiveErrorLimit < 0) errors.Add("consecutiveErrorLimit", "consecutiveErrorLimit must be >= 0");
        if (metric.Count is { } count and >= 1)
        {
            if (count < metric.FailureLimit) errors.Add("count", "count must be >= failureLimit");
            if (count < metric.InconclusiveLimit) errors.Add("count", "count must be >= inconclusiveLimit");
        }

        return errors.Any ? Validated<ThresholdMetric>.Invalid(errors) : Validated<ThresholdMetric>.Valid(metric);
    }

    /// <summary>
    /// The phase of one finished measurement and why (Argo's <c>EvaluateResult</c>; see the class summary). Parses the
    /// metric's conditions on every call; <see cref="Evaluate(ThresholdMetric, IReadOnlyList{Measurement}, bool)"/>
    /// parses them once for all its measurements. An unparseable condition makes the measurement Error.
    /// </summary>
    public static MeasurementPhase Assess(ThresholdMetric metric, Measurement measurement, out string reason)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(measurement);
        if (!TryCompile(metric, out var conditions, out var invalid))
        {
            reason = invalid;
            return MeasurementPhase.Error;
        }

        return Assess(metric, conditions, measurement, out reason);
    }

    /// <summary>
    /// The metric's phase after <paramref name="measurements"/> (in the order taken), counted as Argo counts them.
    /// <paramref name="terminated"/>: the run was stopped after these measurements, so a metric still due more ends
    /// Successful unless a limit was crossed. An invalid spec is an Error metric, as Argo errors a run whose spec is invalid.
    /// </summary>
    public static MetricRunResult Evaluate(ThresholdMetric metric, IReadOnlyList<Measurement> measurements, bool terminated = false)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(measurements);

        var validated = Validate(metric);
        if (!validated.IsValid)
        {
            var why = "analysis spec invalid: " + string.Join("; ", validated.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
            return new MetricRunResult(metric.Name, AnalysisPhase.Error, 0, 0, 0, 0, 0, 0, [], why);
        }

        TryCompile(metric, out var conditions, out _);
        var tally = new Tally();
        var measured = new List<MeasuredValue>(measurements.Count);
        foreach (var measurement in measurements)
        {
            var phase = Assess(metric, conditions, measurement, out var why);
            measured.Add(new MeasuredValue(measurement, phase, why));
            tally.Add(phase);

            // Why stop here: Argo assesses after every measurement and takes no more once the metric has completed.
            var (status, reason) = AssessMetric(metric, tally, terminating: false);
            if (status != AnalysisPhase.Running)
            {
                var ignored = measurements.Count - measured.Count;
                if (ignored > 0)
                {
                    reason += string.Create(CultureInfo.InvariantCulture,
                        $"; {ignored} later measurement{(ignored == 1 ? " was" : "s were")} not counted: the metric had completed");
                }

                return tally.Result(metric.Name, status, measured, reason);
            }
        }

        if (measured.Count == 0)
        {
            // Argo: Pending while nothing was measured; Successful when told to stop before the first measurement.
            return terminated
                ? tally.Result(metric.Name, AnalysisPhase.Successful, measured, "run terminated before any measurement")
                : tally.Result(metric.Name, AnalysisPhase.Running, measured, "no measurement yet");
        }

        var (final, finalReason) = AssessMetric(metric, tally, terminated);
        return tally.Result(metric.Name, final, measured, finalReason);
    }

    /// <summary>
    /// The run's phase from its metrics' phases (Argo's <c>assessRunStatus</c>; see the class summary). Duplicate or
    /// no metrics make the run Error, as Argo's <c>ValidateMetrics</c> does.
    /// </summary>
    public static AnalysisRunResult Evaluate(
        IReadOnlyList<(ThresholdMetric Metric, IReadOnlyList<Measurement> Measurements)> metrics,
        bool terminated = false)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (metrics.Count == 0) return new AnalysisRunResult(AnalysisPhase.Error, [], "analysis spec invalid: no metrics specified");
        var duplicate = metrics.GroupBy(m => m.Metric.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return new AnalysisRunResult(AnalysisPhase.Error, [], $"analysis spec invalid: duplicate metric name '{duplicate.Key}'");
        }

        var results = metrics.Select(m => Evaluate(m.Metric, m.Measurements, terminated)).ToList();

        // Why a second pass: Argo's IsTerminating sees a Failed, Error or Inconclusive metric and stops the others on
        // the next reconcile; they are then assessed as terminated. Here both reconciles happen at once.
        var failing = results.FirstOrDefault(r => r.Phase is AnalysisPhase.Failed or AnalysisPhase.Error or AnalysisPhase.Inconclusive);
        var terminating = terminated || failing is not null;
        if (terminating && !terminated)
        {
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i].Phase == AnalysisPhase.Running)
                {
                    var stopped = Evaluate(metrics[i].Metric, metrics[i].Measurements, terminated: true);
                    results[i] = stopped with { Reason = $"{stopped.Reason} (metric '{failing!.Name}' completed {failing.Phase})" };
                }
            }
        }

        var running = results.Where(r => r.Phase == AnalysisPhase.Running).ToList();
        if (running.Count > 0)
        {
            return new AnalysisRunResult(AnalysisPhase.Running, results,
                "waiting on " + string.Join(", ", running.Select(r => $"'{r.Name}' ({r.Reason})")));
        }

        var worst = results[0];
        foreach (var result in results.Skip(1))
        {
            if (IsWorse(worst.Phase, result.Phase)) worst = result;
        }

        var reason = worst.Phase == AnalysisPhase.Successful
            ? (terminated ? "run terminated; " : "") + "all metrics successful"
            : $"metric \"{worst.Name}\" assessed {worst.Phase} due to {worst.Reason}";
        return new AnalysisRunResult(worst.Phase, results, reason);
    }

    private static (AnalysisPhase Phase, string Reason) AssessMetric(ThresholdMetric metric, Tally tally, bool terminating)
    {
        // Argo's assessMetricFailureInconclusiveOrError: checked in this order, the last one over its limit wins.
        (AnalysisPhase Phase, string Reason)? over = null;
        if (tally.Failed > metric.FailureLimit)
        {
            over = (AnalysisPhase.Failed, Invariant($"failed ({tally.Failed}) > failureLimit ({metric.FailureLimit})"));
        }

        if (tally.Inconclusive > metric.InconclusiveLimit)
        {
            over = (AnalysisPhase.Inconclusive, Invariant($"inconclusive ({tally.Inconclusive}) > inconclusiveLimit ({metric.InconclusiveLimit})"));
        }

        if (tally.ConsecutiveError > metric.ConsecutiveErrorLimit)
        {
            over = (AnalysisPhase.Error, Invariant($"consecutiveErrors ({tally.ConsecutiveError}) > consecutiveErrorLimit ({metric.ConsecutiveErrorLimit})"));
        }

        if (over is { } crossed) return crossed;

        // Argo: once the count is reached the counters no longer matter; they were within their limits above.
        if (metric.EffectiveCount is { } count && tally.Count >= count)
        {
            return (AnalysisPhase.Successful, Invariant($"count ({count}) reached: {tally.Successful} successful, {tally.Failed} failed, {tally.Inconclusive} inconclusive, {tally.Error} error"));
        }

        if (terminating) return (AnalysisPhase.Successful, Invariant($"run terminated after {tally.Count} measurement(s) within limits"));

        return (AnalysisPhase.Running, metric.EffectiveCount is { } due
            ? Invariant($"{tally.Count} of {due} measurements taken")
            : Invariant($"{tally.Count} measurements taken; runs until stopped"));
    }

    private static MeasurementPhase Assess(ThresholdMetric metric, Conditions conditions, Measurement measurement, out string reason)
    {
        if (measurement.Error is { } providerError)
        {
            reason = "provider error: " + providerError;
            return MeasurementPhase.Error;
        }

        if (measurement.Value is not { } value)
        {
            reason = "no data (onNoData: " + metric.OnNoData + ")";
            return metric.OnNoData switch
            {
                MissingDataPolicy.Fail => MeasurementPhase.Failed,
                MissingDataPolicy.Error => MeasurementPhase.Error,
                _ => MeasurementPhase.Inconclusive,
            };
        }

        var shown = value.ToString("R", CultureInfo.InvariantCulture);
        var success = false;
        var failure = false;
        if (conditions.Success is { } successCondition)
        {
            if (!successCondition.TryEvaluate(value, out success, out var error))
            {
                reason = "successCondition: " + error;
                return MeasurementPhase.Error;
            }
        }

        if (conditions.Failure is { } failureCondition)
        {
            if (!failureCondition.TryEvaluate(value, out failure, out var error))
            {
                reason = "failureCondition: " + error;
                return MeasurementPhase.Error;
            }
        }

        switch (conditions.Success, conditions.Failure)
        {
            case (null, null):
                reason = $"result {shown}: no condition, so successful";
                return MeasurementPhase.Successful;
            case (not null, null):
                reason = $"result {shown}: successCondition '{conditions.Success.Text}' is {Word(success)}";
                return success ? MeasurementPhase.Successful : MeasurementPhase.Failed;
            case (null, not null):
                reason = $"result {shown}: failureCondition '{conditions.Failure.Text}' is {Word(failure)}";
                return failure ? MeasurementPhase.Failed : MeasurementPhase.Successful;
        }

        reason = $"result {shown}: successCondition '{conditions.Success!.Text}' is {Word(success)}, failureCondition '{conditions.Failure!.Text}' is {Word(failure)}";
        if (failure) return MeasurementPhase.Failed;
        return success ? MeasurementPhase.Successful : MeasurementPhase.Inconclusive;
    }

    private static bool TryCompile(ThresholdMetric metric, out Conditions conditions, out string reason)
    {
        conditions = new Conditions(null, null);
        ConditionExpression? success = null;
        ConditionExpression? failure = null;
        if (!string.IsNullOrEmpty(metric.SuccessCondition) && !ConditionExpression.TryParse(metric.SuccessCondition, out success, out var e1))
        {
            reason = $"successCondition invalid at {e1}";
            return false;
        }

        if (!string.IsNullOrEmpty(metric.FailureCondition) && !ConditionExpression.TryParse(metric.FailureCondition, out failure, out var e2))
        {
            reason = $"failureCondition invalid at {e2}";
            return false;
        }

        conditions = new Conditions(success, failure);
        reason = "";
        return true;
    }

    private static void CheckCondition(ValidationErrors errors, string field, string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        if (!ConditionExpression.TryParse(text, out _, out var error)) errors.Add(field, $"invalid condition at {error}");
    }

    private static string Word(bool value) => value ? "true" : "false";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Conditions(ConditionExpression? Success, ConditionExpression? Failure);

    /// <summary>Argo's MetricResult counters, moved as its runMeasurements moves them.</summary>
    private sealed class Tally
    {
        public int Count { get; private set; }

        public int Successful { get; private set; }

        public int Failed { get; private set; }

        public int Inconclusive { get; private set; }

        public int Error { get; private set; }

        public int ConsecutiveError { get; private set; }

        public void Add(MeasurementPhase phase)
        {
            switch (phase)
            {
                case MeasurementPhase.Error:
                    Error++;
                    ConsecutiveError++;
                    return;
                case MeasurementPhase.Successful:
                    Successful++;
                    break;
                case MeasurementPhase.Failed:
                    Failed++;
                    break;
                default:
                    Inconclusive++;
                    break;
            }

            Count++;
            ConsecutiveError = 0;
        }

        public MetricRunResult Result(string name, AnalysisPhase phase, IReadOnlyList<MeasuredValue> measured, string reason) =>
            new(name, phase, Count, Successful, Failed, Inconclusive, Error, ConsecutiveError, measured, reason);
    }
}
