using Orleans.Storage;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Bench;

/// <summary>The baseline grain: a call that does nothing, and a fan-out that calls N of them.</summary>
[Alias("Deploy.Engine.Bench.INoOpGrain")]
public interface INoOpGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();

    /// <summary>Calls <paramref name="count"/> other no-op grains at once, as a rollback fans out to hosts.</summary>
    [Alias("FanOut")]
    Task FanOut(string prefix, int count);

    /// <summary>The same fan-out where every target persists a small state, as a host persists its command.</summary>
    [Alias("FanOutPersisted")]
    Task FanOutPersisted(string prefix, int count);
}

[Alias("Deploy.Engine.Bench.IStatefulNoOpGrain")]
public interface IStatefulNoOpGrain : IGrainWithStringKey
{
    [Alias("Touch")]
    Task Touch();
}

[GenerateSerializer]
[Alias("Deploy.Engine.Bench.TouchState")]
public sealed class TouchState
{
    [Id(0)] public long Touches { get; set; }
}

public sealed class StatefulNoOpGrain(
    [PersistentState("touch", Deploy.Engine.Grains.Stores.Table)] IPersistentState<TouchState> state) : Grain, IStatefulNoOpGrain
{
    public async Task Touch()
    {
        state.State.Touches++;
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            // Azurite answered a first insert too late and the retry found the entity already there: read it back and
            // write once more, so the baseline measures writes rather than failing on an overloaded machine.
            await state.ReadStateAsync();
            state.State.Touches++;
            await state.WriteStateAsync();
        }
    }
}

public sealed class NoOpGrain : Grain, INoOpGrain
{
    public Task Ping() => Task.CompletedTask;

    public Task FanOut(string prefix, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.Ref<INoOpGrain>(prefix + i).Ping()));

    public Task FanOutPersisted(string prefix, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.Ref<IStatefulNoOpGrain>(prefix + i).Touch()));
}
