using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Environments;

[GenerateSerializer]
[Alias("EnvironmentRegistryState")]
public sealed class EnvironmentRegistryState
{
    [Id(0)] public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Every environment's name, written once when the environment is created.</summary>
public sealed class EnvironmentRegistryGrain(
    [PersistentState("environments", Stores.Blob)] IPersistentState<EnvironmentRegistryState> state) : Grain, IEnvironmentRegistryGrain
{
    public async Task Add(string environment)
    {
        if (state.State.Names.Add(environment))
        {
            await state.WriteStateAsync();
        }
    }

    [ReadOnly]
    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(state.State.Names.ToList());
}
