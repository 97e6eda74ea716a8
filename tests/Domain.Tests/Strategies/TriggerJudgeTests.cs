using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Strategies;

public class TriggerJudgeTests
{
    private static HostSample Sample(string id, double errors = 0, double p99 = 0, int failed = 0, long requests = 0) =>
        new(id, errors, p99, failed, requests);

    // The aggregation tests judge on any single reading; the window's own rules are tested below with the default.
    private static readonly TriggerWindow AnyReading = new(5, 1, 1);

    private static RollbackTrigger Errors(double threshold, TriggerWindow? window = null) => new(TriggerMetric.ErrorRatePercent, threshold, window ?? AnyReading);

    private static RollbackTrigger Latency(double threshold) => new(TriggerMetric.P99LatencyMs, threshold, AnyReading);

    private static RollbackTrigger Health(double threshold) => new(TriggerMetric.FailedHealthChecks, threshold, AnyReading);

    [Fact]
    public void No_samples_is_not_a_breach()
    {
        var verdict = TriggerJudge.Evaluate([Errors(0)], []);
        Assert.Equal(new TriggerVerdict(false, null, "no samples yet"), verdict);
    }

    [Fact]
    public void No_triggers_is_not_a_breach()
    {
        var verdict = TriggerJudge.Evaluate([], [Sample("a", errors: 100, requests: 10)]);
        Assert.False(verdict.Breached);
        Assert.Null(verdict.Trigger);
    }

    [Theory]
    // The documented examples: 10% over 100 requests and 0% over 300 → 2.5; with no requests the plain mean → 5.
    [InlineData(10, 100, 0, 300, 2.5)]
    [InlineData(10, 0, 0, 0, 5)]
    [InlineData(10, 100, 0, 0, 10)]     // an idle host cannot dilute a busy failing one
    [InlineData(4, 1, 8, 3, 7)]
    public void Error_rate_is_the_request_weighted_mean(double rateA, long requestsA, double rateB, long requestsB, double expected)
    {
        var (observed, hosts) = TriggerJudge.Aggregate(TriggerMetric.ErrorRatePercent,
            [Sample("a", errors: rateA, requests: requestsA), Sample("b", errors: rateB, requests: requestsB)]);

        Assert.Equal(expected, observed!.Value, 9);
        Assert.Equal(2, hosts);
    }

    [Fact]
    public void Latency_is_the_worst_hosts_p99_and_health_checks_add_up()
    {
        var samples = new[] { Sample("a", p99: 120, failed: 1), Sample("b", p99: 480), Sample("c", p99: 90, failed: 2) };

        Assert.Equal(480, TriggerJudge.Aggregate(TriggerMetric.P99LatencyMs, samples).Observed);
        Assert.Equal(3, TriggerJudge.Aggregate(TriggerMetric.FailedHealthChecks, samples).Observed);
    }

    [Fact]
    public void A_breach_names_metric_observed_value_threshold_and_host_count()
    {
        var samples = new[] { Sample("a", errors: 10, requests: 100), Sample("b", errors: 5, requests: 100), Sample("c", errors: 7.5, requests: 200) };

        var verdict = TriggerJudge.Evaluate([Errors(5)], samples);

        Assert.True(verdict.Breached);
        Assert.Equal(Errors(5), verdict.Trigger);
        Assert.Equal("errorRatePercent 7.50 > 5 over 3 hosts (3 readings)", verdict.Reason);
    }

    [Theory]
    // threshold, observed worst p99 → breached? (equal is not a breach)
    [InlineData(500, false)]
    [InlineData(480, false)]
    [InlineData(479.5, true)]
    public void Breach_means_strictly_above_the_threshold(double threshold, bool breached)
    {
        var verdict = TriggerJudge.Evaluate([Latency(threshold)], [Sample("a", p99: 100), Sample("b", p99: 480)]);
        Assert.Equal(breached, verdict.Breached);
    }

    [Fact]
    public void The_first_breached_trigger_in_declared_order_wins()
    {
        var samples = new[] { Sample("a", errors: 50, p99: 900, failed: 4, requests: 10) };

        var verdict = TriggerJudge.Evaluate([Errors(60), Health(3), Latency(100)], samples);

        Assert.Equal(Health(3), verdict.Trigger);
        Assert.Equal("failedHealthChecks 4 > 3 over 1 host (1 reading)", verdict.Reason);
    }

    [Fact]
    public void Within_thresholds_the_reason_lists_every_trigger()
    {
        var verdict = TriggerJudge.Evaluate([Errors(5), Latency(250)], [Sample("a", errors: 1, p99: 200, requests: 1)]);

        Assert.False(verdict.Breached);
        Assert.Equal("within thresholds: errorRatePercent 1.00 <= 5 over 1 host (1 reading); p99LatencyMs 200.00 <= 250 over 1 host (1 reading)", verdict.Reason);
    }

    [Fact]
    public void Values_that_are_not_numbers_are_cleaned_out()
    {
        var samples = new[] { Sample("a", errors: double.NaN, p99: double.PositiveInfinity, requests: 1000), Sample("b", errors: 2, p99: 50, requests: 10) };

        Assert.Equal((2.0, 1), TriggerJudge.Aggregate(TriggerMetric.ErrorRatePercent, samples));
        Assert.Equal((50.0, 1), TriggerJudge.Aggregate(TriggerMetric.P99LatencyMs, samples));
        Assert.False(TriggerJudge.Evaluate([Latency(100)], samples).Breached);
    }

    [Fact]
    public void By_default_one_hosts_first_reading_does_not_fire_a_trigger()
    {
        // Default window: 5 readings per host, judged from 2 readings on at least 1 host.
        var trigger = new RollbackTrigger(TriggerMetric.ErrorRatePercent, 5);
        var first = TriggerJudge.Evaluate([trigger], [Sample("a", errors: 90, requests: 100)]);

        Assert.False(first.Breached);
        Assert.Equal("within thresholds: errorRatePercent waiting for evidence: 1 of 2 readings from 1 of 1 hosts", first.Reason);

        var second = TriggerJudge.Evaluate([trigger], [Sample("a", errors: 90, requests: 100), Sample("a", errors: 80, requests: 100)]);
        Assert.True(second.Breached);
        Assert.Equal("errorRatePercent 85.00 > 5 over 1 host (2 readings)", second.Reason);
    }

    [Theory]
    // window (per host, min readings, min hosts), readings as host:errorRate, breached?
    [InlineData(5, 3, 2, "a:50,a:50,a:50,a:50", false)]   // enough readings, one host of the two required
    [InlineData(5, 3, 2, "a:50,a:50,b:50", true)]
    [InlineData(2, 3, 1, "a:50,a:0,a:0", false)]          // only the last 2 of host a count: 0, 0 → mean 0, and 2 < 3 readings
    [InlineData(2, 2, 1, "a:50,a:0,a:0", false)]          // window [0, 0] → 0 ≤ 5
    [InlineData(3, 3, 1, "a:0,a:0,a:30", true)]           // mean of [0, 0, 30] = 10 > 5
    [InlineData(3, 3, 1, "a:0,a:0,a:12", false)]          // one spike is averaged over the window: 4 ≤ 5
    public void The_window_aggregates_the_last_readings_and_needs_enough_of_them(int perHost, int minReadings, int minHosts, string readings, bool breached)
    {
        var samples = readings.Split(',').Select(r => r.Split(':')).Select(p => Sample(p[0], errors: double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), requests: 100)).ToList();
        var verdict = TriggerJudge.Evaluate([Errors(5, new TriggerWindow(perHost, minReadings, minHosts))], samples);
        Assert.Equal(breached, verdict.Breached);
    }

    [Fact]
    public void Latency_averages_each_hosts_window_before_taking_the_worst_host()
    {
        var samples = new[] { Sample("a", p99: 100), Sample("a", p99: 140), Sample("b", p99: 480), Sample("c", p99: 90) };
        Assert.Equal(480, TriggerJudge.Aggregate(TriggerMetric.P99LatencyMs, samples).Observed);
        Assert.Equal(120, TriggerJudge.Aggregate(TriggerMetric.P99LatencyMs, [Sample("a", p99: 100), Sample("a", p99: 140)]).Observed);
    }

    [Fact]
    public void The_window_keeps_the_last_readings_of_each_host_in_arrival_order()
    {
        var samples = new[] { Sample("a", errors: 1), Sample("b", errors: 2), Sample("a", errors: 3), Sample("a", errors: 4) };
        Assert.Equal(new[] { 2.0, 3, 4 }, TriggerJudge.Window(samples, 2).Select(s => s.ErrorRatePercent));
    }
}
