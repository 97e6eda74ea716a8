using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Grains.Interfaces;
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
}

/// <summary>
/// One canary analysis: collects the samples hosts report during the step (canary side: hosts on the new version;
/// baseline: the version it replaces), then asks the Domain judge for a verdict, and keeps inputs and verdict so
/// the API can explain it and anyone can replay it. Samples are kept in memory until the verdict is stored with
/// them; a failover during the step loses the samples so far (the step's hosts are asked again on reactivation).
/// </summary>
public sealed class CanaryAnalysisGrain(
    [PersistentState("analysis", Stores.Blob)] IPersistentState<CanaryAnalysisGrainState> state,
    TimeProvider clock) : Grain, ICanaryAnalysisGrain
{
    /// <summary>Bound on the samples kept per metric and side.</summary>
    private const int MaxSamples = 5_000;

    private CanaryAnalysisGrainState S => state.State;

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
        if (S.Start is null || S.Verdict is not null)
        {
            return Task.CompletedTask;
        }

        var side = string.Equals(sample.Version, S.Start.CanaryVersion, StringComparison.Ordinal) ? S.Canary : S.Baseline;
        Add(side, "errorRatePercent", sample.ErrorRatePercent);
        Add(side, "p99LatencyMs", sample.P99LatencyMs);
        Add(side, "failedHealthChecks", sample.FailedHealthChecks);
        foreach (var (name, value) in sample.Values)
        {
            Add(side, name, value);
        }

        return Task.CompletedTask;
    }

    public async Task<AnalysisSnapshot> Conclude()
    {
        if (S.Start is null)
        {
            throw new InvalidOperationException($"analysis '{this.GetPrimaryKeyString()}' was never started");
        }

        if (S.Verdict is null)
        {
            S.Verdict = JudgeMapping.Judge(S.Start.Judge, Samples());
            S.ConcludedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
        }

        return Snapshot();
    }

    [ReadOnly]
    public Task<AnalysisSnapshot?> Get() => Task.FromResult(S.Start is null ? null : Snapshot());

    private static void Add(Dictionary<string, List<double>> side, string metric, double value)
    {
        if (!side.TryGetValue(metric, out var values))
        {
            side[metric] = values = [];
        }

        if (values.Count < MaxSamples)
        {
            values.Add(value);
        }
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
        Status = S.Verdict is null ? "running" : "concluded",
        Judge = S.Start.Judge,
        Samples = Samples(),
        Verdict = S.Verdict,
        StartedAt = S.StartedAt,
        ConcludedAt = S.ConcludedAt,
    };
}
