using System.Net;
using System.Text.Json.Nodes;
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

    private static StringContent Json(string text) => new(text, System.Text.Encoding.UTF8, "application/json");

    private async Task<JsonNode> Judge(string judge, string samples) =>
        await _viewer.PostAsync("/v1/analyses/judge", Json($$$"""{"judge": {{{judge}}}, "samples": {{{samples}}}}""")).Expect(HttpStatusCode.OK);

    private static JsonNode Metric(JsonNode verdict, string name) => verdict["metrics"]!.AsArray().Single(m => (string?)m!["name"] == name)!;

    [Fact]
    public async Task Kayenta_metric_settings_on_the_wire_decide_as_netflix_aca_judge_does()
    {
        const string oneToTen = "[1,2,3,4,5,6,7,8,9,10]";

        // confLevel: canary 6..15 over 1..10 has R's 98% interval starting at 1.000007, inside the band 0.25·5 → Pass
        // by NetflixACAJudge's default 0.98; at 0.95 the interval starts at 1.999987 → High.
        var byDefault = await Judge("""{"metrics":[{"name":"lat","direction":"increase"}]}""",
            $$$"""{"lat":{"baseline":{{{oneToTen}}},"canary":[6,7,8,9,10,11,12,13,14,15]}}""");
        Assert.Equal("Pass", (string?)Metric(byDefault, "lat")["classification"]);
        Assert.Contains("at 98%", (string?)Metric(byDefault, "lat")["reason"]);
        var at95 = await Judge("""{"metrics":[{"name":"lat","direction":"increase"}],"confLevel":0.95}""",
            $$$"""{"lat":{"baseline":{{{oneToTen}}},"canary":[6,7,8,9,10,11,12,13,14,15]}}""");
        Assert.Equal("High", (string?)Metric(at95, "lat")["classification"]);

        // muted: classified and shown, never scored, even when critical; groups: one metric in two groups;
        // nanStrategy replace: NaN (sent as a string) becomes 0, and an empty side passes instead of NoData;
        // outliers remove: the 1000 goes before the test; effectSize cles with a critical limit.
        var verdict = await Judge("""
            {"metrics":[
              {"name":"cpu","critical":true,"muted":true},
              {"name":"lat","groups":["latency","user"],"outliers":{"strategy":"remove","outlierFactor":3},
               "effectSize":{"measure":"meanRatio","allowedIncrease":3}},
              {"name":"zeros","nanStrategy":"replace","direction":"decrease"},
              {"name":"empty","nanStrategy":"replace","mustHaveData":true},
              {"name":"gone","nanStrategy":"remove","group":"user"},
              {"name":"share","effectSize":{"measure":"cles","allowedIncrease":0.9,"criticalIncrease":0.95},"critical":false}],
             "groupWeights":{"latency":50}}
            """, $$$"""
            {"cpu":{"baseline":{{{oneToTen}}},"canary":[21,22,23,24,25,26,27,28,29,30]},
             "lat":{"baseline":{{{oneToTen}}},"canary":[11,12,13,14,15,16,17,18,19,20,1000]},
             "zeros":{"baseline":{{{oneToTen}}},"canary":["NaN","NaN","NaN","NaN","NaN","NaN","NaN","NaN"]},
             "empty":{"baseline":{{{oneToTen}}},"canary":[]},
             "gone":{"baseline":{{{oneToTen}}},"canary":["NaN","NaN"]},
             "share":{"baseline":{{{oneToTen}}},"canary":[21,22,23,24,25,26,27,28,29,30]}}
            """);

        var cpu = Metric(verdict, "cpu");
        Assert.Equal(("High", true), ((string?)cpu["classification"], (bool)cpu["muted"]!));
        var lat = Metric(verdict, "lat");
        Assert.Equal("Pass", (string?)lat["classification"]); // 15.5 / 5.5 = 2.82 < 3 once the 1000 is gone
        Assert.Equal(10, (int)lat["canaryCount"]!);
        Assert.Equal(["latency", "user"], lat["groups"]!.AsArray().Select(g => (string)g!));
        Assert.Equal("Low", (string?)Metric(verdict, "zeros")["classification"]); // a decrease on a decrease metric
        Assert.Equal("Pass", (string?)Metric(verdict, "empty")["classification"]);
        Assert.Equal("NoData", (string?)Metric(verdict, "gone")["classification"]);
        Assert.Equal(1.0, (double)Metric(verdict, "share")["effectSize"]!);
        Assert.Equal("High", (string?)Metric(verdict, "share")["classification"]);

        // Scored (cpu muted): latency = lat → 100, weight 50; user = lat Pass + gone NoData → 100; default = zeros Low,
        // empty Pass, share High → 33.33. user and default share 50: 50 + 25 + 8.333 = 83.33; NoData 1 of 5 < 50 %.
        Assert.Equal(83.33, (double)verdict["score"]!);
        Assert.Equal("Marginal", (string?)verdict["outcome"]);
        Assert.Contains("1 muted metric not scored", (string?)verdict["reason"]);
    }

    [Theory]
    [InlineData("""{"name":"m","effectSize":{"measure":"cohen"}}""", "judge.metrics[0].effectSize.measure", "meanRatio or cles")]
    [InlineData("""{"name":"m","effectSize":{"measure":"cles","allowedIncrease":1.5}}""", "judge.metrics[0].effectSize.allowedIncrease", "CLES from 0.5 to 1")]
    [InlineData("""{"name":"m","effectSize":{"criticalDecrease":1.2}}""", "judge.metrics[0].effectSize.criticalDecrease", "at most 1")]
    [InlineData("""{"name":"m","allowedIncrease":1.2,"effectSize":{"measure":"meanRatio"}}""", "judge.metrics[0].effectSize", "not both")]
    [InlineData("""{"name":"m","group":"a","groups":["b"]}""", "judge.metrics[0].groups", "not both")]
    [InlineData("""{"name":"m","groups":[]}""", "judge.metrics[0].groups", "at least one group")]
    [InlineData("""{"name":"m","outliers":{"strategy":"trim"}}""", "judge.metrics[0].outliers.strategy", "keep or remove")]
    [InlineData("""{"name":"m","outliers":{"strategy":"remove","outlierFactor":0}}""", "judge.metrics[0].outliers.outlierFactor", "above 0")]
    public async Task A_kayenta_setting_with_a_value_the_judge_cannot_honour_is_a_400_naming_it(string metric, string field, string says)
    {
        var problem = await _viewer.PostAsync("/v1/analyses/judge", Json($$$"""{"judge":{"metrics":[{{{metric}}}]}}"""))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Contains(says, (string)problem["errors"]![field]![0]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"metrics":[{"name":"m"}],"confLevel":1}""", "judge.confLevel", "below 1")]
    [InlineData("""{"metrics":[{"name":"m"}],"tolerance":-0.1}""", "judge.tolerance", "from 0 to 10")]
    // Kayenta's own nesting (CanaryMetricConfig.analysisConfigurations.canary) is refused by name, with the fields allowed.
    [InlineData("""{"metrics":[{"name":"m","analysisConfigurations":{"canary":{"direction":"increase"}}}]}""", "judge.metrics[0].analysisConfigurations", "unknown field")]
    [InlineData("""{"metrics":[{"name":"m"}],"classifier":{"groupWeights":{}}}""", "judge.classifier", "unknown field")]
    public async Task A_judge_level_setting_out_of_range_or_unknown_is_a_400_naming_it(string judge, string field, string says)
    {
        var problem = await _viewer.PostAsync("/v1/analyses/judge", Json($$$"""{"judge":{{{judge}}}}"""))
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Contains(says, (string)problem["errors"]![field]![0]!, StringComparison.Ordinal);
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
