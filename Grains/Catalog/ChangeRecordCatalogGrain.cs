using Deploy.Engine.Domain.Catalog;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Catalog;

[GenerateSerializer]
[Alias("ChangeRecordCatalogState")]
public sealed class ChangeRecordCatalogState
{
    [Id(0)] public Dictionary<string, ChangeRecordSnapshot> Records { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The index of the built-in change records, newest first. Each record writes itself here after it is stored (created
/// or moved to another state: a person's pace), so listing never activates one grain per record.
/// </summary>
public sealed class ChangeRecordCatalogGrain(
    [PersistentState("change-record-catalog", Stores.Blob)] IPersistentState<ChangeRecordCatalogState> state,
    TimeProvider clock) : Grain, IChangeRecordCatalogGrain
{
    /// <summary>What was stored before the catalogs existed is listed once, in the background (<see cref="CatalogBackfillGrain"/>).</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await GrainFactory.Ref<ICatalogBackfillGrain>(GrainKeys.CatalogBackfill).EnsureOnce(); // one-way: not awaited to completion
        await base.OnActivateAsync(cancellationToken);
    }

    public async Task Record(ChangeRecordSnapshot record)
    {
        // An older copy (a retried call after a newer write) never replaces a newer one.
        if (state.State.Records.TryGetValue(record.Id, out var held) && (held == record || held.UpdatedAt > record.UpdatedAt))
        {
            return;
        }

        state.State.Records[record.Id] = record;
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<CursorPage<ChangeRecordSnapshot>> Query(CatalogQuery query)
    {
        var at = query.At ?? clock.GetUtcNow();
        var matching = state.State.Records.Values.Where(r =>
            CatalogFilters.InScope(query, null, r.Service ?? string.Empty)
            && (query.Service is null || r.Service == query.Service)
            && (query.Release is null || r.Release == query.Release)
            && (query.States is not { Count: > 0 } states || states.Contains(r.State, StringComparer.Ordinal))
            && (query.Window is null || string.Equals(ChangeRecordRules.WindowPhase(r.Start, r.End, at).ToString(), query.Window, StringComparison.OrdinalIgnoreCase))
            && (query.Since is null || r.CreatedAt >= query.Since));
        return Task.FromResult(CatalogFilters.Page(matching, r => new CatalogCursor(r.CreatedAt, r.Id), query));
    }
}
