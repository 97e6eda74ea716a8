using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

public class AnalysisRunEvaluatorTests
{
    private const double NoData = double.MinValue;   // in tables: a measurement with no value
    private const double Err = double.MaxValue;      // in tables: a provider error

    private static Measurement M(double v) => v switch
    {
        NoData => new Measurement(null),
        Err => new Measurement(null, "provider unreachable"),
        _ => new Measurement(v),
    };

    private static Measurement[] Ms(params double[] values) => values.Select(M).ToArray();

    private static ThresholdMetric Metric(
        string? success = "result < 5", string? failure = null, int? count = 3, int failureLimit = 0,
        int inconclusiveLimit = 0, int consecutiveErrorLimit = 4, MissingDataPolicy onNoData = MissingDataPolicy.Inconclusive,
        string name = "error-rate", bool interval = true) =>
        new()
        {
            Name = name,
            SuccessCondition = success,
            FailureCondition = failure,
            Count = count,
            Interval = interval ? TimeSpan.FromMinutes(1) : null,
            FailureLimit = failureLimit,
            InconclusiveLimit = inconclusiveLimit,
            ConsecutiveErrorLimit = consecutiveErrorLimit,
            OnNoData = onNoData,
        };

    // ---- one measurement: Argo's EvaluateResult -----------------------------------------------------------------

    [Theory]
    // neither condition: always successful
    [InlineData(null, null, 100, MeasurementPhase.Successful)]
    // only success: failed when false
    [InlineData("result < 5", null, 4, MeasurementPhase.Successful)]
    [InlineData("result < 5", null, 6, MeasurementPhase.Failed)]
    // only failure: successful when false
    [InlineData(null, "result > 10", 11, MeasurementPhase.Failed)]
    [InlineData(null, "result > 10", 6, MeasurementPhase.Successful)]
    // both: failure wins when both are true; neither true is inconclusive
    [InlineData("result < 5", "result > 10", 4, MeasurementPhase.Successful)]
    [InlineData("result < 5", "result > 10", 11, MeasurementPhase.Failed)]
    [InlineData("result < 5", "result > 10", 7, MeasurementPhase.Inconclusive)]
    [InlineData("result < 5", "result > 3", 4, MeasurementPhase.Failed)]
    // NaN: comparisons false, so only-success fails and both-conditions is inconclusive
    [InlineData("result < 5", null, double.NaN, MeasurementPhase.Failed)]
    [InlineData(null, "result > 10", double.NaN, MeasurementPhase.Successful)]
    [InlineData("result < 5", "result > 10", double.NaN, MeasurementPhase.Inconclusive)]
    [InlineData("result < 5", "isNaN(result) || result > 10", double.NaN, MeasurementPhase.Failed)]
    public void One_measurement(string? success, string? failure, double value, MeasurementPhase expected)
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(success, failure), new Measurement(value), out var reason);
        Assert.Equal(expected, phase);
        Assert.NotEmpty(reason);
    }

    [Theory]
    [InlineData(MissingDataPolicy.Inconclusive, MeasurementPhase.Inconclusive)]
    [InlineData(MissingDataPolicy.Fail, MeasurementPhase.Failed)]
    [InlineData(MissingDataPolicy.Error, MeasurementPhase.Error)]
    public void Missing_data_follows_the_policy(MissingDataPolicy policy, MeasurementPhase expected)
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(onNoData: policy), new Measurement(null), out var reason);
        Assert.Equal(expected, phase);
        Assert.Contains("no data", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_provider_error_is_an_error_whatever_the_value()
    {
        var phase = AnalysisRunEvaluator.Assess(Metric(), new Measurement(1, "timeout"), out var reason);
        Assert.Equal(MeasurementPhase.Error, phase);
        Assert.Equal("provider error: timeout", reason);
    }

    [Fact]
    public void A_condition_that_cannot_be_evaluated_is_an_error()
    {
        // Only reachable through an unparseable condition here, since result always has a value when conditions run.
        var phase = AnalysisRunEvaluator.Assess(Metric(success: "result >"), new Measurement(1), out var reason);
        Assert.Equal(MeasurementPhase.Error, phase);
        Assert.Contains("successCondition invalid at position 8", reason, StringComparison.Ordinal);
    }

    // ---- one metric: counters, limits, count, termination ------------------------------------------------------

    [Theory]
    // failureLimit 0 (default): the first failure fails the metric
    [InlineData(0, new double[] { 1, 7 }, AnalysisPhase.Failed, 2, 1)]
    [InlineData(0, new double[] { 1, 2, 3 }, AnalysisPhase.Successful, 3, 0)]
    // failureLimit 1: one failure tolerated, the second fails it
    [InlineData(1, new double[] { 7, 1, 2 }, AnalysisPhase.Successful, 3, 1)]
    [InlineData(1, new double[] { 7, 8 }, AnalysisPhase.Failed, 2, 2)]
    [InlineData(1, new double[] { 7 }, AnalysisPhase.Running, 1, 1)]
    // failureLimit 2: two tolerated
    [InlineData(2, new double[] { 7, 8, 1 }, AnalysisPhase.Successful, 3, 2)]
    [InlineData(2, new double[] { 7, 8, 9 }, AnalysisPhase.Failed, 3, 3)]
    public void Failure_limit_is_failed_greater_than_limit(int failureLimit, double[] values, AnalysisPhase expected, int count, int failed)
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(failureLimit: failureLimit, count: 3), Ms(values));
        Assert.Equal(expected, result.Phase);
        Assert.Equal(count, result.Count);
        Assert.Equal(failed, result.Failed);
    }

    [Theory]
    [InlineData(0, new double[] { 7, 1, 1 }, AnalysisPhase.Inconclusive, 1)]
    [InlineData(1, new double[] { 7, 1, 1 }, AnalysisPhase.Successful, 3)]
    [InlineData(1, new double[] { 7, 8 }, AnalysisPhase.Inconclusive, 2)]
    [InlineData(2, new double[] { 7, 8, 1 }, AnalysisPhase.Successful, 3)]
    public void Inconclusive_limit(int inconclusiveLimit, double[] values, AnalysisPhase expected, int counted)
    {
        // Both conditions: 7 and 8 sit between them, so they are inconclusive.
        var metric = Metric(success: "result < 5", failure: "result > 10", inconclusiveLimit: inconclusiveLimit);
        var result = AnalysisRunEvaluator.Evaluate(metric, Ms(values));
        Assert.Equal(expected, result.Phase);
        Assert.Equal(counted, result.Measurements.Count);
    }

    [Theory]
    // default limit 4: the fifth error in a row errors the metric
    [InlineData(4, new[] { Err, Err, Err, Err }, AnalysisPhase.Running, 4)]
    [InlineData(4, new[] { Err, Err, Err, Err, Err }, AnalysisPhase.Error, 5)]
    // a non-error measurement resets the run of errors (but the total keeps counting)
    [InlineData(4, new[] { Err, Err, Err, Err, 1, Err, Err, Err, Err }, AnalysisPhase.Running, 4)]
    [InlineData(0, new[] { Err }, AnalysisPhase.Error, 1)]
    [InlineData(1, new[] { Err, 1, Err, 2, Err, 3 }, AnalysisPhase.Successful, 0)]
    [InlineData(1, new[] { Err, 1, Err, Err }, AnalysisPhase.Error, 2)]
    public void Consecutive_errors_reset_on_a_measurement(int limit, double[] values, AnalysisPhase expected, int consecutive)
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(consecutiveErrorLimit: limit, count: 3), Ms(values));
        Assert.Equal(expected, result.Phase);
        Assert.Equal(consecutive, result.ConsecutiveError);
        Assert.Equal(values.Count(v => v == Err), result.Error);
    }

    [Fact]
    public void Errors_do_not_count_towards_count()
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(count: 2), Ms(Err, 1, Err, Err, 2));
        Assert.Equal(AnalysisPhase.Successful, result.Phase);
        Assert.Equal(2, result.Count);
        Assert.Equal(3, result.Error);
        Assert.Equal(0, result.ConsecutiveError);
    }

    [Theory]
    [InlineData(MissingDataPolicy.Inconclusive, AnalysisPhase.Inconclusive)]
    [InlineData(MissingDataPolicy.Fail, AnalysisPhase.Failed)]
    [InlineData(MissingDataPolicy.Error, AnalysisPhase.Running)]   // one error in a row is within the default limit of 4
    public void Missing_data_moves_the_counter_its_policy_names(MissingDataPolicy policy, AnalysisPhase expected)
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(onNoData: policy), Ms(1, NoData));
        Assert.Equal(expected, result.Phase);
    }

    [Fact]
    public void Measurements_after_completion_are_not_counted()
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(count: 3), Ms(1, 7, 1, 1));
        Assert.Equal(AnalysisPhase.Failed, result.Phase);
        Assert.Equal(2, result.Measurements.Count);
        Assert.Equal("failed (1) > failureLimit (0); 2 later measurements were not counted: the metric had completed", result.Reason);
    }

    [Fact]
    public void Count_reached_ignores_failures_within_the_limit()
    {
        // The documented example: failureLimit 1, count 3, result < 5: 1, 7, 2 → Successful.
        var result = AnalysisRunEvaluator.Evaluate(Metric(failureLimit: 1), Ms(1, 7, 2));
        Assert.Equal(AnalysisPhase.Successful, result.Phase);
        Assert.Equal(new[] { MeasurementPhase.Successful, MeasurementPhase.Failed, MeasurementPhase.Successful },
            result.Measurements.Select(m => m.Phase));
        Assert.StartsWith("count (3) reached", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    // no count, no interval: Argo's effective count is 1
    [InlineData(null, false, new double[] { 1 }, false, AnalysisPhase.Successful)]
    // no count, an interval: runs until stopped
    [InlineData(null, true, new double[] { 1, 2, 3, 4, 1, 2 }, false, AnalysisPhase.Running)]
    [InlineData(null, true, new double[] { 1, 2 }, true, AnalysisPhase.Successful)]
    [InlineData(null, true, new double[] { 1, 7 }, true, AnalysisPhase.Failed)]
    // a count not yet reached: running, or successful when terminated early
    [InlineData(3, true, new double[] { 1 }, false, AnalysisPhase.Running)]
    [InlineData(3, true, new double[] { 1 }, true, AnalysisPhase.Successful)]
    // terminated before any measurement: successful; not terminated: still waiting (Argo's Pending)
    [InlineData(3, true, new double[0], true, AnalysisPhase.Successful)]
    [InlineData(3, true, new double[0], false, AnalysisPhase.Pending)]
    public void Effective_count_and_termination(int? count, bool interval, double[] values, bool terminated, AnalysisPhase expected)
    {
        var metric = Metric(count: count, interval: interval);
        Assert.Equal(expected, AnalysisRunEvaluator.Evaluate(metric, Ms(values), terminated).Phase);
    }

    [Fact]
    public void Terminated_with_an_error_streak_over_the_limit_is_still_an_error()
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(consecutiveErrorLimit: 1, count: null), Ms(Err, Err), terminated: true);
        Assert.Equal(AnalysisPhase.Error, result.Phase);
    }

    // ---- validation ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("name", "")]
    [InlineData("successCondition", "result >")]
    [InlineData("failureCondition", "result ==")]
    [InlineData("count", "count0")]
    [InlineData("interval", "count2-no-interval")]
    [InlineData("interval", "zero-interval")]
    [InlineData("failureLimit", "failureLimit-1")]
    [InlineData("inconclusiveLimit", "inconclusiveLimit-1")]
    [InlineData("consecutiveErrorLimit", "consecutiveErrorLimit-1")]
    [InlineData("count", "count-below-failureLimit")]
    [InlineData("count", "count-below-inconclusiveLimit")]
    public void Bad_specs_name_the_field(string field, string @case)
    {
        var good = Metric();
        var bad = @case switch
        {
            "" => good with { Name = " " },
            "result >" => good with { SuccessCondition = "result >" },
            "result ==" => good with { FailureCondition = "result ==" },
            "count0" => good with { Count = 0 },
            "count2-no-interval" => good with { Count = 2, Interval = null },
            "zero-interval" => good with { Interval = TimeSpan.Zero },
            "failureLimit-1" => good with { FailureLimit = -1 },
            "inconclusiveLimit-1" => good with { InconclusiveLimit = -1 },
            "consecutiveErrorLimit-1" => good with { ConsecutiveErrorLimit = -1 },
            "count-below-failureLimit" => good with { Count = 2, FailureLimit = 3 },
            _ => good with { Count = 2, InconclusiveLimit = 3 },
        };

        Assert.True(AnalysisRunEvaluator.Validate(good).IsValid);
        var validated = AnalysisRunEvaluator.Validate(bad);
        Assert.False(validated.IsValid);
        Assert.Equal([field], validated.Errors.Keys);
    }

    [Fact]
    public void A_condition_error_carries_its_position()
    {
        var validated = AnalysisRunEvaluator.Validate(Metric(success: "result > 1 &"));
        Assert.Equal("invalid condition at position 11: '&' alone is not an operator (did you mean '&&'?)",
            Assert.Single(validated.Errors["successCondition"]));
    }

    [Fact]
    public void An_invalid_metric_evaluates_to_error()
    {
        var result = AnalysisRunEvaluator.Evaluate(Metric(failureLimit: -1), Ms(1));
        Assert.Equal(AnalysisPhase.Error, result.Phase);
        Assert.StartsWith("analysis spec invalid: failureLimit", result.Reason, StringComparison.Ordinal);
    }

    // ---- the run: Argo's assessRunStatus ---------------------------------------------------------------------

    [Theory]
    // worst wins, in Argo's order Successful < Inconclusive < Error < Failed
    [InlineData(AnalysisPhase.Successful, AnalysisPhase.Successful, AnalysisPhase.Successful)]
    [InlineData(AnalysisPhase.Successful, AnalysisPhase.Inconclusive, AnalysisPhase.Inconclusive)]
    [InlineData(AnalysisPhase.Inconclusive, AnalysisPhase.Error, AnalysisPhase.Error)]
    [InlineData(AnalysisPhase.Error, AnalysisPhase.Failed, AnalysisPhase.Failed)]
    [InlineData(AnalysisPhase.Failed, AnalysisPhase.Error, AnalysisPhase.Failed)]
    [InlineData(AnalysisPhase.Failed, AnalysisPhase.Inconclusive, AnalysisPhase.Failed)]
    [InlineData(AnalysisPhase.Inconclusive, AnalysisPhase.Successful, AnalysisPhase.Inconclusive)]
    public void The_worst_metric_phase_is_the_runs(AnalysisPhase a, AnalysisPhase b, AnalysisPhase expected)
    {
        var run = AnalysisRunEvaluator.Evaluate([Reaching("a", a), Reaching("b", b)]);
        Assert.Equal(expected, run.Phase);
        Assert.Equal([a, b], run.Metrics.Select(m => m.Phase));
    }

    [Fact]
    public void Is_worse_follows_argos_order()
    {
        Assert.True(AnalysisRunEvaluator.IsWorse(AnalysisPhase.Error, AnalysisPhase.Failed));
        Assert.False(AnalysisRunEvaluator.IsWorse(AnalysisPhase.Failed, AnalysisPhase.Error));
        Assert.True(AnalysisRunEvaluator.IsWorse(AnalysisPhase.Inconclusive, AnalysisPhase.Error));
        Assert.False(AnalysisRunEvaluator.IsWorse(AnalysisPhase.Successful, AnalysisPhase.Successful));
    }

    [Fact]
    public void A_running_metric_keeps_the_run_running()
    {
        var run = AnalysisRunEvaluator.Evaluate([Reaching("a", AnalysisPhase.Successful), (Metric(name: "b"), Ms(1))]);
        Assert.Equal(AnalysisPhase.Running, run.Phase);
        Assert.StartsWith("waiting on 'b'", run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_metric_terminates_the_others_and_the_run_fails()
    {
        // b has taken 1 of 3 measurements; a's failure stops the run, so b ends as terminated (Successful).
        var run = AnalysisRunEvaluator.Evaluate([Reaching("a", AnalysisPhase.Failed), (Metric(name: "b"), Ms(1))]);
        Assert.Equal(AnalysisPhase.Failed, run.Phase);
        Assert.Equal(AnalysisPhase.Successful, run.Metrics[1].Phase);
        Assert.Contains("run terminated", run.Metrics[1].Reason, StringComparison.Ordinal);
        Assert.Equal("metric \"a\" assessed Failed due to failed (1) > failureLimit (0)", run.Reason);
    }

    [Fact]
    public void An_inconclusive_metric_terminates_the_run_too()
    {
        var run = AnalysisRunEvaluator.Evaluate([Reaching("a", AnalysisPhase.Inconclusive), (Metric(name: "b"), [])]);
        Assert.Equal(AnalysisPhase.Inconclusive, run.Phase);
    }

    [Fact]
    public void A_terminated_run_is_the_worst_of_what_it_saw()
    {
        var running = (Metric(name: "a", count: null), Ms(1, 2));
        var untouched = (Metric(name: "b"), Array.Empty<Measurement>());
        var run = AnalysisRunEvaluator.Evaluate([running, untouched], terminated: true);
        Assert.Equal(AnalysisPhase.Successful, run.Phase);
        Assert.StartsWith("run terminated", run.Reason, StringComparison.Ordinal);

        var failed = (Metric(name: "c", count: null, failureLimit: 1), Ms(7, 8));
        Assert.Equal(AnalysisPhase.Failed, AnalysisRunEvaluator.Evaluate([running, failed], terminated: true).Phase);
    }

    [Fact]
    public void No_metrics_or_duplicate_names_are_an_error()
    {
        Assert.Equal(AnalysisPhase.Error, AnalysisRunEvaluator.Evaluate([]).Phase);
        var dup = AnalysisRunEvaluator.Evaluate([Reaching("a", AnalysisPhase.Successful), Reaching("a", AnalysisPhase.Successful)]);
        Assert.Equal(AnalysisPhase.Error, dup.Phase);
        Assert.Contains("duplicate metric name 'a'", dup.Reason, StringComparison.Ordinal);
    }

    /// <summary>A one-measurement metric whose measurement lands it in <paramref name="phase"/>.</summary>
    private static (ThresholdMetric, IReadOnlyList<Measurement>) Reaching(string name, AnalysisPhase phase)
    {
        var metric = Metric(success: "result < 5", failure: "result > 10", count: 1, consecutiveErrorLimit: 0, name: name, interval: false);
        var value = phase switch
        {
            AnalysisPhase.Successful => 1,
            AnalysisPhase.Failed => 11,
            AnalysisPhase.Inconclusive => 7,
            _ => Err,
        };
        return (metric, Ms(value));
    }
}
