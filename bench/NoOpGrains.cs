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

    /// <summary>As <see cref="FanOutPersisted"/>, each target writing in its own turn as the engine's hosts do (<see cref="Deploy.Engine.Grains.TurnState{T}"/>).</summary>
    [Alias("FanOutPersistedInTurn")]
    Task FanOutPersistedInTurn(string prefix, int count);
}

[Alias("Deploy.Engine.Bench.IStatefulNoOpGrain")]
public interface IStatefulNoOpGrain : IGrainWithStringKey
{
    [Alias("Touch")]
    Task Touch();
}

[Alias("Deploy.Engine.Bench.ITurnStatefulNoOpGrain")]
public interface ITurnStatefulNoOpGrain : IGrainWithStringKey
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

/// <summary>The stateful no-op grain with its write in its own turn, without Orleans' storage bridge: the floor for the engine's hosts, which write so.</summary>
public sealed class TurnStatefulNoOpGrain(Microsoft.Extensions.Logging.ILogger<TurnStatefulNoOpGrain> logger) : Grain, ITurnStatefulNoOpGrain
{
    private Deploy.Engine.Grains.TurnState<TouchState> _state = null!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _state = await Deploy.Engine.Grains.TurnState<TouchState>.Load(ServiceProvider, this.GetGrainId(), "touch", Deploy.Engine.Grains.Stores.Table, logger);

    public async Task Touch()
    {
        _state.State.Touches++;
        try
        {
            await _state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            // As the bridge-written floor does when Azurite answered a first insert too late.
            await _state.ReadStateAsync();
            _state.State.Touches++;
            await _state.WriteStateAsync();
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

    public Task FanOutPersistedInTurn(string prefix, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.Ref<ITurnStatefulNoOpGrain>(prefix + i).Touch()));
}
