using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Metrics;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Analysis;

[GenerateSerializer]
[Alias("CanaryAnalysisGrainState")]
public sealed class CanaryAnalysisGrainState
{
    [Id(0)] public AnalysisStart? Start { get; set; }

    [Id(1)] public Dictionary<string, List<double>> Baseline { get; set; } = [];

    [Id(2)] public Dictionary<string, List<double>> Canary { get; set; } = [];

    [Id(3)] public JudgeVerdictView? Verdict { get; set; }

    [Id(4)] public DateTimeOffset StartedAt { get; set; }

    [Id(5)] public DateTimeOffset? ConcludedAt { get; set; }

    /// <summary>Seconds after the start each canary value arrived (aligned with <see cref="Canary"/>), for the interval measurements.</summary>
    [Id(6)] public Dictionary<string, List<double>> CanaryAt { get; set; } = [];

    [Id(7)] public AnalysisRunView? Run { get; set; }

    [Id(8)] public string? Outcome { get; set; }

    [Id(9)] public string? Reason { get; set; }

    /// <summary>Provider queries that failed, with why (their metrics count as having no data, or as errored measurements).</summary>
    [Id(10)] public List<string> QueryErrors { get; set; } = [];

    /// <summary>The step verdict <see cref="Outcome"/> names (null in analyses concluded before it was stored).</summary>
    [Id(150)] public StepVerdict? StepVerdict { get; set; }
}

/// <summary>
/// One canary analysis: collects the samples hosts report during the step (canary side: hosts on the new version;
/// baseline: the version it replaces), then asks the Domain judge for a verdict, and keeps inputs and verdict so
/// the API can explain it and anyone can replay it. Samples are kept in memory until the verdict is stored with
/// them; while it collects, what arrived is written every few seconds, so a failover loses at most those seconds.
/// </summary>
public sealed class CanaryAnalysisGrain(
    [PersistentState("analysis", Stores.Blob)] IPersistentState<CanaryAnalysisGrainState> state,
    TimeProvider clock,
    IMetricProvider metrics) : Grain, ICanaryAnalysisGrain
{
    /// <summary>Bound on the samples kept per metric and side.</summary>
    private const int MaxSamples = 5_000;

    /// <summary>How often samples collected since the last write are persisted while the analysis runs.</summary>
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(5);

    private bool _dirty;

    private CanaryAnalysisGrainState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(FlushEvery, FlushEvery));
        return base.OnActivateAsync(cancellationToken);
    }

    private async Task Flush(CancellationToken cancellationToken)
    {
        if (_dirty && S.Outcome is null)
        {
            _dirty = false;
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task<AnalysisSnapshot> Start(AnalysisStart start)
    {
        if (S.Start is null)
        {
            S.Start = start;
            S.StartedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
        }

        return Snapshot();
    }

    public Task Record(HostMetricsSample sample)
    {
        if (S.Start is null || S.Outcome is not null)
        {
            return Task.CompletedTask;
        }

        var canary = string.Equals(sample.Version, S.Start.CanaryVersion, StringComparison.Ordinal);
        var at = (clock.GetUtcNow() - S.StartedAt).TotalSeconds;
        void Add(string metric, double value)
        {
            var side = canary ? S.Canary : S.Baseline;
            if (!side.TryGetValue(metric, out var values))
            {
                side[metric] = values = [];
            }

            if (values.Count < MaxSamples)
            {
                values.Add(value);
                if (canary)
                {
                    (S.CanaryAt.TryGetValue(metric, out var times) ? times : S.CanaryAt[metric] = []).Add(at);
                }
            }
        }

        _dirty = true;
        Add("errorRatePercent", sample.ErrorRatePercent);
        Add("p99LatencyMs", sample.P99LatencyMs);
        Add("failedHealthChecks", sample.FailedHealthChecks);
        foreach (var (name, value) in sample.Values)
        {
            Add(name, value);
        }

        return Task.CompletedTask;
    }

    public async Task<AnalysisSnapshot> Conclude()
    {
        if (S.Start is null)
        {
            throw new InvalidOperationException($"analysis '{this.GetPrimaryKeyString()}' was never started");
        }

        if (S.Outcome is null)
        {
            var queried = await QueryJudgeMetrics();
            S.Verdict = S.Start.Judge is { } judge ? JudgeMapping.Judge(judge, Samples()) : null;
            S.Run = S.Start.Metrics.Count > 0 ? AnalysisRunMapping.View(await Measure()) : null;
            (S.StepVerdict, S.Reason) = Combine(S.Verdict, S.Run);
            S.Outcome = S.StepVerdict.Value.ToString();
            if (S.QueryErrors.Count > 0)
            {
                S.Reason += "; provider queries failed: " + string.Join("; ", S.QueryErrors);
            }
            else if (queried > 0)
            {
                S.Reason += $"; {queried} metrics read from their provider";
            }
            S.ConcludedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
        }

        return Snapshot();
    }

    public async Task<bool> HasFailedEarly()
    {
        if (S.Start is null || S.Outcome is not null || S.Start.Metrics.Count == 0)
        {
            return false;
        }

        var interim = await Measure(final: false);
        return interim.Phase is AnalysisPhase.Failed or AnalysisPhase.Error;
    }

    [ReadOnly]
    public Task<AnalysisSnapshot?> Get() => Task.FromResult(S.Start is null ? null : Snapshot());

    /// <summary>Judge metrics declared with a provider query are read from it for both sides, replacing pushed samples.</summary>
    private async Task<int> QueryJudgeMetrics()
    {
        var queried = 0;
        foreach (var metric in S.Start!.Judge?.Metrics ?? [])
        {
            if (metric?.Query is not { } query || metric.Provider is not { } provider || metric.Name is not { } name)
            {
                continue;
            }

            var window = (S.StartedAt, clock.GetUtcNow());
            var step = TimeSpan.FromSeconds(Math.Max(1, (window.Item2 - window.Item1).TotalSeconds / 30));
            var baseline = await Query(provider, query, S.Start.BaselineVersion, window, step);
            var canary = await Query(provider, query, S.Start.CanaryVersion, window, step);
            S.Baseline[name] = baseline.Ok ? baseline.Values.Take(MaxSamples).ToList() : [];
            S.Canary[name] = canary.Ok ? canary.Values.Take(MaxSamples).ToList() : [];
            foreach (var failed in new[] { baseline, canary }.Where(r => !r.Ok))
            {
                S.QueryErrors.Add($"{name}: {failed.Error}");
            }

            queried++;
        }

        return queried;
    }

    private Task<MetricSeriesResult> Query(string provider, string query, string? version, (DateTimeOffset Start, DateTimeOffset End) window, TimeSpan step) =>
        version is null
            ? Task.FromResult(MetricSeriesResult.Fail("no baseline version is recorded for the environment"))
            : metrics.QueryRange(new MetricQuery(provider, query, window.Start, window.End, step, new Dictionary<string, string>
            {
                ["version"] = version,
                ["service"] = S.Start!.Service ?? string.Empty,
                ["environment"] = S.Start.Environment ?? string.Empty,
            }), CancellationToken.None);

    /// <summary>
    /// Each threshold metric measured once per interval over the step, starting after its initial delay: the mean of
    /// the canary's values that arrived in [delay + k·interval, delay + (k+1)·interval) after the start, or no data when
    /// none did — or, for a metric with a provider query, the provider's value for that interval; then Argo's
    /// evaluation (terminated at the end of the step) with the step's dry-run rules.
    /// </summary>
    private async Task<AnalysisRunResult> Measure(bool final = true)
    {
        var duration = TimeSpan.FromSeconds(S.Start!.DurationSeconds);
        var elapsed = (clock.GetUtcNow() - S.StartedAt).TotalSeconds;
        var runs = new List<(ThresholdMetric, IReadOnlyList<Measurement>)>();
        foreach (var declared in S.Start.Metrics)
        {
            var metric = AnalysisRunMapping.ToMetric(declared, "metric.", new Domain.Validation.ValidationErrors(), duration)
                ?? throw new InvalidOperationException("the metric was validated when it was declared");
            var interval = (metric.Interval ?? duration).TotalSeconds;
            var delay = (metric.InitialDelay ?? TimeSpan.Zero).TotalSeconds;
            // Before the end, only the intervals that are over have been measured (none before the initial delay: Pending).
            var count = final ? metric.EffectiveCount ?? 1 : Math.Clamp((int)((elapsed - delay) / interval), 0, metric.EffectiveCount ?? int.MaxValue);
            List<Measurement> measurements;
            if (declared.Query is { } query && declared.Provider is { } provider)
            {
                // One value per interval straight from the provider; a failed query is an errored measurement each time.
                var from = S.StartedAt.AddSeconds(delay);
                var result = count == 0 ? MetricSeriesResult.Fail("nothing to measure yet")
                    : await Query(provider, query, S.Start.CanaryVersion, (from, from.AddSeconds(interval * count)), TimeSpan.FromSeconds(interval));
                measurements = Enumerable.Range(0, count).Select(k => result.Ok
                    ? new Measurement(k < result.Values.Count ? result.Values[k] : null)
                    : new Measurement(null, result.Error)).ToList();
            }
            else
            {
                var source = declared.Source ?? metric.Name;
                var values = S.Canary.GetValueOrDefault(source) ?? [];
                var times = S.CanaryAt.GetValueOrDefault(source) ?? [];
                measurements = Enumerable.Range(0, count).Select(k =>
                {
                    var (start, end) = (delay + k * interval, delay + (k + 1) * interval);
                    var window = values.Where((_, i) => times[i] >= start && times[i] < end).ToList();
                    return new Measurement(window.Count == 0 ? null : window.Average(), At: S.StartedAt.AddSeconds(end));
                }).ToList();
            }

            runs.Add((metric, measurements));
        }

        return AnalysisRunEvaluator.Evaluate(runs, terminated: final, dryRun: S.Start.DryRun);
    }

    /// <summary>The worse of the two: Fail (judge Fail, run Failed or Error) over Hold (Marginal, no data, Inconclusive) over Pass.</summary>
    /// <summary>The worse of the judge's and the run's verdicts (<see cref="StepVerdicts"/>), with both reasons.</summary>
    private static (StepVerdict Verdict, string Reason) Combine(JudgeVerdictView? verdict, AnalysisRunView? run)
    {
        var parts = new List<string>();
        var verdicts = new List<StepVerdict>();
        if (verdict is not null)
        {
            parts.Add($"judge {verdict.Outcome}, score {verdict.Score:0.##}{(verdict.NoData ? ", no data on both sides" : string.Empty)}: {verdict.Reason}");
            verdicts.Add(StepVerdicts.FromJudge(Enum.Parse<JudgeOutcome>(verdict.Outcome), verdict.NoData));
        }

        if (run is not null)
        {
            parts.Add($"run {run.Phase}: {run.Reason}");
            verdicts.Add(StepVerdicts.FromRun(Enum.Parse<AnalysisPhase>(run.Phase)));
        }

        return (StepVerdicts.Combine(verdicts), string.Join("; ", parts));
    }

    private Dictionary<string, AnalysisSamples> Samples() =>
        S.Baseline.Keys.Union(S.Canary.Keys, StringComparer.Ordinal).ToDictionary(
            m => m,
            m => new AnalysisSamples { Baseline = S.Baseline.GetValueOrDefault(m) ?? [], Canary = S.Canary.GetValueOrDefault(m) ?? [] },
            StringComparer.Ordinal);

    private AnalysisSnapshot Snapshot() => new()
    {
        Id = this.GetPrimaryKeyString(),
        RolloutId = S.Start!.RolloutId,
        Step = S.Start.Step,
        CanaryVersion = S.Start.CanaryVersion,
        BaselineVersion = S.Start.BaselineVersion,
        Status = S.Outcome is null ? "running" : "concluded",
        Judge = S.Start.Judge,
        Samples = Samples(),
        Verdict = S.Verdict,
        StartedAt = S.StartedAt,
        ConcludedAt = S.ConcludedAt,
        Run = S.Run,
        Outcome = S.Outcome,
        Reason = S.Reason,
        StepVerdict = S.StepVerdict ?? (S.Outcome is { } outcome ? Enum.Parse<StepVerdict>(outcome) : null),
    };
}
