using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Catalog;

[GenerateSerializer]
[Alias("CatalogBackfillState")]
public sealed class CatalogBackfillState
{
    [Id(0)] public CatalogBackfillReport? Completed { get; set; }
}

/// <summary>
/// Lists what was stored before the catalogs existed. The audit trail names every release submitted over the API
/// (subject <c>release/{id}</c>) and every change record (<c>change-record/{id}</c>); each release names its rollouts.
/// Each is read once and recorded; an entry the catalog already holds is left as it is (an older report never
/// replaces a newer one). Cost: one pass over the audit trail in pages, plus one read per release, rollout and change
/// record. Runs once, in the background, when a catalog first activates after an upgrade; later activations find it done.
/// </summary>
public sealed class CatalogBackfillGrain(
    [PersistentState("catalog-backfill", Stores.Table)] IPersistentState<CatalogBackfillState> state,
    TimeProvider clock) : Grain, ICatalogBackfillGrain
{
    private const int PageSize = 500;

    public async Task EnsureOnce()
    {
        if (state.State.Completed is null)
        {
            await Run();
        }
    }

    public async Task<CatalogBackfillReport> Run()
    {
        var releases = new SortedSet<string>(StringComparer.Ordinal);
        var records = new SortedSet<string>(StringComparer.Ordinal);
        var audit = GrainFactory.Ref<IAuditLogGrain>(GrainKeys.AuditLog);
        long after = 0, read = 0;
        while (true)
        {
            var page = await audit.Query(new AuditQuery { After = after, Limit = PageSize });
            foreach (var entry in page.Items)
            {
                read++;
                after = Math.Max(after, entry.Sequence);
                if (entry.Release is { Length: > 0 } release) releases.Add(release);
                if (entry.Subject.StartsWith("release/", StringComparison.Ordinal)) releases.Add(entry.Subject["release/".Length..]);
                if (entry.Subject.StartsWith("change-record/", StringComparison.Ordinal)) records.Add(entry.Subject["change-record/".Length..]);
            }

            if (page.Items.Count < PageSize) break;
        }

        var rollouts = 0;
        var listedReleases = 0;
        foreach (var id in releases)
        {
            if (await GrainFactory.Ref<IReleaseGrain>(id).Get() is not { } release) continue;
            listedReleases++;
            await GrainFactory.Ref<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Record(new ReleaseSummary
            {
                Id = release.Id, Service = release.Service, Version = release.Version, Artifact = release.Artifact,
                Commit = release.Commit, SubmittedBy = release.SubmittedBy, CreatedAt = release.CreatedAt, Class = release.Class ?? "standard",
            });
            foreach (var rolloutId in release.Rollouts)
            {
                if (await GrainFactory.Ref<IRolloutGrain>(rolloutId).Get() is not { } rollout) continue;
                rollouts++;
                await GrainFactory.Ref<IRolloutCatalogGrain>(GrainKeys.RolloutCatalog).Record(new RolloutSummary
                {
                    Id = rollout.Id, ReleaseId = rollout.ReleaseId, Environment = rollout.Environment, Service = rollout.Service,
                    Version = rollout.Version, Status = rollout.Status, StatusReason = rollout.StatusReason, CreatedAt = rollout.CreatedAt,
                    UpdatedAt = rollout.FinishedAt ?? rollout.StartedAt ?? rollout.CreatedAt,
                });
            }
        }

        var listedRecords = 0;
        foreach (var id in records)
        {
            if (await GrainFactory.Ref<IChangeRecordGrain>(id).Get() is not { } record) continue;
            listedRecords++;
            await GrainFactory.Ref<IChangeRecordCatalogGrain>(GrainKeys.ChangeRecordCatalog).Record(record);
        }

        state.State.Completed = new CatalogBackfillReport
        {
            AuditEntriesRead = read, Releases = listedReleases, Rollouts = rollouts, ChangeRecords = listedRecords, CompletedAt = clock.GetUtcNow(),
        };
        await state.WriteStateAsync();
        return state.State.Completed;
    }
}
