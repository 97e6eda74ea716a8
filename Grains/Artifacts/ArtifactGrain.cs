using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Artifacts;

/// <summary>
/// One artifact's metadata and audit trail (the bytes live in <see cref="IArtifactStore"/>). Every change is
/// persisted, then published on the artifact's event stream with the actor and role.
/// </summary>
public sealed partial class ArtifactGrain(
    [PersistentState("artifact", Stores.Table)] IPersistentState<ArtifactGrainState> state,
    TimeProvider clock,
    ILogger<ArtifactGrain> logger) : Grain, IArtifactGrain
{
    private string Digest => this.GetPrimaryKeyString();

    private ArtifactGrainState S => state.State;

    private bool Known => S.Stored || S.ExternalUrl is not null || S.Releases.Count > 0 || S.DeletedAt is not null;

    [ReadOnly]
    public Task<ArtifactSnapshot?> Get() => Task.FromResult(Known ? Snapshot() : null);

    public async Task<ArtifactSnapshot> RecordUploaded(long size, ArtifactActor actor)
    {
        if (S.Stored)
        {
            // A retried upload: the catalog (what retention reads) may not have heard of it if the call below failed.
            await Catalog.Add(Digest, null, stored: true);
            return Snapshot();
        }

        S.Stored = true;
        S.Size = size;
        S.UploadedBy = actor.Name;
        S.UploadedAt = clock.GetUtcNow();
        S.DeletedAt = null;
        S.DeletedWhy = null;
        await state.WriteStateAsync();
        await Catalog.Add(Digest, null, stored: true);
        await Publish(EventTypes.ArtifactUploaded, "uploaded and verified against its digest", actor, new() { ["size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return Snapshot();
    }

    public async Task<CommandResult<ArtifactSnapshot>> RegisterExternal(string url, long? size, ArtifactActor actor)
    {
        if (S.ExternalUrl is { } existing)
        {
            if (!string.Equals(existing, url, StringComparison.Ordinal))
            {
                return CommandResult<ArtifactSnapshot>.Fail(ErrorKind.Conflict, $"artifact '{Digest}' is registered with another URL; a digest names one artifact");
            }

            await Catalog.Add(Digest, null, stored: S.Stored);
            return CommandResult<ArtifactSnapshot>.Success(Snapshot());
        }

        if (size is not null && S.Size is not null && S.Size != size)
        {
            return CommandResult<ArtifactSnapshot>.Fail(ErrorKind.Conflict, $"artifact '{Digest}' is stored with size {S.Size}, not {size}");
        }

        S.ExternalUrl = url;
        S.Size ??= size;
        S.RegisteredBy = actor.Name;
        S.RegisteredAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        await Catalog.Add(Digest, null, stored: S.Stored);
        await Publish(EventTypes.ArtifactRegistered, "registered by digest and external URL", actor, new() { ["url"] = url });
        return CommandResult<ArtifactSnapshot>.Success(Snapshot());
    }

    public async Task LinkRelease(ArtifactRelease release)
    {
        if (S.Releases.Any(r => string.Equals(r.ReleaseId, release.ReleaseId, StringComparison.Ordinal)))
        {
            await Catalog.Add(Digest, release.Service, stored: S.Stored);
            return;
        }

        S.Releases.Add(release);
        await state.WriteStateAsync();
        await Catalog.Add(Digest, release.Service, stored: S.Stored);
    }

    public async Task RecordVerificationFailure(string computed, string where, ArtifactActor actor)
    {
        var reason = $"artifact verification failed: expected {Digest}, got {computed} ({where})";
        LogVerificationFailed(logger, Digest, computed, where);
        S.LastVerificationFailure = reason;
        await state.WriteStateAsync();
        await Publish(EventTypes.ArtifactVerificationFailed, reason, actor, new() { ["computed"] = computed, ["where"] = where });
    }

    public async Task RecordDeleted(string why, ArtifactActor actor)
    {
        S.Stored = false;
        S.DeletedAt = clock.GetUtcNow();
        S.DeletedWhy = why;
        await state.WriteStateAsync();
        await Publish(EventTypes.ArtifactDeleted, why, actor, new());
    }

    private IArtifactCatalogGrain Catalog => GrainFactory.Ref<IArtifactCatalogGrain>(GrainKeys.ArtifactCatalog);

    private Task Publish(string type, string reason, ArtifactActor actor, Dictionary<string, string> data)
    {
        data["actor"] = actor.Name;
        data["role"] = actor.Role;
        data["artifact"] = Digest;
        if (S.Releases.Count > 0)
        {
            data["release"] = string.Join(",", S.Releases.Select(r => r.ReleaseId));
        }

        var events = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.ArtifactEvents(Digest), clock);
        return events.Publish(type, "artifact/" + Digest, reason, data);
    }

    private ArtifactSnapshot Snapshot() => new()
    {
        Digest = Digest,
        Stored = S.Stored,
        Size = S.Size,
        UploadedBy = S.UploadedBy,
        UploadedAt = S.UploadedAt,
        ExternalUrl = S.ExternalUrl,
        RegisteredBy = S.RegisteredBy,
        RegisteredAt = S.RegisteredAt,
        Releases = S.Releases.ToList(),
        DeletedAt = S.DeletedAt,
        DeletedWhy = S.DeletedWhy,
        LastVerificationFailure = S.LastVerificationFailure,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact {Digest} failed verification: its bytes hash to {Computed} ({Where})")]
    private static partial void LogVerificationFailed(ILogger logger, string digest, string computed, string where);
}
