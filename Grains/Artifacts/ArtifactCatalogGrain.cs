using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Artifacts;

/// <summary>
/// Every artifact the engine knows, by digest with the services that released it: the listing and the retention run.
/// Retention reads what is live from the environments (recorded versions, host index) and the hosts (current,
/// desired and previous artifact), asks <see cref="ArtifactRetention"/> what to remove, removes the bytes, and
/// records each deletion on the artifact (artifact.deleted, with the actor and the reason).
/// </summary>
public sealed partial class ArtifactCatalogGrain(
    [PersistentState("artifacts", Stores.Table)] IPersistentState<ArtifactCatalogState> state,
    IArtifactStore store,
    IOptions<ArtifactOptions> options,
    TimeProvider clock,
    ILogger<ArtifactCatalogGrain> logger) : Grain, IArtifactCatalogGrain
{
    public async Task Add(string digest, string? service, bool stored)
    {
        if (!state.State.Entries.TryGetValue(digest, out var entry))
        {
            state.State.Entries[digest] = entry = new ArtifactCatalogRecord { AddedAt = clock.GetUtcNow() };
        }
        else if (entry.Stored == stored && (service is null || entry.Services.Contains(service, StringComparer.Ordinal)))
        {
            return;
        }

        entry.Stored = stored;
        if (service is not null && !entry.Services.Contains(service, StringComparer.Ordinal))
        {
            entry.Services.Add(service);
        }

        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<ArtifactCatalogEntry>> List(string? service) =>
        Task.FromResult<IReadOnlyList<ArtifactCatalogEntry>>(state.State.Entries
            .Where(e => service is null || e.Value.Services.Contains(service, StringComparer.Ordinal))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => new ArtifactCatalogEntry { Digest = e.Key, Services = e.Value.Services.ToList(), AddedAt = e.Value.AddedAt, Stored = e.Value.Stored })
            .ToList());

    public async Task<RetentionReport> RunRetention(ArtifactActor actor, bool dryRun)
    {
        var now = clock.GetUtcNow();
        var policy = new RetentionPolicy(options.Value.Retention.KeepLastReleasesPerServicePerEnvironment, options.Value.Retention.DeleteAfterDays);
        var stored = state.State.Entries.Where(e => e.Value.Stored).Select(e => e.Key).ToList();
        var artifacts = new List<RetainedArtifact>();
        foreach (var digest in stored)
        {
            artifacts.Add(await Facts(digest));
        }

        var live = await Live();
        var decisions = ArtifactRetention.Decide(artifacts, live, policy, now);
        var removed = new List<RetentionItem>();
        var kept = new List<RetentionItem>();
        foreach (var decision in decisions)
        {
            if (!decision.Remove)
            {
                kept.Add(new RetentionItem { Digest = decision.Digest, Why = decision.Why });
                continue;
            }

            if (!dryRun)
            {
                // The bytes first: a crash between the two leaves metadata that says stored, and the next run removes again.
                await store.Delete(decision.Digest);
                await GrainFactory.Ref<IArtifactGrain>(decision.Digest).RecordDeleted("retention: " + decision.Why, actor);
                state.State.Entries[decision.Digest].Stored = false;
                await state.WriteStateAsync();
                LogDeleted(logger, decision.Digest, decision.Why);
            }

            removed.Add(new RetentionItem { Digest = decision.Digest, Why = decision.Why });
        }

        return new RetentionReport { Removed = removed, Kept = kept, RanAt = now, DryRun = dryRun };
    }

    private async Task<RetainedArtifact> Facts(string digest)
    {
        var artifact = await GrainFactory.Ref<IArtifactGrain>(digest).Get();
        var releases = new List<RetainedRelease>();
        foreach (var link in artifact?.Releases ?? [])
        {
            var release = await GrainFactory.Ref<IReleaseGrain>(link.ReleaseId).Get();
            var environments = (release?.Rollouts ?? [])
                .Select(r => GrainKeys.TryParseRollout(r, out _, out var environment) ? environment : null)
                .OfType<string>()
                .ToList();
            releases.Add(new RetainedRelease(link.ReleaseId, link.Service, release?.CreatedAt ?? link.CreatedAt, environments));
        }

        return new RetainedArtifact(digest, artifact?.UploadedAt ?? artifact?.RegisteredAt ?? clock.GetUtcNow(), releases);
    }

    /// <summary>What runs or may run again: environments' recorded versions, hosts' current/desired (deployed) and previous (rollback target) artifacts.</summary>
    private async Task<LiveArtifacts> Live()
    {
        var deployed = new Dictionary<string, string>(StringComparer.Ordinal);
        var rollback = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in await GrainFactory.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).List())
        {
            var environment = GrainFactory.Ref<IEnvironmentGrain>(name);
            if (await environment.Get() is not { } snapshot)
            {
                continue;
            }

            foreach (var (service, version) in snapshot.Services)
            {
                deployed.TryAdd(version.Artifact, $"environment '{name}' runs service '{service}' {version.Version} (release '{version.ReleaseId}')");
            }

            var hosts = await Task.WhenAll((await environment.GetHostIndex()).Select(h => GrainFactory.Ref<IHostGrain>(h.HostId).Get()));
            // Every service on every host: what it runs, what it moves to, and what it would roll back to.
            foreach (var host in hosts.OfType<HostSnapshot>())
            {
                foreach (var (service, slot) in host.Services.Where(s => s.Value.State != HostState.Retired))
                {
                    var named = service.Length == 0 ? string.Empty : $" (service '{service}')";
                    if (slot.CurrentArtifact is { } current)
                    {
                        deployed.TryAdd(current, $"host '{host.Id}' in environment '{name}' runs it{named}");
                    }

                    if (slot.DesiredArtifact is { } desired)
                    {
                        deployed.TryAdd(desired, $"host '{host.Id}' in environment '{name}' is moving to it{named}");
                    }

                    if (slot.PreviousArtifact is { } previous)
                    {
                        rollback.TryAdd(previous, $"host '{host.Id}' in environment '{name}' would roll back to it{named}");
                    }
                }
            }
        }

        return new LiveArtifacts(deployed, rollback);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention removed artifact {Digest}: {Why}")]
    private static partial void LogDeleted(ILogger logger, string digest, string why);
}
