using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>The judge replay endpoint: a metric configuration and two sample arrays in, the verdict and its reasons out.</summary>
[Collection(EngineCollection.Name)]
public class AnalysesApiTests(EngineFactory engine)
{
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    [Fact]
    public async Task Replaying_a_judge_classifies_each_metric_and_scores_the_whole()
    {
        var baseline = Enumerable.Range(0, 30).Select(i => 1.0 + (i % 5) * 0.01).ToArray();
        var worse = baseline.Select(v => v * 3).ToArray();
        var verdict = await _viewer.PostJson("/v1/analyses/judge", new
        {
            judge = new
            {
                metrics = new object[]
                {
                    new { name = "errors", direction = "increase", critical = true },
                    new { name = "latency", direction = "increase" },
                },
            },
            samples = new
            {
                errors = new { baseline, canary = worse },
                latency = new { baseline, canary = baseline },
            },
        }).Expect(HttpStatusCode.OK);

        Assert.Equal("Fail", (string?)verdict["outcome"]);
        Assert.Equal(0, (double)verdict["score"]!);
        var errors = verdict["metrics"]!.AsArray().Single(m => (string?)m!["name"] == "errors")!;
        Assert.Equal("High", (string?)errors["classification"]);
        Assert.True((double)errors["lower"]! > 0);
        Assert.Equal("Pass", (string?)verdict["metrics"]!.AsArray().Single(m => (string?)m!["name"] == "latency")!["classification"]);
    }

    [Fact]
    public async Task A_bad_judge_configuration_is_a_400_naming_the_field()
    {
        var problem = await _viewer.PostJson("/v1/analyses/judge", new
        {
            judge = new { metrics = new object[] { new { name = "errors", direction = "sideways" } }, passThreshold = 50, marginalThreshold = 80 },
        }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]!["judge.metrics[0].direction"]);
        Assert.NotNull(problem["errors"]!["judge.marginalThreshold"]);
        await _viewer.GetAsync("/v1/analyses/nope").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Replaying_an_analysis_run_gives_the_phase_and_counters_argo_would()
    {
        var run = await _viewer.PostJson("/v1/analyses/runs", new
        {
            metric = new { name = "error-rate", successCondition = "result < 0.05", count = 4, intervalSeconds = 60, failureLimit = 1 },
            measurements = new object[] { new { value = 0.01 }, new { value = 0.09 }, new { error = "prometheus timed out" }, new { value = 0.07 } },
        }).Expect(HttpStatusCode.OK);

        Assert.Equal("Failed", (string?)run["phase"]);
        Assert.Equal(2, (int)run["failed"]!);
        Assert.Equal(1, (int)run["error"]!);

        var bad = await _viewer.PostJson("/v1/analyses/runs", new
        {
            metric = new { name = "x", successCondition = "result <", failureLimit = -1 },
            measurements = Array.Empty<object>(),
        }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(bad["errors"]!["metric.successCondition"]);
        Assert.NotNull(bad["errors"]!["metric.failureLimit"]);
    }

    [Fact]
    public async Task Replaying_a_whole_run_with_a_dry_run_metric_decides_by_the_others()
    {
        // Argo: the dry-run metric fails and never decides; the deciding metric reads a vector as result[0].
        var run = await _viewer.PostJson("/v1/analyses/runs", new
        {
            metrics = new object[]
            {
                new { name = "p99", successCondition = "result[0] < 500", count = 2, intervalSeconds = 60 },
                new { name = "experimental-errors", successCondition = "result < 0.01" },
            },
            dryRun = new[] { new { metricName = "^experimental-" } },
            metricResults = new object[]
            {
                new { name = "p99", measurements = new object[] { new { values = new[] { 320.0 } }, new { values = new object[] { 410.0, "NaN" } } } },
                new { name = "experimental-errors", measurements = new object[] { new { value = "+Inf" } } },
            },
        }).Expect(HttpStatusCode.OK);

        Assert.Equal("Successful", (string?)run["phase"]);
        var dry = run["metrics"]!.AsArray().Single(m => (string?)m!["name"] == "experimental-errors")!;
        Assert.Equal("Failed", (string?)dry["phase"]);
        Assert.True((bool)dry["dryRun"]!);
        Assert.Equal("+Inf", (string?)dry["measurements"]![0]!["result"]);
        Assert.Equal("[410,NaN]", (string?)run["metrics"]![0]!["measurements"]![1]!["result"]);
        Assert.Equal(1, (int)run["summary"]!["successful"]!);
        Assert.Equal(1, (int)run["dryRunSummary"]!["failed"]!);
    }

    [Fact]
    public async Task A_condition_that_fails_at_evaluation_is_an_error_measurement_not_a_400()
    {
        // Argo (utils/evaluate/evaluate.go:24-33): an empty vector under result[0] is an Error measurement; five in a
        // row exceed the default consecutiveErrorLimit of 4.
        var run = await _viewer.PostJson("/v1/analyses/runs", new
        {
            metric = new { name = "p99", successCondition = "result[0] < 500", intervalSeconds = 60 },
            measurements = Enumerable.Repeat(new { values = Array.Empty<double>() }, 5).ToArray(),
        }).Expect(HttpStatusCode.OK);

        Assert.Equal("Error", (string?)run["phase"]);
        Assert.Equal("consecutiveErrors (5) > consecutiveErrorLimit (4)", (string?)run["reason"]);
        Assert.Contains("metric result is nil or empty", (string?)run["measurements"]![0]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_whole_run_that_cannot_be_replayed_is_a_400_naming_each_field()
    {
        var bad = await _viewer.PostJson("/v1/analyses/runs", new
        {
            metrics = new object[] { new { name = "a", successCondition = "result < 1", failureLimit = -1 } },
            dryRun = new[] { new { metricName = "*" } },
            metricResults = new object[]
            {
                new { name = "b", measurements = Array.Empty<object>() },
                new { name = "a", measurements = new object[] { new { inFlight = true }, new { value = "lots" } } },
            },
        }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");

        var errors = bad["errors"]!;
        Assert.Contains("cannot both be disabled", (string?)errors["metrics[0].failureLimit"]![0], StringComparison.Ordinal);
        Assert.Contains("not a valid regular expression", (string?)errors["dryRun[0].metricName"]![0], StringComparison.Ordinal);
        Assert.NotNull(errors["metricResults[0].name"]);
        Assert.NotNull(errors["metricResults[1].measurements[0].inFlight"]);
        Assert.NotNull(errors["metricResults[1].measurements[1].value"]);
    }
}
