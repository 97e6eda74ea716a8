using Deploy.Engine.Agent.Metrics;

namespace Deploy.Engine.Agent.Tests;

public sealed class PrometheusTests
{
    private const string Scrape1 = """
        # HELP http_requests_total Requests.
        # TYPE http_requests_total counter
        http_requests_total{method="GET",code="200"} 1000
        http_requests_total{method="POST",code="200"} 500
        http_requests_total{method="GET",code="500"} 10 1712345678000
        http_requests_total{method="GET",code="404"} 7
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{le="0.05"} 1000
        http_request_duration_seconds_bucket{le="0.1"} 1400
        http_request_duration_seconds_bucket{le="0.25"} 1517
        http_request_duration_seconds_bucket{le="+Inf"} 1517
        http_request_duration_seconds_sum 60.5
        http_request_duration_seconds_count 1517
        process_open_fds 12
        """;

    private const string Scrape2 = """
        http_requests_total{method="GET",code="200"} 1060
        http_requests_total{method="POST",code="200"} 530
        http_requests_total{method="GET",code="500"} 13
        http_requests_total{method="GET",code="503"} 2
        http_requests_total{method="GET",code="404"} 7
        http_request_duration_seconds_bucket{le="0.05"} 1090
        http_request_duration_seconds_bucket{le="0.1"} 1498
        http_request_duration_seconds_bucket{le="0.25"} 1617
        http_request_duration_seconds_bucket{le="+Inf"} 1617
        """;

    [Fact]
    public void ParsesLabelsValuesAndSkipsCommentsAndTimestamps()
    {
        var samples = PrometheusText.Parse(Scrape1);

        Assert.Equal(11, samples.Count);
        var errors = samples.Single(s => s.Name == "http_requests_total" && s.Labels["code"] == "500");
        Assert.Equal(10, errors.Value);
        Assert.Equal("GET", errors.Labels["method"]);
        Assert.Equal(double.PositiveInfinity, PrometheusText.ParseValue(samples.Single(s => s.Labels.GetValueOrDefault("le") == "+Inf").Labels["le"]));
        Assert.Equal(12, samples.Single(s => s.Name == "process_open_fds").Value);
    }

    [Theory]
    [InlineData("""m{path="/a\"b\\c",x="1"} 2.5e3""", "m", "/a\"b\\c", 2500)]
    [InlineData("""m { path = "x" } NaN""", "m", "x", double.NaN)]
    [InlineData("m_total 7", "m_total", null, 7)]
    public void ParsesOneLine(string line, string name, string? path, double value)
    {
        var sample = PrometheusText.TryParseLine(line)!;
        Assert.Equal(name, sample.Name);
        Assert.Equal(path, sample.Labels.GetValueOrDefault("path"));
        Assert.Equal(value, sample.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{x=\"1\"} 2")]
    [InlineData("m{x=\"1\" 2")]
    [InlineData("m notanumber")]
    public void SkipsLinesThatDoNotParse(string line) => Assert.Null(PrometheusText.TryParseLine(line));

    [Fact]
    public void ErrorRateAndP99FromTheDeltasBetweenTwoScrapes()
    {
        var window = HttpTraffic.From(PrometheusText.Parse(Scrape2)).Since(HttpTraffic.From(PrometheusText.Parse(Scrape1)));

        // Deltas: 200 → 60 + 30, 500 → 3, 503 → 2 (new series), 404 → 0: 95 requests, 5 of them 5xx.
        Assert.Equal(95, window.Requests);
        Assert.Equal(5.0 / 95 * 100, window.ErrorRatePercent!.Value, 6);
        // Bucket deltas {0.05: 90, 0.1: 98, 0.25: 100, +Inf: 100}: rank 99 falls in (0.1, 0.25] → 0.1 + 0.15 × 1/2 = 175 ms.
        Assert.Equal(175, window.QuantileMs(0.99)!.Value, 6);
    }

    [Theory]
    [InlineData(new[] { 0.1, 0.5, double.PositiveInfinity }, new[] { 50.0, 100, 100 }, 492.0)]
    [InlineData(new[] { 0.05, 0.1, 0.25, double.PositiveInfinity }, new[] { 90.0, 98, 100, 100 }, 175.0)]
    [InlineData(new[] { 0.1, double.PositiveInfinity }, new[] { 10.0, 100 }, 100.0)] // rank in +Inf: the highest finite bound
    public void P99FromCumulativeBuckets(double[] bounds, double[] counts, double expectedMs)
    {
        var traffic = new HttpTraffic(new Dictionary<string, double>(), bounds.Zip(counts).ToDictionary(p => p.First, p => p.Second));
        Assert.Equal(expectedMs, traffic.QuantileMs(0.99)!.Value, 6);
    }

    [Fact]
    public void ACounterResetCountsTheNewValueAndNoTrafficIsNoData()
    {
        var before = new HttpTraffic(new Dictionary<string, double> { ["200"] = 1000, ["500"] = 50 }, new Dictionary<double, double>());
        var after = new HttpTraffic(new Dictionary<string, double> { ["200"] = 20, ["500"] = 5 }, new Dictionary<double, double>());

        var window = after.Since(before);

        Assert.Equal(25, window.Requests);
        Assert.Equal(20, window.ErrorRatePercent!.Value, 6);
        Assert.Null(before.Since(before).ErrorRatePercent);
        Assert.Null(before.Since(before).QuantileMs());
    }

    [Fact]
    public void ProbeWindowNearestRankP99AndErrorRate()
    {
        var summary = ProbeWindow.Summarize(Enumerable.Range(1, 100).Select(i => (double)i).ToList(), errors: 3);
        Assert.Equal(100, summary.Requests);
        Assert.Equal(99, summary.P99LatencyMs);
        Assert.Equal(3, summary.ErrorRatePercent);
        Assert.Equal(10, ProbeWindow.Summarize(Enumerable.Range(1, 10).Select(i => (double)i).ToList(), 0).P99LatencyMs);
        Assert.Null(ProbeWindow.Summarize([], 0).P99LatencyMs);
    }
}
