using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("ServiceDependenciesGrainState")]
public sealed class ServiceDependenciesGrainState
{
    [Id(0)] public Dictionary<string, List<DependencySpec>> ByEnvironment { get; set; } = [];

    [Id(1)] public string OnUnmet { get; set; } = "wait";

    /// <summary>Bumped by every write; 0 with no list stored: never declared.</summary>
    [Id(2)] public long Version { get; set; }
}

/// <summary>The services (and semver ranges) one service depends on, per environment.</summary>
public sealed class ServiceDependenciesGrain(
    [PersistentState("dependencies", Stores.Blob)] IPersistentState<ServiceDependenciesGrainState> state,
    TimeProvider clock) : Grain, IServiceDependenciesGrain
{
    private string Service => this.GetPrimaryKeyString();

    [ReadOnly]
    public Task<ServiceDependenciesSnapshot> Get() => Task.FromResult(Snapshot());

    public async Task<CommandResult<ServiceDependenciesSnapshot>> Set(
        string environment, IReadOnlyList<DependencySpec> dependsOn, string onUnmet, GovernanceActor actor, EnvironmentPrecondition precondition)
    {
        // Checked in the same turn as the write (this activation is not reentrant): of two writers holding one ETag, one wins.
        var exists = state.State.Version > 0 || state.State.ByEnvironment.Count > 0;
        return precondition.Refusal($"the dependencies of '{Service}'", exists, state.State.Version) is { } stale
            ? CommandResult<ServiceDependenciesSnapshot>.Fail(ErrorKind.PreconditionFailed, stale)
            : CommandResult<ServiceDependenciesSnapshot>.Success(await Set(environment, dependsOn, onUnmet, actor));
    }

    public async Task<ServiceDependenciesSnapshot> Set(string environment, IReadOnlyList<DependencySpec> dependsOn, string onUnmet, GovernanceActor actor)
    {
        if (dependsOn.Count == 0)
        {
            state.State.ByEnvironment.Remove(environment);
        }
        else
        {
            state.State.ByEnvironment[environment] = dependsOn.ToList();
        }

        state.State.OnUnmet = onUnmet;
        state.State.Version++;
        await state.WriteStateAsync();
        var where = environment == "*" ? "every environment" : $"'{environment}'";
        await new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.ServiceEvents(Service), clock).Publish(
            EventTypes.DependenciesChanged, "service/" + Service,
            actor.Reason ?? $"{Service} in {where} depends on " + (dependsOn.Count == 0 ? "nothing" : string.Join(", ", dependsOn.Select(d => $"{d.Service} {d.Range}"))) + $"; unmet: {onUnmet}",
            new Dictionary<string, string>
            {
                [AuditFields.Actor] = actor.Name,
                [AuditFields.Role] = actor.Role ?? "unknown",
                ["service"] = Service,
                ["environment"] = environment,
            });
        return Snapshot();
    }

    private ServiceDependenciesSnapshot Snapshot() => new()
    {
        Service = Service,
        ByEnvironment = state.State.ByEnvironment.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<DependencySpec>)kv.Value.ToList(), StringComparer.Ordinal),
        OnUnmet = state.State.OnUnmet,
        Version = state.State.Version,
    };
}
