using System.Globalization;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>
/// Judges an analysis run the way Argo Rollouts' analysis controller does, as pure functions over measurements. Sources
/// (argoproj/argo-rollouts at 9f8d111d): <c>analysis/analysis.go</c> (A), <c>utils/evaluate/evaluate.go</c> (E),
/// <c>utils/analysis/helpers.go</c> (H), <c>utils/analysis/factory.go</c> (F), <c>utils/defaults/defaults.go</c> (D).
/// <list type="number">
/// <item><b>One measurement</b> (<see cref="Assess"/>, E:18-58 <c>EvaluateResult</c>): a provider error is Error; no
/// value at all is what <see cref="ThresholdMetric.OnNoData"/> says; otherwise the conditions decide over <c>result</c>
/// (a number, NaN and ±Inf included, or a vector read as <c>result[0]</c>). Neither condition: Successful. Only a
/// success condition: Successful when true, else Failed. Only a failure condition: Failed when true, else Successful.
/// Both: Failed when the failure condition is true (even if the success condition is too), Successful when only the
/// success condition is, Inconclusive when neither is. A condition that cannot be evaluated for this result (an index
/// out of range, an empty vector, a vector compared as a number): Error (E:24-33), counted against
/// consecutiveErrorLimit like a provider error. A measurement in flight is Running and not counted.</item>
/// <item><b>Counting</b> (A:378-401 <c>runMeasurements</c>): Successful, Failed and Inconclusive each add one to Count
/// and their own counter and reset the consecutive-error counter; Successful adds to ConsecutiveSuccess, anything else
/// resets it; Error adds to Error and ConsecutiveError, not to Count.</item>
/// <item><b>Metric phase</b> after each measurement (A:579-656 <c>assessMetricStatus</c>, A:658-689
/// <c>assessMetricFailureInconclusiveOrError</c>): no measurement → Pending (Successful when terminating); the last in
/// flight → Running; Failed when failureLimit ≥ 0 and failed &gt; failureLimit; Inconclusive when inconclusive &gt;
/// inconclusiveLimit; Error when consecutiveError &gt; consecutiveErrorLimit (default 4, D:37); Successful when
/// consecutiveSuccessLimit &gt; 0 was reached in a row; when Count reached the effective count: Inconclusive if
/// consecutiveSuccessLimit is on and failureLimit ≥ 0, Failed if it is on and failureLimit is -1, else Successful;
/// else Successful when the run is terminating (an unbounded metric ends well when stopped); else Running. A metric that
/// completes stops: later measurements are not counted. Were several limits over (one measurement moves one counter, so
/// never at once), Argo checks them in turn and the last wins: Error over Inconclusive over Failed.</item>
/// <item><b>Run phase</b> (A:436-577 <c>assessRunStatus</c>, H:84-101 <c>IsTerminating</c>, H:47-71 <c>IsWorse</c>): a
/// run is terminating when terminated by the caller or when any metric that is not a dry run is Failed, Error or
/// Inconclusive; then every metric still running is assessed as terminated. The run is the worst phase of its completed
/// metrics that are not dry runs, in Argo's order Successful &lt; Running &lt; Pending &lt; Inconclusive &lt; Error &lt;
/// Failed; Running while any metric is pending or running and the run is not terminating; Successful when terminated
/// before anything completed, or when only dry-run metrics completed. Dry-run metrics (H:125-146
/// <c>GetDryRunMetrics</c>: each rule a regular expression matched anywhere in the name, and each must match a metric)
/// are measured, shown and summed in their own summary, and never decide or stop the run.</item>
/// </list>
/// Worked example (failureLimit 1, count 3, success condition <c>result &lt; 5</c>): 1, 7, 2 → Successful
/// (1 failed ≤ 1, count 3 reached); 7, 8 → Failed after the second (2 &gt; 1), a third value is never counted.
/// </summary>
public static class AnalysisRunEvaluator
{
    /// <summary>Argo's <c>analysisStatusOrder</c>, best first (helpers.go:47-55).</summary>
    private static readonly AnalysisPhase[] BestToWorst =
    [
        AnalysisPhase.Successful, AnalysisPhase.Running, AnalysisPhase.Pending,
        AnalysisPhase.Inconclusive, AnalysisPhase.Error, AnalysisPhase.Failed,
    ];

    /// <summary>Argo's <c>IsWorse</c>: whether <paramref name="candidate"/> ranks worse than <paramref name="current"/>.</summary>
    public static bool IsWorse(AnalysisPhase current, AnalysisPhase candidate) =>
        Array.IndexOf(BestToWorst, candidate) > Array.IndexOf(BestToWorst, current);

    /// <summary>Whether <paramref name="phase"/> is final (Argo's <c>AnalysisPhase.Completed</c>).</summary>
    public static bool IsCompleted(AnalysisPhase phase) =>
        phase is AnalysisPhase.Successful or AnalysisPhase.Failed or AnalysisPhase.Inconclusive or AnalysisPhase.Error;

    /// <summary>
    /// Field errors in <paramref name="metric"/>, by Argo's <c>ValidateMetric</c> (factory.go:149-215) plus what this
    /// model adds: a name; parseable conditions; count ≥ 1 when given (Argo reads 0 as unset; here unset is null);
    /// interval &gt; 0 and required when count &gt; 1; failureLimit ≥ -1, -1 only with consecutiveSuccessLimit &gt; 0;
    /// other limits ≥ 0; count ≥ failureLimit + consecutiveSuccessLimit (both on) or ≥ consecutiveSuccessLimit
    /// (failureLimit -1), and ≥ inconclusiveLimit; initialDelay ≥ 0.
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
        if (metric.InitialDelay is { } delay && delay < TimeSpan.Zero) errors.Add("initialDelay", "initialDelay must be >= 0");
        if (metric.ConsecutiveSuccessLimit < 0) errors.Add("consecutiveSuccessLimit", "consecutiveSuccessLimit must be >= 0");
        if (metric.FailureLimit < -1) errors.Add("failureLimit", "failureLimit must be >= 0, or -1 to be disabled");
        if (metric.FailureLimit == -1 && metric.ConsecutiveSuccessLimit == 0)
        {
            errors.Add("failureLimit", "failureLimit and consecutiveSuccessLimit cannot both be disabled");
        }

        if (metric.InconclusiveLimit < 0) errors.Add("inconclusiveLimit", "inconclusiveLimit must be >= 0");
        if (metric.ConsecutiveErrorLimit < 0) errors.Add("consecutiveErrorLimit", "consecutiveErrorLimit must be >= 0");
        if (metric.Count is { } count and >= 1 && metric.ConsecutiveSuccessLimit >= 0)
        {
            if (metric.FailureLimit >= 0 && count < metric.FailureLimit + metric.ConsecutiveSuccessLimit)
            {
                errors.Add("count", Invariant($"count ({count}) must be >= failureLimit + consecutiveSuccessLimit ({metric.FailureLimit} + {metric.ConsecutiveSuccessLimit}) if both >= 0"));
            }
            else if (metric.FailureLimit < 0 && count < metric.ConsecutiveSuccessLimit)
            {
                errors.Add("count", "count must be >= consecutiveSuccessLimit");
            }

            if (count < metric.InconclusiveLimit) errors.Add("count", "count must be >= inconclusiveLimit");
        }

        return errors.Any ? Validated<ThresholdMetric>.Invalid(errors) : Validated<ThresholdMetric>.Valid(metric);
    }

    /// <summary>
    /// Field errors in a run's dry-run rules (Argo's <c>validateDryRunMetrics</c>, helpers.go:474-483, and
    /// <c>GetDryRunMetrics</c>, helpers.go:125-146): each rule a valid regular expression, no rule twice, each matching
    /// at least one of <paramref name="metricNames"/>. Keys are <c>dryRun[i].metricName</c>.
    /// </summary>
    public static ValidationErrors ValidateDryRun(IReadOnlyList<string> rules, IReadOnlyCollection<string> metricNames)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(metricNames);
        var errors = new ValidationErrors();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var field = Invariant($"dryRun[{i}].metricName");
            var rule = rules[i];
            if (string.IsNullOrEmpty(rule))
            {
                errors.Add(field, "is required: a regular expression over metric names ('.*' for every metric)");
                continue;
            }

            if (!seen.Add(rule)) errors.Add(field, $"two dry-run rules have the same name '{rule}'");
            if (Compile(rule) is not { } regex)
            {
                errors.Add(field, $"'{rule}' is not a valid regular expression (Argo matches it with Go's regexp; use '.*' for every metric)");
                continue;
            }

            if (!metricNames.Any(name => Matches(regex, name)))
            {
                errors.Add(field, $"rule '{rule}' didn't match any metric name(s)");
            }
        }

        return errors;
    }

    /// <summary>The names of <paramref name="metricNames"/> that some rule matches (anywhere in the name, as Go's <c>regexp.MatchString</c>).</summary>
    public static IReadOnlySet<string> DryRunMetrics(IReadOnlyList<string> rules, IEnumerable<string> metricNames)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(metricNames);
        var compiled = rules.Select(Compile).OfType<System.Text.RegularExpressions.Regex>().ToList();
        return metricNames.Where(name => compiled.Any(r => Matches(r, name))).ToHashSet(StringComparer.Ordinal);
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
            if (measurement.InFlight)
            {
                // Argo (A:592-596): an in-flight last measurement keeps the metric Running, terminating or not; it is
                // not counted, and nothing after it can have been taken.
                measured.Add(new MeasuredValue(measurement, MeasurementPhase.Running, "measurement in flight"));
                var after = measurements.Count - measured.Count;
                return tally.Result(metric.Name, AnalysisPhase.Running, measured, Invariant(
                    $"a measurement is in flight after {tally.Count} counted{(after > 0 ? $"; {after} later measurement(s) not counted: only the last may be in flight" : "")}"));
            }

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
                    reason += Invariant($"; {ignored} later measurement{(ignored == 1 ? " was" : "s were")} not counted: the metric had completed");
                }

                return tally.Result(metric.Name, status, measured, reason);
            }
        }

        if (measured.Count == 0)
        {
            // Argo (A:584-590): Pending while nothing was measured; Successful when told to stop before the first measurement.
            return terminated
                ? tally.Result(metric.Name, AnalysisPhase.Successful, measured, "run terminated before any measurement")
                : tally.Result(metric.Name, AnalysisPhase.Pending, measured, metric.InitialDelay is { } delay && delay > TimeSpan.Zero
                    ? Invariant($"no measurement yet (initialDelay {delay.TotalSeconds}s)")
                    : "no measurement yet");
        }

        var (final, finalReason) = AssessMetric(metric, tally, terminated);
        return tally.Result(metric.Name, final, measured, finalReason);
    }

    /// <summary>
    /// The run's phase from its metrics' phases (Argo's <c>assessRunStatus</c>; see the class summary). Duplicate or
    /// no metrics, or dry-run rules that do not hold, make the run Error, as Argo's <c>ValidateMetrics</c> and
    /// <c>GetDryRunMetrics</c> do (A:68-86). <paramref name="dryRun"/>: Argo's <c>dryRun[].metricName</c> rules.
    /// </summary>
    public static AnalysisRunResult Evaluate(
        IReadOnlyList<(ThresholdMetric Metric, IReadOnlyList<Measurement> Measurements)> metrics,
        bool terminated = false,
        IReadOnlyList<string>? dryRun = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (metrics.Count == 0) return new AnalysisRunResult(AnalysisPhase.Error, [], "analysis spec invalid: no metrics specified");
        var duplicate = metrics.GroupBy(m => m.Metric.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return new AnalysisRunResult(AnalysisPhase.Error, [], $"analysis spec invalid: duplicate metric name '{duplicate.Key}'");
        }

        var rules = dryRun ?? [];
        var ruleErrors = ValidateDryRun(rules, metrics.Select(m => m.Metric.Name).ToList());
        if (ruleErrors.Any)
        {
            return new AnalysisRunResult(AnalysisPhase.Error, [], "analysis spec invalid: "
                + string.Join("; ", ruleErrors.ToDictionary().Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
        }

        var dry = DryRunMetrics(rules, metrics.Select(m => m.Metric.Name));
        var results = metrics.Select(m => Evaluate(m.Metric, m.Measurements, terminated) with { DryRun = dry.Contains(m.Metric.Name) }).ToList();

        // Why a second pass: Argo's IsTerminating sees a Failed, Error or Inconclusive metric that is not a dry run and
        // stops the others on the next reconcile; they are then assessed as terminated. Here both reconciles happen at once.
        var failing = results.FirstOrDefault(r => !r.DryRun && r.Phase is AnalysisPhase.Failed or AnalysisPhase.Error or AnalysisPhase.Inconclusive);
        var terminating = terminated || failing is not null;
        if (terminating && !terminated)
        {
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i].Phase is AnalysisPhase.Running or AnalysisPhase.Pending)
                {
                    var stopped = Evaluate(metrics[i].Metric, metrics[i].Measurements, terminated: true) with { DryRun = results[i].DryRun };
                    results[i] = stopped with { Reason = $"{stopped.Reason} (metric '{failing!.Name}' completed {failing.Phase})" };
                }
            }
        }

        // A:469-546: the worst completed phase of the deciding metrics; dry-run metrics only make an empty worst Successful.
        AnalysisPhase? worst = null;
        MetricRunResult? worstMetric = null;
        var everythingCompleted = true;
        var summary = new int[5];
        var drySummary = new int[5];
        foreach (var result in results)
        {
            (result.DryRun ? drySummary : summary)[0]++;
            if (!IsCompleted(result.Phase))
            {
                everythingCompleted = false;
                continue;
            }

            if (result.DryRun)
            {
                worst ??= AnalysisPhase.Successful;
                Count(drySummary, result.Phase);
                continue;
            }

            if (worst is null || IsWorse(worst.Value, result.Phase))
            {
                worst = result.Phase;
                worstMetric = result;
            }

            Count(summary, result.Phase);
        }

        var summaries = (Summary: ToSummary(summary), DryRun: ToSummary(drySummary));
        if (terminating)
        {
            // A:555-564: a terminating run ends now, at the worst phase seen, or Successful when nothing completed.
            return Finish(worst ?? AnalysisPhase.Successful, worstMetric, results, terminated, summaries);
        }

        if (!everythingCompleted || worst is null)
        {
            var waiting = results.Where(r => !IsCompleted(r.Phase)).ToList();
            return new AnalysisRunResult(AnalysisPhase.Running, results,
                "waiting on " + string.Join(", ", waiting.Select(r => $"'{r.Name}' ({r.Phase}: {r.Reason})")))
            {
                Summary = summaries.Summary,
                DryRunSummary = summaries.DryRun,
            };
        }

        return Finish(worst.Value, worstMetric, results, terminated, summaries);
    }

    private static AnalysisRunResult Finish(
        AnalysisPhase phase, MetricRunResult? worst, List<MetricRunResult> results, bool terminated, (RunSummary Summary, RunSummary DryRun) summaries)
    {
        var dryRuns = results.Where(r => r.DryRun && IsCompleted(r.Phase) && r.Phase != AnalysisPhase.Successful).ToList();
        var reason = worst is null || phase == AnalysisPhase.Successful
            ? (terminated ? "run terminated; " : "") + (worst is null && results.All(r => r.DryRun) ? "only dry-run metrics, which never decide the run" : "all metrics successful")
            : $"metric \"{worst.Name}\" assessed {phase} due to {worst.Reason}";
        if (dryRuns.Count > 0)
        {
            reason += "; dry run (not deciding): " + string.Join(", ", dryRuns.Select(r => $"'{r.Name}' {r.Phase}"));
        }

        return new AnalysisRunResult(phase, results, reason) { Summary = summaries.Summary, DryRunSummary = summaries.DryRun };
    }

    /// <summary>
    /// Argo counts a completed metric by the phase its limits give (A:504-541), and a metric completed without crossing a
    /// limit (count reached, consecutiveSuccessLimit) as Successful there, even when its phase is Inconclusive or Failed
    /// by consecutiveSuccessLimit; this does the same, so the summary reads as Argo's.
    /// </summary>
    private static void Count(int[] summary, AnalysisPhase phase)
    {
        switch (phase)
        {
            case AnalysisPhase.Failed: summary[2]++; break;
            case AnalysisPhase.Inconclusive: summary[3]++; break;
            case AnalysisPhase.Error: summary[4]++; break;
            default: summary[1]++; break;
        }
    }

    private static RunSummary ToSummary(int[] s) => new(s[0], s[1], s[2], s[3], s[4]);

    private static (AnalysisPhase Phase, string Reason) AssessMetric(ThresholdMetric metric, Tally tally, bool terminating)
    {
        // Argo's assessMetricFailureInconclusiveOrError (A:658-689): checked in this order, the last one over its limit wins.
        (AnalysisPhase Phase, string Reason)? over = null;
        if (metric.FailureLimit >= 0 && tally.Failed > metric.FailureLimit)
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

        // A:607-611: enough successes in a row end the metric well, before the count.
        if (metric.ConsecutiveSuccessLimit > 0 && tally.ConsecutiveSuccess >= metric.ConsecutiveSuccessLimit)
        {
            return (AnalysisPhase.Successful, Invariant($"consecutiveSuccessLimit ({metric.ConsecutiveSuccessLimit}) reached"));
        }

        // A:613-646: once the count is reached the counters no longer matter; they were within their limits above.
        if (metric.EffectiveCount is { } count && tally.Count >= count)
        {
            if (metric.ConsecutiveSuccessLimit > 0)
            {
                return metric.FailureLimit >= 0
                    ? (AnalysisPhase.Inconclusive, Invariant($"count ({count}) reached: consecutiveSuccessLimit ({metric.ConsecutiveSuccessLimit}) not reached and failureLimit ({metric.FailureLimit}) not violated"))
                    : (AnalysisPhase.Failed, Invariant($"count ({count}) reached: consecutiveSuccessLimit ({metric.ConsecutiveSuccessLimit}) not reached"));
            }

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

        if (measurement.NoData)
        {
            reason = "no data (onNoData: " + metric.OnNoData + ")";
            return metric.OnNoData switch
            {
                MissingDataPolicy.Fail => MeasurementPhase.Failed,
                MissingDataPolicy.Error => MeasurementPhase.Error,
                _ => MeasurementPhase.Inconclusive,
            };
        }

        var result = measurement.Result;
        var shown = Show(result);
        var success = false;
        var failure = false;
        if (conditions.Success is { } successCondition)
        {
            if (!successCondition.TryEvaluate(result, out success, out var error))
            {
                reason = $"result {shown}: could not evaluate successCondition: {error}";
                return MeasurementPhase.Error;
            }
        }

        if (conditions.Failure is { } failureCondition)
        {
            if (!failureCondition.TryEvaluate(result, out failure, out var error))
            {
                reason = $"result {shown}: could not evaluate failureCondition: {error}";
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

    /// <summary>A result as Prometheus and Argo write it: <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>, <c>[1,2]</c>.</summary>
    public static string Show(ResultValue result) => result.Vector is { } vector
        ? "[" + string.Join(",", vector.Select(v => Show(v))) + "]"
        : result.Scalar is { } scalar ? Show(scalar) : "nil";

    private static string Show(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static System.Text.RegularExpressions.Regex? Compile(string rule)
    {
        try
        {
            // Why no match timeout: the non-backtracking engine matches in time linear in the name, as Go's RE2 does, so a
            // timeout would only turn a slow machine into a wrong answer.
            return new System.Text.RegularExpressions.Regex(rule,
                System.Text.RegularExpressions.RegexOptions.NonBacktracking | System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static bool Matches(System.Text.RegularExpressions.Regex regex, string name) => regex.IsMatch(name);

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

    /// <summary>Argo's MetricResult counters, moved as its runMeasurements moves them (A:378-401).</summary>
    private sealed class Tally
    {
        public int Count { get; private set; }

        public int Successful { get; private set; }

        public int Failed { get; private set; }

        public int Inconclusive { get; private set; }

        public int Error { get; private set; }

        public int ConsecutiveError { get; private set; }

        public int ConsecutiveSuccess { get; private set; }

        public void Add(MeasurementPhase phase)
        {
            switch (phase)
            {
                case MeasurementPhase.Error:
                    Error++;
                    ConsecutiveError++;
                    ConsecutiveSuccess = 0;
                    return;
                case MeasurementPhase.Successful:
                    Successful++;
                    ConsecutiveSuccess++;
                    break;
                case MeasurementPhase.Failed:
                    Failed++;
                    ConsecutiveSuccess = 0;
                    break;
                default:
                    Inconclusive++;
                    ConsecutiveSuccess = 0;
                    break;
            }

            Count++;
            ConsecutiveError = 0;
        }

        public MetricRunResult Result(string name, AnalysisPhase phase, IReadOnlyList<MeasuredValue> measured, string reason) =>
            new(name, phase, Count, Successful, Failed, Inconclusive, Error, ConsecutiveError, measured, reason)
            {
                ConsecutiveSuccess = ConsecutiveSuccess,
            };
    }
}
