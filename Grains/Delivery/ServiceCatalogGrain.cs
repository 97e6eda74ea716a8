using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Delivery;

[GenerateSerializer]
[Alias("ServiceCatalogState")]
public sealed class ServiceCatalogState
{
    [Id(0)] public Dictionary<string, ServiceEntry> Services { get; set; } = [];
}

/// <summary>
/// The services the DORA ledger has seen and the team that owns each. Written once per new service (a ledger notes
/// its service on its first record) and when an owner changes: never on the path of a rollout.
/// </summary>
public sealed class ServiceCatalogGrain(
    [PersistentState("service-catalog", Stores.Blob)] IPersistentState<ServiceCatalogState> state,
    TimeProvider clock) : Grain, IServiceCatalogGrain
{
    public async Task Add(string service)
    {
        if (state.State.Services.ContainsKey(service)) return;
        state.State.Services[service] = new ServiceEntry { Service = service };
        await state.WriteStateAsync();
    }

    public async Task<CommandResult<ServiceEntry>> SetTeam(string service, string? team, GovernanceActor actor, EnvironmentPrecondition precondition)
    {
        // Checked in the same turn as the write (this activation is not reentrant): of two writers holding one ETag, one wins.
        var existing = state.State.Services.GetValueOrDefault(service);
        return precondition.Refusal($"service '{service}'", existing is not null, existing?.Version ?? 0) is { } stale
            ? CommandResult<ServiceEntry>.Fail(ErrorKind.PreconditionFailed, stale)
            : CommandResult<ServiceEntry>.Success(await SetTeam(service, team, actor));
    }

    [ReadOnly]
    public Task<ServiceEntry?> Get(string service) => Task.FromResult(state.State.Services.GetValueOrDefault(service));

    public async Task<ServiceEntry> SetTeam(string service, string? team, GovernanceActor actor)
    {
        var existing = state.State.Services.GetValueOrDefault(service);
        if (existing is not null && existing.Team == team)
        {
            return existing;
        }

        var entry = new ServiceEntry { Service = service, Team = team, TeamSetBy = actor.Name, TeamSetAt = clock.GetUtcNow(), Version = (existing?.Version ?? 0) + 1 };

        state.State.Services[service] = entry;
        await state.WriteStateAsync();
        await new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.ServiceEvents(service), clock).Publish(
            EventTypes.ServiceOwnerChanged, "service/" + service,
            team is null ? $"service '{service}' has no owning team any more" : $"service '{service}' is owned by team '{team}'",
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [AuditFields.Actor] = actor.Name,
                [AuditFields.Role] = actor.Role ?? "unknown",
                ["service"] = service,
                ["team"] = team ?? string.Empty,
            });
        return entry;
    }

    [ReadOnly]
    public Task<IReadOnlyList<ServiceEntry>> List() =>
        Task.FromResult<IReadOnlyList<ServiceEntry>>(state.State.Services.Values.OrderBy(s => s.Service, StringComparer.Ordinal).ToList());
}
