using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Configuration;

[GenerateSerializer]
[Alias("EnvironmentParametersState")]
public sealed class EnvironmentParametersState
{
    [Id(0)] public Dictionary<string, string> Values { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Name → Data Protection payload; the clear value never reaches this grain.</summary>
    [Id(1)] public Dictionary<string, string> ProtectedSecrets { get; set; } = new(StringComparer.Ordinal);

    [Id(2)] public long Version { get; set; }

    [Id(3)] public string? UpdatedBy { get; set; }

    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One environment's parameter set. Its change event names the parameters and the secrets, never a value: values
/// may be sensitive too, and secrets arrive protected (the event would otherwise carry ciphertext into every feed).
/// </summary>
public sealed class EnvironmentParametersGrain(
    [PersistentState("parameters", Stores.Table)] IPersistentState<EnvironmentParametersState> state,
    TimeProvider clock) : Grain, IEnvironmentParametersGrain
{
    public async Task<ParameterSet> Replace(ParameterSet parameters, ArtifactActor actor)
    {
        var s = state.State;
        s.Values = new Dictionary<string, string>(parameters.Values, StringComparer.Ordinal);
        s.ProtectedSecrets = new Dictionary<string, string>(parameters.ProtectedSecrets, StringComparer.Ordinal);
        s.Version++;
        s.UpdatedBy = actor.Name;
        s.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();

        var environment = this.GetPrimaryKeyString();
        var events = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(environment), clock);
        await events.Publish(EventTypes.ParametersChanged, "environment/" + environment, $"parameter set replaced (version {s.Version})", new Dictionary<string, string>
        {
            ["actor"] = actor.Name,
            ["role"] = actor.Role,
            ["environment"] = environment,
            ["values"] = string.Join(",", s.Values.Keys.Order(StringComparer.Ordinal)),
            ["secrets"] = string.Join(",", s.ProtectedSecrets.Keys.Order(StringComparer.Ordinal)),
        });
        return Snapshot();
    }

    [ReadOnly]
    public Task<ParameterSet?> Get() => Task.FromResult(state.State.Version == 0 ? null : Snapshot());

    private ParameterSet Snapshot() => new()
    {
        Values = new Dictionary<string, string>(state.State.Values, StringComparer.Ordinal),
        ProtectedSecrets = new Dictionary<string, string>(state.State.ProtectedSecrets, StringComparer.Ordinal),
        Version = state.State.Version,
        UpdatedBy = state.State.UpdatedBy,
        UpdatedAt = state.State.UpdatedAt,
    };
}
