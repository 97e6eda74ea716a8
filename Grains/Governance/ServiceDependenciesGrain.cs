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
}

/// <summary>The services (and semver ranges) one service depends on, per environment.</summary>
public sealed class ServiceDependenciesGrain(
    [PersistentState("dependencies", Stores.Blob)] IPersistentState<ServiceDependenciesGrainState> state,
    TimeProvider clock) : Grain, IServiceDependenciesGrain
{
    private string Service => this.GetPrimaryKeyString();

    [ReadOnly]
    public Task<ServiceDependenciesSnapshot> Get() => Task.FromResult(Snapshot());

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
    };
}
