using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Environments;

[GenerateSerializer]
[Alias("HostFactsState")]
public sealed class HostFactsState
{
    [Id(0)] public HostFactsReport? Facts { get; set; }
}

/// <summary>The facts an agent last reported for its host; the drift scan of the host's environment reads them.</summary>
public sealed class HostFactsGrain(
    [PersistentState("host-facts", Stores.Table)] IPersistentState<HostFactsState> state,
    TimeProvider clock) : Grain, IHostFactsGrain
{
    public async Task Report(HostFactsReport facts)
    {
        state.State.Facts = facts with
        {
            Services = facts.Services.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
            Runtime = facts.Runtime.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal),
            ReportedAt = clock.GetUtcNow(),
        };
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<HostFactsReport?> Get() => Task.FromResult(state.State.Facts);
}
