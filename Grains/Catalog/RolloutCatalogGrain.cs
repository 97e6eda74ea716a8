using Deploy.Engine.Domain.Catalog;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Catalog;

[GenerateSerializer]
[Alias("RolloutCatalogState")]
public sealed class RolloutCatalogState
{
    [Id(0)] public Dictionary<string, RolloutSummary> Rollouts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The index of rollouts. Fed by <see cref="CatalogFollower"/> only when a rollout is created or changes status (a few
/// times per rollout, never per host), and written only when what it holds changes, so it stays off the path of
/// a rollout's progress whatever the fleet size.
/// </summary>
public sealed class RolloutCatalogGrain(
    [PersistentState("rollout-catalog", Stores.Blob)] IPersistentState<RolloutCatalogState> state) : Grain, IRolloutCatalogGrain
{
    /// <summary>What was stored before the catalogs existed is listed once, in the background (<see cref="CatalogBackfillGrain"/>).</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await GrainFactory.Ref<ICatalogBackfillGrain>(GrainKeys.CatalogBackfill).EnsureOnce(); // one-way: not awaited to completion
        await base.OnActivateAsync(cancellationToken);
    }

    public async Task Record(RolloutSummary summary)
    {
        var held = state.State.Rollouts.GetValueOrDefault(summary.Id);
        if (held is not null && (held.UpdatedAt > summary.UpdatedAt || (held.Status == summary.Status && held.UpdatedAt == summary.UpdatedAt)))
        {
            return;
        }

        // The creation time is the first one seen: an event redelivered out of order cannot move it later.
        state.State.Rollouts[summary.Id] = held is null || summary.CreatedAt < held.CreatedAt ? summary : summary with { CreatedAt = held.CreatedAt };
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<CursorPage<RolloutSummary>> Query(CatalogQuery query)
    {
        var matching = state.State.Rollouts.Values.Where(r =>
            CatalogFilters.InScope(query, r.Environment, r.Service)
            && (query.Statuses is not { Count: > 0 } statuses || statuses.Contains(r.Status))
            && (query.Environment is null || r.Environment == query.Environment)
            && (query.Service is null || r.Service == query.Service)
            && (query.Release is null || r.ReleaseId == query.Release)
            && (query.Version is null || r.Version == query.Version)
            && (query.Since is null || r.CreatedAt >= query.Since));
        return Task.FromResult(CatalogFilters.Page(matching, r => new CatalogCursor(r.CreatedAt, r.Id), query));
    }
}

/// <summary>The index of releases, written by the release itself when it is created.</summary>
public sealed class ReleaseCatalogGrain(
    [PersistentState("release-catalog", Stores.Blob)] IPersistentState<ReleaseCatalogState> state) : Grain, IReleaseCatalogGrain
{
    /// <summary>What was stored before the catalogs existed is listed once, in the background (<see cref="CatalogBackfillGrain"/>).</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await GrainFactory.Ref<ICatalogBackfillGrain>(GrainKeys.CatalogBackfill).EnsureOnce(); // one-way: not awaited to completion
        await base.OnActivateAsync(cancellationToken);
    }

    public async Task Record(ReleaseSummary summary)
    {
        if (state.State.Releases.TryGetValue(summary.Id, out var held) && held == summary)
        {
            return;
        }

        state.State.Releases[summary.Id] = summary;
        await state.WriteStateAsync();
    }

    public async Task Remove(string releaseId)
    {
        if (state.State.Releases.Remove(releaseId))
        {
            await state.WriteStateAsync();
        }
    }

    [ReadOnly]
    public Task<CursorPage<ReleaseSummary>> Query(CatalogQuery query)
    {
        var matching = state.State.Releases.Values.Where(r =>
            CatalogFilters.InScope(query, null, r.Service)
            && (query.Service is null || r.Service == query.Service)
            && (query.Version is null || r.Version == query.Version)
            && (query.Since is null || r.CreatedAt >= query.Since));
        return Task.FromResult(CatalogFilters.Page(matching, r => new CatalogCursor(r.CreatedAt, r.Id), query));
    }
}

[GenerateSerializer]
[Alias("ReleaseCatalogState")]
public sealed class ReleaseCatalogState
{
    [Id(0)] public Dictionary<string, ReleaseSummary> Releases { get; set; } = new(StringComparer.Ordinal);
}

internal static class CatalogFilters
{
    /// <summary>
    /// A scoped key sees an entry only inside its scope. A release has no environment, so an environment scope
    /// alone does not hide releases; a service scope does.
    /// </summary>
    public static bool InScope(CatalogQuery query, string? environment, string service) =>
        (query.ScopeEnvironments.Count == 0 || environment is null || query.ScopeEnvironments.Contains(environment, StringComparer.Ordinal))
        && (query.ScopeServices.Count == 0 || query.ScopeServices.Contains(service, StringComparer.Ordinal));

    public static CursorPage<T> Page<T>(IEnumerable<T> items, Func<T, CatalogCursor> key, CatalogQuery query)
    {
        var after = query.AfterCreatedAt is { } at && query.AfterId is { } id ? new CatalogCursor(at, id) : (CatalogCursor?)null;
        var page = NewestFirst.Page(items, key, after, Math.Max(1, query.Limit));
        return new CursorPage<T> { Items = page.Items, Next = page.Next?.Encode() };
    }
}
