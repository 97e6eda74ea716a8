using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Releases;

[GenerateSerializer]
[Alias("ReleaseGrainState")]
public sealed class ReleaseGrainState
{
    [Id(0)] public ReleaseSnapshot? Release { get; set; }
}

/// <summary>One release: immutable once created, apart from the list of its rollouts.</summary>
public sealed class ReleaseGrain(
    [PersistentState("release", Stores.Table)] IPersistentState<ReleaseGrainState> state,
    TimeProvider clock) : Grain, IReleaseGrain
{
    public async Task<CommandResult<ReleaseSnapshot>> Create(ReleaseDraft draft)
    {
        if (state.State.Release is { } existing)
        {
            return CommandResult<ReleaseSnapshot>.Fail(ErrorKind.Conflict, $"release '{existing.Id}' already exists");
        }

        state.State.Release = new ReleaseSnapshot
        {
            Id = this.GetPrimaryKeyString(),
            Service = draft.Service,
            Version = draft.Version,
            Artifact = draft.Artifact,
            Commit = draft.Commit,
            Metadata = new Dictionary<string, string>(draft.Metadata, StringComparer.Ordinal),
            SubmittedBy = draft.SubmittedBy,
            CreatedAt = clock.GetUtcNow(),
        };
        await state.WriteStateAsync();

        // The artifact learns which releases name it: who may read it, and what retention keeps.
        var release = state.State.Release;
        await GrainFactory.GetGrain<IArtifactGrain>(release.Artifact).LinkRelease(new ArtifactRelease
        {
            ReleaseId = release.Id, Service = release.Service, Version = release.Version, CreatedAt = release.CreatedAt,
        });
        return CommandResult<ReleaseSnapshot>.Success(state.State.Release);
    }

    [ReadOnly]
    public Task<ReleaseSnapshot?> Get() => Task.FromResult(state.State.Release);

    public async Task AddRollout(string rolloutId)
    {
        if (state.State.Release is not { } release || release.Rollouts.Contains(rolloutId))
        {
            return;
        }

        // A concrete list: stored state is JSON with type names, and compiler-made collection types do not resolve.
        state.State.Release = release with { Rollouts = release.Rollouts.Append(rolloutId).ToList() };
        await state.WriteStateAsync();
    }
}
