using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Releases;

[GenerateSerializer]
[Alias("ReleaseGrainState")]
public sealed class ReleaseGrainState
{
    [Id(0)] public ReleaseSnapshot? Release { get; set; }
}

/// <summary>One release: immutable once created, apart from the list of its rollouts, its approvals and readiness sign-offs.</summary>
public sealed class ReleaseGrain(
    [PersistentState("release", Stores.Table)] IPersistentState<ReleaseGrainState> state,
    TimeProvider clock,
    IOptionsMonitor<GovernanceOptions> governance,
    IOptionsMonitor<ArtifactOptions> artifacts) : Grain, IReleaseGrain
{
    public async Task<CommandResult<ReleaseSnapshot>> Create(ReleaseDraft draft)
    {
        if (state.State.Release is { } existing)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.Conflict, $"release '{existing.Id}' already exists");
        }

        var artifact = GrainFactory.Ref<IArtifactGrain>(draft.Artifact);
        if (artifacts.CurrentValue.RequireStored && await artifact.Get() is not ({ Stored: true } or { ExternalUrl: not null }))
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.PolicyRefused,
                $"artifact {draft.Artifact} is not in the artifact store: upload it (PUT /v1/artifacts/{draft.Artifact}) or register it " +
                "(POST /v1/artifacts/external) before releasing it (Artifacts:RequireStored)");
        }

        // The artifact learns which releases name it (who may read it, what retention keeps) before the release is
        // stored: the release record is the acknowledged write and comes last. A link to a release whose write then
        // failed names nothing (readers resolve each release and skip those that do not exist).
        await artifact.LinkRelease(new ArtifactRelease
        {
            ReleaseId = this.GetPrimaryKeyString(), Service = draft.Service, Version = draft.Version, CreatedAt = clock.GetUtcNow(),
        });

        state.State.Release = new ReleaseSnapshot
        {
            Id = this.GetPrimaryKeyString(),
            Service = draft.Service,
            Version = draft.Version,
            Artifact = draft.Artifact,
            Commit = draft.Commit,
            CommitTime = draft.CommitTime,
            Metadata = new Dictionary<string, string>(draft.Metadata, StringComparer.Ordinal),
            SubmittedBy = draft.SubmittedBy,
            CreatedAt = clock.GetUtcNow(),
            Class = draft.Class ?? "standard",
            Risk = draft.Risk ?? new ReleaseRiskDeclaration(),
            ChangeRecord = draft.ChangeRecord,
            KnownIssues = draft.KnownIssues.ToList(),
            ReconcileOf = draft.ReconcileOf,
            Schema = draft.Schema,
            Approvals = new List<ApprovalRecord>(),
            Readiness = new List<ReadinessRecord>(),
        };
        await state.WriteStateAsync();

        // Listed only once stored; if the catalog cannot take it the release is taken back, so the failure says
        // nothing was created (nothing can name it yet: its id was never returned).
        var created = state.State.Release;
        try
        {
            await GrainFactory.Ref<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Record(new ReleaseSummary
            {
                Id = created.Id, Service = created.Service, Version = created.Version, Artifact = created.Artifact,
                Commit = created.Commit, SubmittedBy = created.SubmittedBy, CreatedAt = created.CreatedAt, Class = created.Class,
            });
        }
        catch
        {
            await state.ClearStateAsync();
            state.State = new ReleaseGrainState();
            throw;
        }

        return CommandResult<ReleaseSnapshot>.Success(created);
    }

    public async Task<bool> Withdraw()
    {
        if (state.State.Release is not { } release)
        {
            // Withdrawn before, perhaps with the catalog call below failing: the retry removes the entry.
            await GrainFactory.Ref<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Remove(this.GetPrimaryKeyString());
            return true;
        }

        if (release.Rollouts.Count > 0)
        {
            return false;
        }

        // The release first (what a 503 promises is gone), then its catalog entry.
        await state.ClearStateAsync();
        state.State = new ReleaseGrainState();
        await GrainFactory.Ref<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Remove(release.Id);
        return true;
    }

    [ReadOnly]
    public Task<ReleaseSnapshot?> Get() => Task.FromResult(state.State.Release);

    public async Task AddRollout(string rolloutId, string deployedBy)
    {
        if (state.State.Release is not { } release
            || (release.Rollouts.Contains(rolloutId) && release.DeployedBy.Contains(deployedBy, StringComparer.Ordinal)))
        {
            return;
        }

        // A concrete list: stored state is JSON with type names, and compiler-made collection types do not resolve.
        state.State.Release = release with
        {
            Rollouts = release.Rollouts.Contains(rolloutId) ? release.Rollouts : release.Rollouts.Append(rolloutId).ToList(),
            DeployedBy = release.DeployedBy.Contains(deployedBy, StringComparer.Ordinal) ? release.DeployedBy : release.DeployedBy.Append(deployedBy).ToList(),
        };
        await state.WriteStateAsync();
    }

    public async Task<CommandResult<ReleaseSnapshot>> Vote(ApprovalCommand command)
    {
        if (state.State.Release is not { } release)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.NotFound, $"release '{this.GetPrimaryKeyString()}' does not exist");
        }

        if (SeparationOfDuties.Refusal(release.Authors(), command.Actor, release.Id,
                command.Approve ? Authorisation.Approve : Authorisation.Reject) is { } refusal)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.PolicyRefused, refusal);
        }

        var groups = governance.CurrentValue.GroupsOf(command.Actor);
        if (groups.Count == 0)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.PolicyRefused,
                $"'{command.Actor}' is not a designated approver: no approver group is configured for it (Governance:Approvers:{command.Actor})");
        }

        var vote = new ApprovalRecord
        {
            Environment = command.Environment,
            Approver = command.Actor,
            Decision = command.Approve ? "approve" : "reject",
            Reason = command.Reason,
            At = clock.GetUtcNow(),
            Groups = groups.ToList(),
        };
        // One vote per key and environment: a new vote replaces the key's earlier one (an approver may change their
        // mind), so repeated votes neither pile up in storage nor count twice.
        state.State.Release = release with
        {
            Approvals = release.Approvals
                .Where(a => !(string.Equals(a.Approver, vote.Approver, StringComparison.Ordinal) && string.Equals(a.Environment, vote.Environment, StringComparison.Ordinal)))
                .Append(vote).ToList(),
        };
        await state.WriteStateAsync();
        await Events.Publish(command.Approve ? EventTypes.ApprovalGiven : EventTypes.ApprovalRejected, GrainKeys.ReleaseEvents(release.Id),
            command.Approve
                ? $"{command.Actor} ({string.Join(", ", groups)}) approved {release.Service} {release.Version} for '{command.Environment}'" + (command.Reason is { } r ? $": {r}" : "")
                : $"{command.Actor} ({string.Join(", ", groups)}) rejected {release.Service} {release.Version} for '{command.Environment}': {command.Reason}",
            Data(release, command.Actor, command.Role, command.Environment));
        return CommandResult<ReleaseSnapshot>.Success(state.State.Release);
    }

    public async Task<CommandResult<ReleaseSnapshot>> SignOff(ReadinessCommand command)
    {
        if (state.State.Release is not { } release)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.NotFound, $"release '{this.GetPrimaryKeyString()}' does not exist");
        }

        var adopted = await GrainFactory.Ref<ILearningsGrain>(GrainKeys.Learnings).Adopted();
        var items = governance.CurrentValue.ToPolicy().ReadinessItems.Concat(adopted).Distinct(StringComparer.Ordinal).ToList();
        var item = items.FirstOrDefault(i => string.Equals(i, command.Item, StringComparison.OrdinalIgnoreCase));
        if (item is null)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.Validation, $"'{command.Item}' is not a readiness checklist item",
                new Dictionary<string, string[]> { ["item"] = [$"must be one of: {string.Join(", ", items)}"] });
        }

        var refusal = SeparationOfDuties.Refusal(release.Authors(), command.Actor, release.Id, Authorisation.SignOff)
            ?? SeparationOfDuties.ReadinessRefusal(release.SignOffs(), command.Actor, item, release.Id);
        if (refusal is not null)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.PolicyRefused, refusal);
        }

        var signOff = new ReadinessRecord
        {
            Item = item,
            SignedOffBy = command.SignedOffBy ?? command.Actor,
            RecordedBy = command.Actor,
            Note = command.Note,
            At = clock.GetUtcNow(),
        };
        // One sign-off per key and item: signing the same item again replaces the earlier one.
        state.State.Release = release with
        {
            Readiness = release.Readiness
                .Where(r => !(string.Equals(r.RecordedBy, signOff.RecordedBy, StringComparison.Ordinal) && string.Equals(r.Item, item, StringComparison.Ordinal)))
                .Append(signOff).ToList(),
        };
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.ReadinessSigned, GrainKeys.ReleaseEvents(release.Id),
            $"readiness item '{item}' signed off by {signOff.SignedOffBy}" + (command.Note is { } n ? $": {n}" : ""),
            Data(release, command.Actor, command.Role, null));
        return CommandResult<ReleaseSnapshot>.Success(state.State.Release);
    }

    private EventPublisher Events => new(this.GetStreamProvider(Stores.Events), GrainKeys.ReleaseEvents(this.GetPrimaryKeyString()), clock);

    private static Dictionary<string, string> Data(ReleaseSnapshot release, string actor, string? role, string? environment)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AuditFields.Actor] = actor,
            [AuditFields.Role] = role ?? "unknown",
            ["release"] = release.Id,
            ["service"] = release.Service,
            ["artifact"] = release.Artifact,
        };
        if (release.Commit is { } commit) data["commit"] = commit;
        if (environment is not null) data["environment"] = environment;
        return data;
    }
}
