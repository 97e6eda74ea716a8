using System.Globalization;
using Deploy.Engine.Domain.Configuration;
using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Grains.Environments;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;
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

    /// <summary>Parameter changes proposed for approval: every pending one and the last decided ones, oldest first.</summary>
    [Id(5)] public List<ParameterChangeSnapshot> Changes { get; set; } = [];
}

/// <summary>
/// One environment's parameter set. Its change event names the parameters and the secrets, never a value: values
/// may be sensitive too, and secrets arrive protected (the event would otherwise carry ciphertext into every feed).
/// The set of a production-tier or protected environment changes only through an approved parameter change, decided by
/// the rule its declaration changes take (<see cref="ChangeProposals"/>): as many change authorities other than the
/// proposer approve it as <c>Governance:EnvironmentChangeApprovals:{env}</c> (else <c>DeclarationChangeApprovals</c>) asks.
/// </summary>
public sealed class EnvironmentParametersGrain(
    [PersistentState("parameters", Stores.Table)] IPersistentState<EnvironmentParametersState> state,
    IOptionsMonitor<GovernanceOptions> governance,
    TimeProvider clock) : Grain, IEnvironmentParametersGrain
{
    private string Environment => this.GetPrimaryKeyString();

    private EnvironmentParametersState S => state.State;

    public async Task<ParameterSet> Replace(ParameterSet parameters, ArtifactActor actor)
    {
        await Apply(parameters, actor.Name, actor.Role, reason: null);
        return Snapshot();
    }

    public async Task<CommandResult<ParameterOutcome>> Propose(ParameterSet parameters, ArtifactActor actor, EnvironmentPrecondition precondition)
    {
        // Checked in the same turn as the write (this activation is not reentrant): of two writers holding one ETag, one wins.
        if (precondition.Refusal($"the parameters of '{Environment}'", S.Version > 0, S.Version) is { } stale)
        {
            return CommandResult<ParameterOutcome>.Fail(ErrorKind.PreconditionFailed, stale);
        }

        var isProtected = await GrainFactory.GetGrain<IGovernanceGrain>(GrainKeys.Governance).IsProtected(Environment);
        var required = governance.CurrentValue.ChangeApprovalsFor(Environment);
        if (ParameterChangeRules.ApprovalNeeded(Environment, isProtected, required) is not { } approval)
        {
            await Apply(parameters, actor.Name, actor.Role, reason: null);
            return CommandResult<ParameterOutcome>.Success(new ParameterOutcome { Applied = Snapshot() });
        }

        var change = new ParameterChangeSnapshot
        {
            Id = "pc-" + Guid.NewGuid().ToString("n")[..16],
            Environment = Environment,
            State = DeclarationChangeState.Pending,
            Proposed = new ParameterSet
            {
                Values = new Dictionary<string, string>(parameters.Values, StringComparer.Ordinal),
                ProtectedSecrets = new Dictionary<string, string>(parameters.ProtectedSecrets, StringComparer.Ordinal),
            },
            ProposedAgainst = S.Version,
            Differences = ParameterChangeRules.Diff(S.Values, S.ProtectedSecrets.Keys, parameters.Values, parameters.ProtectedSecrets.Keys.ToList())
                .Select(d => new DeclarationFieldChange { Field = d.Field, Before = d.Expected, After = d.Actual })
                .ToList(),
            ProposedBy = actor.Name,
            ProposedByRoles = actor.Role,
            ProposedAt = clock.GetUtcNow(),
            ApprovalNeeded = approval,
            ApprovalsRequired = required,
        };
        S.Changes.Add(change);
        S.Changes.Trim();
        await state.WriteStateAsync();
        await Publish(EventTypes.ParameterChangeProposed, $"proposed parameter change {change.Id} against version {S.Version}", actor.Name, actor.Role, new Dictionary<string, string>
        {
            ["change"] = change.Id,
            ["fields"] = Fields(change),
        });
        return CommandResult<ParameterOutcome>.Success(new ParameterOutcome { Pending = change });
    }

    public async Task<CommandResult<ParameterChangeSnapshot>> Decide(string changeId, bool approve, Actor actor)
    {
        var index = S.Changes.FindIndex(c => string.Equals(c.Id, changeId, StringComparison.Ordinal));
        if (index < 0)
        {
            return CommandResult<ParameterChangeSnapshot>.Fail(ErrorKind.NotFound, $"environment '{Environment}' has no parameter change '{changeId}'");
        }

        var change = S.Changes[index];
        var decision = ChangeProposals.Decide(ChangeSubject.Parameters, Environment, change.ToProposal(), actor.Name, approve, S.Version,
            governance.CurrentValue.ChangeApprovalsFor(Environment));
        if (decision.Refused) return decision.Refusal<ParameterChangeSnapshot>();
        var fields = new Dictionary<string, string>
        {
            ["change"] = changeId,
            ["proposedBy"] = change.ProposedBy,
            ["fields"] = Fields(change),
        };

        // More approvals needed: the vote is kept, nothing applies.
        if (decision.Verdict == ChangeVerdict.Voted)
        {
            var voted = S.Changes[index] = change with { ApprovedBy = decision.ApprovedBy, ApprovalsRequired = decision.Required };
            await state.WriteStateAsync();
            fields["approvals"] = decision.Approvals.ToString(CultureInfo.InvariantCulture);
            fields["required"] = decision.Required.ToString(CultureInfo.InvariantCulture);
            await Publish(EventTypes.ParameterChangeVoted, decision.Reason, actor.Name, actor.Roles, fields);
            return CommandResult<ParameterChangeSnapshot>.Success(voted);
        }

        var applied = decision.Verdict == ChangeVerdict.Applied;
        var decided = S.Changes[index] = change with
        {
            ApprovedBy = decision.ApprovedBy,
            ApprovalsRequired = decision.Required,
            State = applied ? DeclarationChangeState.Approved : DeclarationChangeState.Rejected,
            DecidedBy = actor.Name,
            DecidedAt = clock.GetUtcNow(),
            DecisionReason = actor.Reason,
            AppliedVersion = applied ? S.Version + 1 : null,
        };
        S.Changes.Trim();
        if (applied)
        {
            // The decision and the set are written together (Apply writes the state once).
            await Apply(change.Proposed, change.ProposedBy, change.ProposedByRoles, decision.Reason);
        }
        else
        {
            await state.WriteStateAsync();
        }

        await Publish(applied ? EventTypes.ParameterChangeApproved : EventTypes.ParameterChangeRejected,
            actor.Reason ?? $"{(applied ? "approved" : "rejected")} parameter change {changeId} proposed by {change.ProposedBy}",
            actor.Name, actor.Roles, fields);
        return CommandResult<ParameterChangeSnapshot>.Success(decided);
    }

    /// <summary>
    /// Newest first. A pending change shows the count it needs now (<see cref="ChangeProposals.Required"/>); one decided
    /// before the count was stored (it reads 0) needed one approval, its decider's.
    /// </summary>
    [ReadOnly]
    public Task<IReadOnlyList<ParameterChangeSnapshot>> Changes()
    {
        var configured = governance.CurrentValue.ChangeApprovalsFor(Environment);
        return Task.FromResult<IReadOnlyList<ParameterChangeSnapshot>>(S.Changes.AsEnumerable().Reverse().Select(c => c switch
        {
            { State: DeclarationChangeState.Pending } => c with { ApprovalsRequired = ChangeProposals.Required(c.ApprovalsRequired, configured) },
            { ApprovalsRequired: 0, State: DeclarationChangeState.Approved, ApprovedBy.Count: 0, DecidedBy: { } by } => c with { ApprovalsRequired = 1, ApprovedBy = [by] },
            { ApprovalsRequired: 0 } => c with { ApprovalsRequired = 1 },
            _ => c,
        }).ToList());
    }

    [ReadOnly]
    public Task<ParameterSet?> Get() => Task.FromResult(S.Version == 0 ? null : Snapshot());

    private async Task Apply(ParameterSet parameters, string actor, string role, string? reason)
    {
        S.Values = new Dictionary<string, string>(parameters.Values, StringComparer.Ordinal);
        S.ProtectedSecrets = new Dictionary<string, string>(parameters.ProtectedSecrets, StringComparer.Ordinal);
        S.Version++;
        S.UpdatedBy = actor;
        S.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        await Publish(EventTypes.ParametersChanged, reason ?? $"parameter set replaced (version {S.Version})", actor, role, new Dictionary<string, string>
        {
            ["values"] = string.Join(",", S.Values.Keys.Order(StringComparer.Ordinal)),
            ["secrets"] = string.Join(",", S.ProtectedSecrets.Keys.Order(StringComparer.Ordinal)),
        });
    }

    private Task Publish(string type, string reason, string actor, string role, Dictionary<string, string> data)
    {
        data["actor"] = actor;
        data["role"] = role;
        data["environment"] = Environment;
        data["version"] = S.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var events = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(Environment), clock);
        return events.Publish(type, "environment/" + Environment, reason, data);
    }

    /// <summary>The names a change touches, never a value (events reach every feed).</summary>
    private static string Fields(ParameterChangeSnapshot change)
    {
        var fields = string.Join(",", change.Differences.Select(d => d.Field));
        return fields.Length <= 2000 ? fields : fields[..1999] + "…";
    }

    private ParameterSet Snapshot() => new()
    {
        Values = new Dictionary<string, string>(S.Values, StringComparer.Ordinal),
        ProtectedSecrets = new Dictionary<string, string>(S.ProtectedSecrets, StringComparer.Ordinal),
        Version = S.Version,
        UpdatedBy = S.UpdatedBy,
        UpdatedAt = S.UpdatedAt,
    };
}
