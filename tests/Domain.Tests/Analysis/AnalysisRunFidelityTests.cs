using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>
/// Argo Rollouts' AnalysisRun rules the engine follows, each table citing the line it follows in argoproj/argo-rollouts
/// at 9f8d111d: analysis/analysis.go (A), utils/evaluate/evaluate.go (E), utils/analysis/helpers.go (H),
/// utils/analysis/factory.go (F).
/// </summary>
public class AnalysisRunFidelityTests
{
    private const double Fly = double.MinValue;   // in tables: a measurement still in flight

    private static Measurement M(double v) => v == Fly ? new Measurement(null) { InFlight = true } : new Measurement(v);

    private static Measurement[] Ms(params double[] values) => values.Select(M).ToArray();

    private static Measurement Vector(params double[] values) => new(null) { Values = values };

    private static ThresholdMetric Metric(
        string name = "m", string? success = "result < 5", string? failure = null, int? count = 4, int failureLimit = 0,
        int consecutiveSuccessLimit = 0, int consecutiveErrorLimit = 4, bool interval = true) => new()
        {
            Name = name,
            SuccessCondition = success,
            FailureCondition = failure,
            Count = count,
            Interval = interval ? TimeSpan.FromMinutes(1) : null,
            FailureLimit = failureLimit,
            ConsecutiveSuccessLimit = consecutiveSuccessLimit,
            ConsecutiveErrorLimit = consecutiveErrorLimit,
        };

    // ---- consecutiveSuccessLimit and failureLimit -1 (A:607-646, A:663-670, F:165-198) ----------------------------------

    [Theory]
    // CSL 2: two successes in a row end the metric before the count (A:607-611)
    [InlineData(0, 2, new double[] { 1, 2 }, AnalysisPhase.Successful, "consecutiveSuccessLimit (2) reached")]
    [InlineData(1, 2, new double[] { 7, 1, 2 }, AnalysisPhase.Successful, "consecutiveSuccessLimit (2) reached")]
    // count reached without CSL, failureLimit on: Inconclusive (A:620-632)
    [InlineData(1, 3, new double[] { 1, 7, 1, 2 }, AnalysisPhase.Inconclusive, "consecutiveSuccessLimit (3) not reached and failureLimit (1) not violated")]
    // count reached without CSL, failureLimit -1: Failed (A:634-637)
    [InlineData(-1, 3, new double[] { 7, 7, 1, 1 }, AnalysisPhase.Failed, "count (4) reached: consecutiveSuccessLimit (3) not reached")]
    // failureLimit -1: failures never fail the metric on their own (A:666)
    [InlineData(-1, 3, new double[] { 7, 7, 7 }, AnalysisPhase.Running, "3 of 4 measurements taken")]
    [InlineData(-1, 2, new double[] { 7, 1, 7, 1 }, AnalysisPhase.Failed, "consecutiveSuccessLimit (2) not reached")]
    [InlineData(-1, 2, new double[] { 7, 7, 1, 1 }, AnalysisPhase.Successful, "consecutiveSuccessLimit (2) reached")]
    // failureLimit still wins over CSL while it is on (A:598-605 runs first)
    [InlineData(0, 2, new double[] { 1, 7 }, AnalysisPhase.Failed, "failed (1) > failureLimit (0)")]
    public void Consecutive_success_limit(int failureLimit, int csl, double[] values, AnalysisPhase expected, string reason)
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(failureLimit: failureLimit, consecutiveSuccessLimit: csl), Ms(values));
        Assert.Equal(expected, result.Phase);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Consecutive_success_resets_on_any_other_phase()
    {
        // A:380-399: Successful adds one, Failed, Inconclusive and Error reset it.
        var result = AnalysisRunEvaluator.Evaluate(
            Metric(failureLimit: -1, consecutiveSuccessLimit: 3, count: 6),
            [new Measurement(1), new Measurement(2), new Measurement(null, "timeout"), new Measurement(1)]);
        Assert.Equal(AnalysisPhase.Running, result.Phase);
        Assert.Equal(1, result.ConsecutiveSuccess);
        Assert.Equal(3, result.Count);
        Assert.Equal(1, result.Error);
    }

    [Theory]
    // F:165-198, each message as Argo words it
    [InlineData(-2, 0, 4, 0, "failureLimit", "failureLimit must be >= 0, or -1 to be disabled")]
    [InlineData(-1, 0, 4, 0, "failureLimit", "failureLimit and consecutiveSuccessLimit cannot both be disabled")]
    [InlineData(0, -1, 4, 0, "consecutiveSuccessLimit", "consecutiveSuccessLimit must be >= 0")]
    [InlineData(2, 3, 4, 0, "count", "count (4) must be >= failureLimit + consecutiveSuccessLimit (2 + 3) if both >= 0")]
    [InlineData(-1, 5, 4, 0, "count", "count must be >= consecutiveSuccessLimit")]
    [InlineData(0, 0, 4, 5, "count", "count must be >= inconclusiveLimit")]
    public void Limits_are_validated_as_argo_validates_them(int failureLimit, int csl, int count, int inconclusiveLimit, string field, string message)
    {
        var metric = Metric(failureLimit: failureLimit, consecutiveSuccessLimit: csl, count: count) with { InconclusiveLimit = inconclusiveLimit };
        var validated = AnalysisRunEvaluator.Validate(metric);
        Assert.Equal(message, Assert.Single(validated.Errors[field]));
    }

    [Theory]
    [InlineData(-1, 3, 4)]   // F:187-190: count >= CSL when failureLimit is -1
    [InlineData(1, 3, 4)]    // F:183-186: count >= failureLimit + CSL
    [InlineData(-1, 1, null)]
    public void Valid_limit_combinations(int failureLimit, int csl, int? count) =>
        Assert.True(AnalysisRunEvaluator.Validate(Metric(failureLimit: failureLimit, consecutiveSuccessLimit: csl, count: count)).IsValid);

    // ---- values: NaN, ±Inf, vectors, evaluation errors (E:18-67, prometheus.go processResponse) -----------------------

    [Theory]
    [InlineData("result < 5", null, double.PositiveInfinity, MeasurementPhase.Failed, "result +Inf")]
    [InlineData("result > 0", null, double.PositiveInfinity, MeasurementPhase.Successful, "result +Inf")]
    [InlineData(null, "isInf(result)", double.NegativeInfinity, MeasurementPhase.Failed, "result -Inf")]
    [InlineData("result < 5", null, double.NaN, MeasurementPhase.Failed, "result NaN")]
    [InlineData("result < 5", "result >= 5", double.NaN, MeasurementPhase.Inconclusive, "result NaN")]
    [InlineData("!isNaN(result) && result < 5", "isNaN(result)", double.NaN, MeasurementPhase.Failed, "result NaN")]
    public void Non_finite_results_compare_as_go_compares_them(string? success, string? failure, double value, MeasurementPhase expected, string shown)
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(success: success, failure: failure), new Measurement(value), out var reason);
        Assert.Equal(expected, phase);
        Assert.StartsWith(shown, reason, StringComparison.Ordinal);
    }

    [Theory]
    // Argo's Prometheus provider hands a vector answer to the conditions as []float64 (prometheus.go processResponse)
    [InlineData("result[0] < 5", new double[] { 3 }, MeasurementPhase.Successful, "result [3]")]
    [InlineData("result[0] < 5", new double[] { 7, 1 }, MeasurementPhase.Failed, "result [7,1]")]
    [InlineData("result[-1] < 5", new double[] { 7, 1 }, MeasurementPhase.Successful, "result [7,1]")]
    [InlineData("len(result) == 2 && result[1] < 5", new double[] { 7, 1 }, MeasurementPhase.Successful, "result [7,1]")]
    [InlineData("isNaN(result[0])", new double[] { double.NaN }, MeasurementPhase.Successful, "result [NaN]")]
    // evaluation errors: an Error measurement, not a refusal (E:24-33, E:62-67)
    [InlineData("result[0] < 5", new double[0], MeasurementPhase.Error, "metric result is nil or empty: no data returned from the metric provider")]
    [InlineData("result[2] < 5", new double[] { 1 }, MeasurementPhase.Error, "index out of range: 2 (array length is 1)")]
    [InlineData("result < 5", new double[] { 1 }, MeasurementPhase.Error, "result is a vector of 1 value here; read one with result[0]")]
    public void Vector_results(string success, double[] values, MeasurementPhase expected, string reason)
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(success: success), Vector(values), out var why);
        Assert.Equal(expected, phase);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Fact]
    public void Indexing_a_number_is_an_error_measurement()
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(success: "result[0] < 5"), new Measurement(3), out var why);
        Assert.Equal(MeasurementPhase.Error, phase);
        Assert.Contains("could not evaluate successCondition", why, StringComparison.Ordinal);
        Assert.Contains("result is a single number here; it cannot be indexed", why, StringComparison.Ordinal);
    }

    [Theory]
    // A:680-684 with runMeasurements' counting (A:395-399): errors at evaluation time count against consecutiveErrorLimit
    [InlineData(1, 1, AnalysisPhase.Running)]
    [InlineData(1, 2, AnalysisPhase.Error)]
    [InlineData(4, 4, AnalysisPhase.Running)]
    [InlineData(4, 5, AnalysisPhase.Error)]
    [InlineData(0, 1, AnalysisPhase.Error)]
    public void Evaluation_errors_count_against_the_consecutive_error_limit(int limit, int empties, AnalysisPhase expected)
    {
        var measurements = Enumerable.Repeat(Vector(), empties).ToList();
        var result = AnalysisRunEvaluator.Evaluate(Metric(success: "result[0] < 5", consecutiveErrorLimit: limit), measurements);
        Assert.Equal(expected, result.Phase);
        Assert.Equal(0, result.Count);
        Assert.Equal(empties, result.ConsecutiveError);
        if (expected == AnalysisPhase.Error)
        {
            Assert.Equal($"consecutiveErrors ({empties}) > consecutiveErrorLimit ({limit})", result.Reason);
        }
    }

    [Fact]
    public void An_error_then_a_value_resets_the_consecutive_errors()
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(success: "result[0] < 5", consecutiveErrorLimit: 1),
            [Vector(), Vector(2), Vector(), Vector(3)]);
        Assert.Equal(AnalysisPhase.Running, result.Phase);
        Assert.Equal((2, 2, 0), (result.Count, result.Error, result.ConsecutiveError));
    }

    // ---- Pending and in-flight measurements (A:584-596, A:555-564) -------------------------------------------------

    [Fact]
    public void A_metric_with_no_measurement_is_pending_and_the_run_runs()
    {
        var delayed = Metric(name: "late") with { InitialDelay = TimeSpan.FromMinutes(5) };
        var run = AnalysisRunEvaluator.Evaluate([(Metric(name: "a", count: 1, interval: false), Ms(1)), (delayed, [])]);
        Assert.Equal(AnalysisPhase.Running, run.Phase);
        Assert.Equal(AnalysisPhase.Pending, run.Metrics[1].Phase);
        Assert.Equal("no measurement yet (initialDelay 300s)", run.Metrics[1].Reason);
    }

    [Theory]
    [InlineData(new[] { 1, Fly }, false, AnalysisPhase.Running, 1)]
    [InlineData(new[] { Fly }, false, AnalysisPhase.Running, 0)]
    // terminating does not complete an in-flight measurement's metric (A:592-596 comes before the terminating check)
    [InlineData(new[] { 1, 2, Fly }, true, AnalysisPhase.Running, 2)]
    public void An_in_flight_measurement_is_not_counted(double[] values, bool terminated, AnalysisPhase expected, int counted)
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(), Ms(values), terminated);
        Assert.Equal(expected, result.Phase);
        Assert.Equal(counted, result.Count);
        Assert.Equal(MeasurementPhase.Running, result.Measurements[^1].Phase);
    }

    [Fact]
    public void A_terminated_run_ends_even_with_a_measurement_in_flight()
    {
        // A:555-564: a terminating run returns the worst completed phase (Successful when none) whatever is in flight.
        var run = AnalysisRunEvaluator.Evaluate([(Metric(name: "a"), Ms(1, Fly))], terminated: true);
        Assert.Equal(AnalysisPhase.Successful, run.Phase);
        Assert.Equal(AnalysisPhase.Running, run.Metrics[0].Phase);
    }

    // ---- whole runs: dry run, order, summaries (A:436-577, H:47-146) --------------------------------------------------

    [Theory]
    // the dry-run metric fails; the run is decided by the other
    [InlineData("a", new double[] { 1, 2, 3, 4 }, AnalysisPhase.Successful)]
    [InlineData("^a$", new double[] { 1, 2, 3, 4 }, AnalysisPhase.Successful)]
    [InlineData("a", new double[] { 1, 7 }, AnalysisPhase.Failed)]
    // a rule matches anywhere in the name (Go's regexp.MatchString): "b" matches "b" only here
    [InlineData("b", new double[] { 7 }, AnalysisPhase.Failed)]
    public void Dry_run_metrics_never_decide_the_run(string rule, double[] bValues, AnalysisPhase expected)
    {
        var a = (Metric(name: "a"), (IReadOnlyList<Measurement>)Ms(9));           // fails at once
        var b = (Metric(name: "b"), (IReadOnlyList<Measurement>)Ms(bValues));
        var run = AnalysisRunEvaluator.Evaluate([a, b], dryRun: [rule]);
        Assert.Equal(expected, run.Phase);
    }

    [Fact]
    public void A_failing_dry_run_metric_does_not_terminate_the_run()
    {
        // H:84-101: IsTerminating skips dry-run results, so b keeps measuring.
        var run = AnalysisRunEvaluator.Evaluate([(Metric(name: "a"), Ms(9)), (Metric(name: "b"), Ms(1))], dryRun: ["a"]);
        Assert.Equal(AnalysisPhase.Running, run.Phase);
        Assert.Equal(AnalysisPhase.Failed, run.Metrics[0].Phase);
        Assert.True(run.Metrics[0].DryRun);
        Assert.Equal(AnalysisPhase.Running, run.Metrics[1].Phase);
    }

    [Fact]
    public void Only_dry_run_metrics_make_a_successful_run_with_their_own_summary()
    {
        var run = AnalysisRunEvaluator.Evaluate([(Metric(name: "a"), Ms(9)), (Metric(name: "b", count: 1, interval: false), Ms(1))], dryRun: [".*"]);
        Assert.Equal(AnalysisPhase.Successful, run.Phase);
        Assert.Equal(new RunSummary(0, 0, 0, 0, 0), run.Summary);
        Assert.Equal(new RunSummary(2, 1, 1, 0, 0), run.DryRunSummary);
        Assert.Contains("dry run (not deciding): 'a' Failed", run.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*", "dryRun[0].metricName: '*' is not a valid regular expression")]
    [InlineData("zzz", "dryRun[0].metricName: rule 'zzz' didn't match any metric name(s)")]
    public void Dry_run_rules_that_do_not_hold_make_the_spec_invalid(string rule, string reason)
    {
        var run = AnalysisRunEvaluator.Evaluate([(Metric(name: "a"), Ms(1))], dryRun: [rule]);
        Assert.Equal(AnalysisPhase.Error, run.Phase);
        Assert.Contains(reason, run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_dry_run_rules_are_refused()
    {
        var errors = AnalysisRunEvaluator.ValidateDryRun(["a", "a"], ["a"]);
        Assert.Equal("two dry-run rules have the same name 'a'", Assert.Single(errors.ToDictionary()["dryRun[1].metricName"]));
    }

    [Fact]
    public void The_summary_counts_the_deciding_metrics_by_phase()
    {
        var run = AnalysisRunEvaluator.Evaluate([
            (Metric(name: "ok", count: 1, interval: false), Ms(1)),
            (Metric(name: "bad", count: 1, interval: false), Ms(9)),
            (Metric(name: "errs", count: 1, interval: false, consecutiveErrorLimit: 0), [Vector()]),
        ]);
        Assert.Equal(AnalysisPhase.Failed, run.Phase);
        Assert.Equal(new RunSummary(3, 1, 1, 0, 1), run.Summary);
    }

    [Theory]
    // H:47-55: Successful < Running < Pending < Inconclusive < Error < Failed
    [InlineData(AnalysisPhase.Successful, AnalysisPhase.Running, true)]
    [InlineData(AnalysisPhase.Running, AnalysisPhase.Pending, true)]
    [InlineData(AnalysisPhase.Pending, AnalysisPhase.Inconclusive, true)]
    [InlineData(AnalysisPhase.Inconclusive, AnalysisPhase.Running, false)]
    [InlineData(AnalysisPhase.Failed, AnalysisPhase.Error, false)]
    public void Argo_phase_order(AnalysisPhase current, AnalysisPhase candidate, bool worse) =>
        Assert.Equal(worse, AnalysisRunEvaluator.IsWorse(current, candidate));
}
