using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("IncidentsGrainState")]
public sealed class IncidentsGrainState
{
    /// <summary>Active incidents and the most recently resolved ones (see <see cref="IncidentsGrain.KeepResolved"/>).</summary>
    [Id(0)] public List<IncidentRecord> Incidents { get; set; } = [];
}

/// <summary>
/// Every incident of the engine, in one grain: there are few, the gates read the active ones at every reconcile
/// (an in-memory read-only answer), and resolving by id needs no index.
/// </summary>
public sealed class IncidentsGrain(
    [PersistentState("incidents", Stores.Blob)] IPersistentState<IncidentsGrainState> state,
    TimeProvider clock) : Grain, IIncidentsGrain
{
    public const int KeepResolved = 200;

    private List<IncidentRecord> Incidents => state.State.Incidents;

    public async Task<CommandResult<IncidentRecord>> Declare(IncidentRecord incident, GovernanceActor actor)
    {
        if (Incidents.FirstOrDefault(i => string.Equals(i.Id, incident.Id, StringComparison.Ordinal)) is { } existing)
        {
            // A webhook redelivers; a pipeline retries: the same active incident is the same answer.
            return existing.Active
                ? CommandResult<IncidentRecord>.Success(existing)
                : CommandResult<IncidentRecord>.Fail(ErrorKind.Conflict,
                    $"incident '{incident.Id}' was resolved at {existing.ResolvedAt:O} by {existing.ResolvedBy}; declare a new incident with another id");
        }

        var declared = incident with { DeclaredAt = clock.GetUtcNow(), DeclaredBy = actor.Name, ResolvedAt = null, ResolvedBy = null };
        Incidents.Add(declared);
        await state.WriteStateAsync();
        await Publish(EventTypes.IncidentDeclared, declared,
            $"incident '{declared.Id}' ({declared.Severity}: {declared.Title}) declared for {declared.ToDomain().Scope}; rollouts in scope hold", actor);
        return CommandResult<IncidentRecord>.Success(declared);
    }

    public async Task<CommandResult<IncidentRecord>> Resolve(string id, GovernanceActor actor)
    {
        var index = Incidents.FindIndex(i => string.Equals(i.Id, id, StringComparison.Ordinal));
        if (index < 0)
        {
            return CommandResult<IncidentRecord>.Fail(ErrorKind.NotFound, $"incident '{id}' does not exist");
        }

        if (!Incidents[index].Active)
        {
            return CommandResult<IncidentRecord>.Success(Incidents[index]);
        }

        var resolved = Incidents[index] with { ResolvedAt = clock.GetUtcNow(), ResolvedBy = actor.Name, Resolution = actor.Reason };
        Incidents[index] = resolved;
        var ended = Incidents.Where(i => !i.Active).OrderBy(i => i.ResolvedAt).ToList();
        foreach (var old in ended.Take(Math.Max(0, ended.Count - KeepResolved)))
        {
            Incidents.Remove(old);
        }

        await state.WriteStateAsync();
        await Publish(EventTypes.IncidentResolved, resolved,
            $"incident '{id}' resolved" + (string.IsNullOrWhiteSpace(actor.Reason) ? string.Empty : ": " + actor.Reason) + "; held rollouts go on", actor);
        return CommandResult<IncidentRecord>.Success(resolved);
    }

    [ReadOnly]
    public Task<IReadOnlyList<IncidentRecord>> Active() =>
        Task.FromResult<IReadOnlyList<IncidentRecord>>(Incidents.Where(i => i.Active).ToList());

    [ReadOnly]
    public Task<IncidentRecord?> Get(string id) =>
        Task.FromResult(Incidents.FirstOrDefault(i => string.Equals(i.Id, id, StringComparison.Ordinal)));

    private Task Publish(string type, IncidentRecord incident, string reason, GovernanceActor actor)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AuditFields.Actor] = actor.Name,
            [AuditFields.Role] = actor.Role ?? "unknown",
            ["incident"] = incident.Id,
            ["severity"] = incident.Severity,
            ["source"] = incident.Source,
        };
        if (incident.Environment is not null) data["environment"] = incident.Environment;
        if (incident.Service is not null) data["service"] = incident.Service;
        // The release: the one the declarer named, else the one the engine found active (rolling out or deployed).
        if (incident.ReleaseId is not null)
        {
            data["release"] = incident.ReleaseId;
            data["releaseLink"] = "named";
        }
        else if (incident.ActiveReleaseId is not null)
        {
            data["release"] = incident.ActiveReleaseId;
            data["releaseLink"] = incident.ActiveReleaseLink ?? "deployed";
        }

        return new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.IncidentEvents, clock)
            .Publish(type, "incident/" + incident.Id, reason, data);
    }
}
