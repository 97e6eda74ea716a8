using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("ChangeRecordGrainState")]
public sealed class ChangeRecordGrainState
{
    [Id(0)] public ChangeRecordSnapshot? Record { get; set; }
}

/// <summary>One change record of the built-in store, for teams without an ITSM system.</summary>
public sealed class ChangeRecordGrain(
    [PersistentState("change-record", Stores.Table)] IPersistentState<ChangeRecordGrainState> state,
    TimeProvider clock) : Grain, IChangeRecordGrain
{
    private string Id => this.GetPrimaryKeyString();

    private IChangeRecordCatalogGrain Catalog => GrainFactory.Ref<IChangeRecordCatalogGrain>(GrainKeys.ChangeRecordCatalog);

    public async Task<CommandResult<ChangeRecordSnapshot>> Create(ChangeRecordCommand command)
    {
        if (state.State.Record is not null)
        {
            // A retried create whose first catalog call failed: the listing hears of the record now (the same copy changes nothing).
            await Catalog.Record(state.State.Record);
            return CommandResult<ChangeRecordSnapshot>.Fail(ErrorKind.Conflict, $"change record '{Id}' already exists; change its state with PUT /v1/change-records/{Id}/state");
        }

        if (await SelfApproval(command.State, command.Release, command.Actor) is { } refusal) return refusal;
        var now = clock.GetUtcNow();
        state.State.Record = new ChangeRecordSnapshot
        {
            Id = Id,
            Title = command.Title ?? Id,
            State = command.State,
            Description = command.Description,
            CreatedBy = command.Actor,
            CreatedAt = now,
            UpdatedBy = command.Actor,
            UpdatedAt = now,
            Reason = command.Reason,
            Service = command.Service,
            Release = command.Release,
            Start = command.Start,
            End = command.End,
            ApprovedBy = command.State == ChangeRecordStatus.Approved ? command.Actor : null,
        };
        await state.WriteStateAsync();
        await Catalog.Record(state.State.Record);
        await Publish(command, $"change record {Id} created ({command.State}) for {command.Service}" +
            (command.Release is { } r ? $" release {r}" : "") + $" until {command.End:O}");
        return CommandResult<ChangeRecordSnapshot>.Success(state.State.Record);
    }

    public async Task<CommandResult<ChangeRecordSnapshot>> SetState(ChangeRecordCommand command)
    {
        if (state.State.Record is not { } record)
        {
            return CommandResult<ChangeRecordSnapshot>.Fail(ErrorKind.NotFound, $"change record '{Id}' does not exist");
        }

        if (await SelfApproval(command.State, record.Release, command.Actor) is { } refusal) return refusal;
        var was = record.State;
        state.State.Record = record with
        {
            State = command.State, UpdatedBy = command.Actor, UpdatedAt = clock.GetUtcNow(), Reason = command.Reason,
            ApprovedBy = command.State == ChangeRecordStatus.Approved ? command.Actor : null,
        };
        await state.WriteStateAsync();
        await Catalog.Record(state.State.Record);
        await Publish(command, $"change record {Id}: {was} → {command.State}" + (command.Reason is { } why ? $" ({why})" : ""));
        return CommandResult<ChangeRecordSnapshot>.Success(state.State.Record);
    }

    /// <summary>Four eyes: a key that submitted or deployed the release a record names never approves that record.</summary>
    private async Task<CommandResult<ChangeRecordSnapshot>?> SelfApproval(string newState, string? releaseId, string actor)
    {
        if (newState != ChangeRecordStatus.Approved || releaseId is null) return null;
        var release = await GrainFactory.Ref<IReleaseGrain>(releaseId).Get();
        return release is not null && SeparationOfDuties.Refusal(release.Authors(), actor, release.Id, Authorisation.Approve) is { } reason
            ? CommandResult<ChangeRecordSnapshot>.Fail(ErrorKind.PolicyRefused, $"change record {Id}: {reason}")
            : null;
    }

    [ReadOnly]
    public Task<ChangeRecordSnapshot?> Get() => Task.FromResult(state.State.Record);

    private Task Publish(ChangeRecordCommand command, string reason) =>
        new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.ChangeRecordEvents(Id), clock).Publish(
            EventTypes.ChangeRecordChanged, GrainKeys.ChangeRecordEvents(Id), reason, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [AuditFields.Actor] = command.Actor,
                [AuditFields.Role] = command.Role ?? "unknown",
                ["changeRecord"] = Id,
                ["state"] = command.State,
            });
}
