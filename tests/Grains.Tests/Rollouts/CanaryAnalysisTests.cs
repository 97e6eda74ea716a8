using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>The canary judge drives the rollout end to end over simulated hosts that report per-version metrics.</summary>
[Collection(ClusterCollection.Name)]
public class CanaryAnalysisTests(ClusterFixture fixture)
{
    private static readonly SimulatedMetrics Stable = new() { ErrorRatePercent = 1.0, P99LatencyMs = 100 };

    private IGrainFactory Grains => fixture.Grains;

    /// <summary>25 % of the hosts, then the analysis.</summary>
    private static RolloutStrategySpec CanaryThen(AnalysisDeclaration analysis) => new()
    {
        Type = "canary",
        Steps = [new CanaryStepDeclaration { SetWeight = 25 }, new CanaryStepDeclaration { Analysis = analysis }],
    };

    private static RolloutStrategySpec CanaryWithJudge() => CanaryThen(new AnalysisDeclaration
    {
        DurationSeconds = 1,
        Judge = new JudgeDeclaration
        {
            Metrics =
            [
                new JudgeMetricDeclaration { Name = "errorRatePercent", Direction = "increase", Critical = true },
                new JudgeMetricDeclaration { Name = "p99LatencyMs", Direction = "increase" },
            ],
        },
    });

    [Fact]
    public async Task A_good_version_passes_the_judge_and_completes()
    {
        var env = Unique("judge-ok");
        var hosts = await CreateEnvironment(Grains, env, 12, latencyMs: 2, metricsByVersion: new Dictionary<string, SimulatedMetrics>
        {
            ["1.0.0"] = Stable,
            ["2.0.0"] = Stable,
        });
        var release = await CreateRelease(Grains, "web", "2.0.0");
        using var telemetry = new TelemetryRecorder();

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, CanaryWithJudge())).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(1, telemetry.Sum("deploy_engine.analysis.verdicts", ("verdict", "Pass"), ("deploy.environment", env)));
        Assert.Equal(0, telemetry.Sum("deploy_engine.analysis.verdicts", ("verdict", "Fail"), ("deploy.environment", env)));
        var analysis = await Grains.GetGrain<ICanaryAnalysisGrain>(Assert.Single(done.Analyses)).Get();
        Assert.Equal("Pass", analysis!.Verdict!.Outcome);
        Assert.NotEmpty(analysis.Samples["errorRatePercent"].Baseline);
        Assert.NotEmpty(analysis.Samples["errorRatePercent"].Canary);
        Assert.Contains(done.Decisions, d => d.Kind == "analysis-passed" && d.Reason.Contains(analysis.Id, StringComparison.Ordinal));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task A_version_with_three_times_the_error_rate_is_rolled_back_by_the_judge_and_the_log_names_the_analysis()
    {
        var env = Unique("judge-bad");
        var hosts = await CreateEnvironment(Grains, env, 12, latencyMs: 2, metricsByVersion: new Dictionary<string, SimulatedMetrics>
        {
            ["1.0.0"] = Stable,
            ["2.0.0"] = Stable with { ErrorRatePercent = 3.0 },
        });
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, CanaryWithJudge())).Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var analysisId = Assert.Single(done.Analyses);
        Assert.Contains(analysisId, done.StatusReason);
        var analysis = await Grains.GetGrain<ICanaryAnalysisGrain>(analysisId).Get();
        Assert.Equal("Fail", analysis!.Verdict!.Outcome);
        Assert.Equal("High", analysis.Verdict.Metrics.Single(m => m.Name == "errorRatePercent").Classification);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task A_version_with_no_data_is_paused_for_a_human_not_passed()
    {
        var env = Unique("judge-nodata");
        await CreateEnvironment(Grains, env, 8, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var held = await WaitFor(Grains, (await StartRollout(Grains, release, env, CanaryWithJudge())).Id, r => r.Status == RolloutStatus.Paused);

        Assert.Contains("not a pass", held.StatusReason);
        Assert.Equal(2, held.Hosts.Updated);
        Assert.Equal(6, held.Hosts.Untouched);
    }

    [Theory]
    [InlineData(1.0, RolloutStatus.Succeeded, "Successful")]
    [InlineData(3.0, RolloutStatus.RolledBack, "Failed")]
    public async Task Threshold_metrics_measured_over_the_step_decide_like_an_argo_analysis_run(double errorRate, RolloutStatus expected, string phase)
    {
        var env = Unique("run");
        var hosts = await CreateEnvironment(Grains, env, 8, latencyMs: 2, metricsByVersion: new Dictionary<string, SimulatedMetrics>
        {
            ["1.0.0"] = Stable,
            ["2.0.0"] = Stable with { ErrorRatePercent = errorRate },
        });
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var strategy = CanaryThen(new AnalysisDeclaration
        {
            DurationSeconds = 2,
            Metrics = [new ThresholdMetricDeclaration { Name = "errors", Source = "errorRatePercent", SuccessCondition = "result < 2", Count = 2 }],
        });

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id);

        Assert.Equal(expected, done.Status);
        var analysis = await Grains.GetGrain<ICanaryAnalysisGrain>(Assert.Single(done.Analyses)).Get();
        Assert.Equal(phase, analysis!.Run!.Phase);
        // A failed measurement beyond failureLimit 0 ends the metric at once (Argo), so the bad version has one.
        Assert.Equal(expected == RolloutStatus.Succeeded ? 2 : 1, analysis.Run.Metrics.Single().Measurements.Count);
        Assert.All(analysis.Run.Metrics.Single().Measurements, m => Assert.NotNull(m.Value));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest(expected == RolloutStatus.Succeeded ? "2.0.0" : "1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task A_judge_metric_read_from_prometheus_compares_the_versions_it_returns()
    {
        fixture.Prometheus.Reset();
        fixture.Prometheus.Behave((call, response, ct) =>
        {
            // 2.0.0 is 60 % slower than 1.0.0 in what "Prometheus" returns.
            var slow = call.Query?.Contains("2.0.0", StringComparison.Ordinal) == true;
            var samples = Enumerable.Range(0, 20).Select(i => ((double)(1_800_000_000 + i), ((slow ? 160 : 100) + i % 5).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
            return PrometheusStub.Write(response, 200, PrometheusStub.Matrix((slow ? "2.0.0" : "1.0.0", samples)), ct);
        });
        var env = Unique("prom");
        var hosts = await CreateEnvironment(Grains, env, 8, latencyMs: 2);
        await Grains.GetGrain<IEnvironmentGrain>(env).RecordDeployed("web", new DeployedVersion { Version = "1.0.0", Artifact = Digest("1.0.0"), ReleaseId = "rel-old" });
        var release = await CreateRelease(Grains, "web", "2.0.0");
        using var telemetry = new TelemetryRecorder();
        var strategy = CanaryThen(new AnalysisDeclaration
        {
            DurationSeconds = 1,
            Judge = new JudgeDeclaration
            {
                Metrics = [new JudgeMetricDeclaration
                {
                    Name = "latency", Direction = "increase", Critical = true,
                    Query = "latency_ms{service=\"{{service}}\",version=\"{{version}}\"}", Provider = "prom",
                }],
            },
        });

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var analysis = await Grains.GetGrain<ICanaryAnalysisGrain>(Assert.Single(done.Analyses)).Get();
        Assert.Equal("High", analysis!.Verdict!.Metrics.Single().Classification);
        Assert.Equal(20, analysis.Samples["latency"].Canary.Count);
        Assert.Contains(fixture.Prometheus.Calls, c => c.Query == "latency_ms{service=\"web\",version=\"1.0.0\"}");

        // Each read of the provider is a client span naming the environment, service and version it asked about;
        // the failed verdict is counted on the engine meter.
        var queries = telemetry.Spans("metrics.query_range").Where(s => TelemetryRecorder.Tag(s, "deploy.environment") == env).ToList();
        Assert.Equal(["1.0.0", "2.0.0"], queries.Select(s => TelemetryRecorder.Tag(s, "deploy.version")).Distinct().Order());
        Assert.All(queries, s => Assert.Equal((System.Diagnostics.ActivityKind.Client, "web", "prom"),
            (s.Kind, TelemetryRecorder.Tag(s, "deploy.service"), TelemetryRecorder.Tag(s, "deploy.metrics.provider"))));
        Assert.Equal(1, telemetry.Sum("deploy_engine.analysis.verdicts", ("verdict", "Fail"), ("deploy.environment", env)));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task A_threshold_metric_that_fails_early_ends_the_step_at_the_failing_interval_not_at_its_end()
    {
        var env = Unique("early");
        await CreateEnvironment(Grains, env, 8, latencyMs: 2, metricsByVersion: new Dictionary<string, SimulatedMetrics>
        {
            ["1.0.0"] = Stable,
            ["2.0.0"] = Stable with { ErrorRatePercent = 5 },
        });
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var strategy = CanaryThen(new AnalysisDeclaration
        {
            DurationSeconds = 30,
            Metrics = [new ThresholdMetricDeclaration { Name = "errors", Source = "errorRatePercent", SuccessCondition = "result < 2", Count = 10 }],
        });

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id, timeout: TimeSpan.FromSeconds(25));

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var stepStarted = done.Decisions.Last(d => d.Kind == "step-started" && d.Reason.Contains("analysis", StringComparison.Ordinal)).At;
        var rolledBack = done.Decisions.First(d => d.Kind == "rollback").At;
        Assert.True(rolledBack - stepStarted < TimeSpan.FromSeconds(30), $"rolled back {rolledBack - stepStarted} after the analysis started");
    }

    [Fact]
    public async Task A_failing_dry_run_metric_is_shown_but_the_rollout_goes_on()
    {
        // Argo's dryRun (utils/analysis/helpers.go:84-101, analysis/analysis.go:520-541): the p99 metric fails, is
        // marked a dry run, and never decides; the deciding error-rate metric passes, so the rollout completes.
        var env = Unique("dry");
        await CreateEnvironment(Grains, env, 8, latencyMs: 2, metricsByVersion: new Dictionary<string, SimulatedMetrics>
        {
            ["1.0.0"] = Stable,
            ["2.0.0"] = Stable with { P99LatencyMs = 900 },
        });
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var strategy = CanaryThen(new AnalysisDeclaration
        {
            DurationSeconds = 2,
            Metrics =
            [
                new ThresholdMetricDeclaration { Name = "errors", Source = "errorRatePercent", SuccessCondition = "result < 2", Count = 2 },
                new ThresholdMetricDeclaration { Name = "candidate-p99", Source = "p99LatencyMs", SuccessCondition = "result < 500", Count = 2 },
            ],
            DryRun = [new DryRunDeclaration { MetricName = "^candidate-" }],
        });

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        var run = (await Grains.GetGrain<ICanaryAnalysisGrain>(Assert.Single(done.Analyses)).Get())!.Run!;
        Assert.Equal("Successful", run.Phase);
        var dry = run.Metrics.Single(m => m.Name == "candidate-p99");
        Assert.True(dry.DryRun);
        Assert.Equal("Failed", dry.Phase);
        Assert.Equal(1, run.DryRunSummary!.Failed);
    }
}
