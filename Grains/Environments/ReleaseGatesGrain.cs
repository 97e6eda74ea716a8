using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Environments;

[GenerateSerializer]
[Alias("ReleaseGatesState")]
public sealed class ReleaseGatesState
{
    [Id(0)] public List<GateResult> Results { get; set; } = [];
}

/// <summary>
/// The gate results a pipeline posted against one release, oldest first; the promotion gate reads the latest
/// result per (environment, gate). Each result is audited on the environment's event history.
/// </summary>
public sealed class ReleaseGatesGrain(
    [PersistentState("release-gates", Stores.Blob)] IPersistentState<ReleaseGatesState> state,
    TimeProvider clock) : Grain, IReleaseGatesGrain
{
    /// <summary>Enough for every gate of every environment many times over; the oldest results go first.</summary>
    public const int MaxResults = 1000;

    public async Task<IReadOnlyList<GateResult>> Record(GateResult result, Actor actor)
    {
        var recorded = result with { RecordedBy = actor.Name, RecordedAt = clock.GetUtcNow() };
        state.State.Results.Add(recorded);
        if (state.State.Results.Count > MaxResults)
        {
            state.State.Results.RemoveRange(0, state.State.Results.Count - MaxResults);
        }

        await state.WriteStateAsync();
        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(result.Environment), clock);
        await publisher.Publish(EventTypes.GateRecorded, "release/" + this.GetPrimaryKeyString(),
            actor.Reason ?? $"gate '{result.Gate}' {result.Status.ToString().ToLowerInvariant()} for '{result.Environment}'",
            new Dictionary<string, string>
            {
                ["actor"] = actor.Name,
                ["role"] = actor.Roles,
                ["release"] = this.GetPrimaryKeyString(),
                ["environment"] = result.Environment,
                ["gate"] = result.Gate,
                ["status"] = result.Status.ToString().ToLowerInvariant(),
                ["url"] = result.Url ?? string.Empty,
            });
        return state.State.Results.ToList();
    }

    [ReadOnly]
    public Task<IReadOnlyList<GateResult>> List() => Task.FromResult<IReadOnlyList<GateResult>>(state.State.Results.ToList());
}
