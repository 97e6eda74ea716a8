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

    public async Task<CommandResult<ChangeRecordSnapshot>> Create(ChangeRecordCommand command)
    {
        if (state.State.Record is not null)
        {
            return CommandResult<ChangeRecordSnapshot>.Fail(ErrorKind.Conflict, $"change record '{Id}' already exists; change its state with PUT /v1/change-records/{Id}/state");
        }

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
        };
        await state.WriteStateAsync();
        await Publish(command, $"change record {Id} created ({command.State})");
        return CommandResult<ChangeRecordSnapshot>.Success(state.State.Record);
    }

    public async Task<CommandResult<ChangeRecordSnapshot>> SetState(ChangeRecordCommand command)
    {
        if (state.State.Record is not { } record)
        {
            return CommandResult<ChangeRecordSnapshot>.Fail(ErrorKind.NotFound, $"change record '{Id}' does not exist");
        }

        var was = record.State;
        state.State.Record = record with { State = command.State, UpdatedBy = command.Actor, UpdatedAt = clock.GetUtcNow(), Reason = command.Reason };
        await state.WriteStateAsync();
        await Publish(command, $"change record {Id}: {was} → {command.State}" + (command.Reason is { } why ? $" ({why})" : ""));
        return CommandResult<ChangeRecordSnapshot>.Success(state.State.Record);
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
