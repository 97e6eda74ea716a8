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
}
