using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// How grain states are keyed in the state table (Azure mode). Both keep Orleans' partition key, one partition per grain
/// (<c>{ServiceId}_{GrainId}</c>); they differ in the row key.
/// </summary>
public enum TableLayout
{
    /// <summary>
    /// The row key names the state and the grain (<c>host_host/web-1</c>). Azure looks an entity up by both keys either
    /// way; Azurite indexes the row key first and scans the rows that share it, so with one row key per state name every
    /// write of a host state scanned every host of the service: 250 updates/s with 10,000 hosts against 1,500 with a row
    /// key per grain (measured on this machine, same Azurite, 2.7 KB entities).
    /// </summary>
    RowPerGrain,

    /// <summary>Orleans' own layout: the row key is the state name (<c>host</c>), shared by every grain of a kind. What builds before this one wrote.</summary>
    Orleans,
}

/// <summary>A layout decision: the layout to use and why, or why the silo must not start.</summary>
public sealed record TableLayoutDecision(TableLayout? Layout, string Reason)
{
    public bool Refused => Layout is null;
}

/// <summary>
/// Which layout a silo uses (pure). The layout of a service is chosen once and recorded in the table, and never changes
/// under it: a silo reading rows of one layout while another writes the other would read stale or missing state. What
/// the table says decides, in this order: the record; else the service's state rows themselves (their layout is
/// visible in their keys, <see cref="LayoutOf"/>: Orleans' rows were written by a build before layouts were recorded,
/// which reads no other; rows per grain whose record is gone keep theirs); else active silos of the cluster without a
/// record, an earlier build, which writes Orleans' layout. Only a new service (no record, no state, no active silo) is
/// given one: <see cref="TableLayout.RowPerGrain"/>, or <c>Storage:TableLayout</c>. A record that contradicts the rows,
/// or a setting that contradicts what the table says, stops the start.
/// </summary>
public static class TableLayoutRule
{
    /// <param name="recorded">The layout recorded for the service, if any.</param>
    /// <param name="configured"><c>Storage:TableLayout</c>, if set.</param>
    /// <param name="stored">The layout of the service's state rows in the table; null when it has none.</param>
    /// <param name="activeSilos">Whether a silo of the cluster is active (this one is not yet).</param>
    public static TableLayoutDecision Decide(TableLayout? recorded, TableLayout? configured, TableLayout? stored, bool activeSilos)
    {
        if (recorded is { } r && stored is { } s && s != r)
        {
            return new(null, $"the state of this service is recorded as layout '{Name(r)}' but its rows are in layout '{Name(s)}' " +
                "(the record or the rows were changed outside the engine); the silo does not start rather than read the state as missing");
        }

        var (found, why) = recorded is { } rec ? (rec, $"the state of this service is recorded as layout '{Name(rec)}'")
            : stored == TableLayout.Orleans ? (TableLayout.Orleans, "the table holds state of this service in Orleans' layout without a record (written by an earlier build)")
            : stored == TableLayout.RowPerGrain ? (TableLayout.RowPerGrain, "the table holds state of this service in rows per grain and its record is missing")
            : activeSilos ? (TableLayout.Orleans, "silos of this cluster are active and none has recorded a layout (an earlier build, which writes Orleans' layout)")
            : ((TableLayout?)null, "a new service (no record, no state in the table, no active silo)");
        if (found is { } layout)
        {
            return configured is { } c && c != layout
                ? new(null, $"{why}, but Storage:TableLayout is '{Name(c)}': a layout cannot change under a service's state; remove the setting or set it to '{Name(layout)}'")
                : new(layout, why);
        }

        return configured is { } chosen ? new(chosen, why + ", layout as configured (Storage:TableLayout)") : new(TableLayout.RowPerGrain, why);
    }

    /// <summary>
    /// The layout of one state row of a service whose partitions start with <paramref name="servicePrefix"/>: rows per
    /// grain end their row key with the grain's part of the partition key (<c>svc_host_web-1</c> / <c>host_host_web-1</c>);
    /// Orleans' row key is the state name alone (<c>host</c>).
    /// </summary>
    public static TableLayout LayoutOf(string partitionKey, string rowKey, string servicePrefix) =>
        partitionKey.StartsWith(servicePrefix, StringComparison.Ordinal) && rowKey.EndsWith("_" + partitionKey[servicePrefix.Length..], StringComparison.Ordinal)
            ? TableLayout.RowPerGrain
            : TableLayout.Orleans;

    /// <summary>The layout's name in configuration and in the record: <c>row-per-grain</c>, <c>orleans</c>.</summary>
    public static string Name(TableLayout layout) => layout == TableLayout.RowPerGrain ? "row-per-grain" : "orleans";

    /// <summary>Reads a name written by <see cref="Name"/>; null for anything else.</summary>
    public static TableLayout? Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "row-per-grain" => TableLayout.RowPerGrain,
        "orleans" => TableLayout.Orleans,
        _ => null,
    };

    /// <summary><c>Storage:TableLayout</c>: null when unset; an unknown value stops the start naming the values.</summary>
    public static TableLayout? Configured(IConfiguration configuration)
    {
        var value = configuration.GetSection(StorageTimeouts.Section)["TableLayout"];
        if (string.IsNullOrWhiteSpace(value)) return null;
        return Parse(value) ?? throw new Microsoft.Extensions.Options.OptionsValidationException(StorageTimeouts.Section, typeof(TableLayout),
            [$"Storage:TableLayout '{value}' is not a layout: use row-per-grain or orleans (or leave it unset)"]);
    }
}

/// <summary>
/// Finds, decides and records the state table's layout (<see cref="TableLayoutRule"/>) while the silo starts, before it
/// joins the cluster and before any grain reads its state; a refusal stops the start with the reason. The record is one
/// entity (partition <c>deploy-engine-layout</c>, row the service id) naming the layout, the machine that decided and why;
/// silos starting together race to insert it and the losers use the winner's.
/// </summary>
public sealed partial class TableLayoutRecord(
    TableServiceClient tables,
    string stateTable,
    string membershipTable,
    TableLayout? configured,
    IOptions<ClusterOptions> cluster,
    ILogger<TableLayoutRecord> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public const string RecordPartition = "deploy-engine-layout";

    private readonly TaskCompletionSource<TableLayout> _layout = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The layout, once decided (storage calls before that wait for it).</summary>
    public Task<TableLayout> Layout => _layout.Task;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(TableLayoutRecord), ServiceLifecycleStage.RuntimeStorageServices, ct => DecideAsync(ct));

    /// <summary>Reads or takes and records the decision, and makes it <see cref="Layout"/>; throws with the reason on a refusal.</summary>
    public async Task<TableLayout> DecideAsync(CancellationToken ct)
    {
        try
        {
            var layout = await DecideOnce(ct);
            _layout.TrySetResult(layout);
            return layout;
        }
        catch (Exception e)
        {
            _layout.TrySetException(e);
            throw;
        }
    }

    private async Task<TableLayout> DecideOnce(CancellationToken ct)
    {
        var state = tables.GetTableClient(stateTable);
        await state.CreateIfNotExistsAsync(ct);
        var serviceId = Sanitize(cluster.Value.ServiceId);
        var recorded = await Recorded(state, serviceId, ct);
        var stored = await StoredLayout(state, ct);
        var decision = TableLayoutRule.Decide(recorded, configured, stored, activeSilos: recorded is null && stored is null && await ActiveSilos(ct));
        if (decision.Refused || recorded is not null) return Apply(decision);
        try
        {
            var name = TableLayoutRule.Name(decision.Layout!.Value);
            await state.AddEntityAsync(new TableEntity(RecordPartition, serviceId)
            {
                ["Layout"] = name,
                ["Reason"] = decision.Reason,
                ["RecordedBy"] = Environment.MachineName,
            }, ct);
            LogRecorded(logger, name, stateTable, decision.Reason);
            return decision.Layout!.Value;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Another silo starting at the same moment recorded first: its record holds.
            var theirs = await Recorded(state, serviceId, ct) ?? throw new InvalidOperationException("the table layout record was inserted by another silo but cannot be read back", e);
            return Apply(TableLayoutRule.Decide(theirs, configured, stored, activeSilos: false));
        }
    }

    private TableLayout Apply(TableLayoutDecision decision)
    {
        if (decision.Refused)
        {
            throw new InvalidOperationException($"State table '{stateTable}': {decision.Reason}");
        }

        var layout = decision.Layout!.Value;
        var name = TableLayoutRule.Name(layout);
        LogUsing(logger, name, stateTable, decision.Reason);
        return layout;
    }

    private static async Task<TableLayout?> Recorded(TableClient state, string serviceId, CancellationToken ct)
    {
        var record = await state.GetEntityIfExistsAsync<TableEntity>(RecordPartition, serviceId, cancellationToken: ct);
        if (!record.HasValue) return null;
        var name = record.Value!.GetString("Layout");
        return TableLayoutRule.Parse(name) ?? throw new InvalidOperationException(
            $"the table layout record of this service names '{name}', which this build does not know (written by a newer build?)");
    }

    /// <summary>The layout of this service's first state row (its partitions all start with <c>{ServiceId}_</c>); null when it has none.</summary>
    private async Task<TableLayout?> StoredLayout(TableClient state, CancellationToken ct)
    {
        var prefix = Sanitize(cluster.Value.ServiceId + "_");
        var end = prefix[..^1] + (char)(prefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {end}");
        await foreach (var row in state.QueryAsync<TableEntity>(filter, maxPerPage: 1, select: ["PartitionKey", "RowKey"], cancellationToken: ct))
        {
            return TableLayoutRule.LayoutOf(row.PartitionKey, row.RowKey, prefix);
        }

        return null;
    }

    /// <summary>Whether the membership table lists an active silo of this cluster (this silo has not joined yet).</summary>
    private async Task<bool> ActiveSilos(CancellationToken ct)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Sanitize(cluster.Value.ClusterId)} and Status eq {"Active"}");
        try
        {
            await foreach (var _ in tables.GetTableClient(membershipTable).QueryAsync<TableEntity>(filter, maxPerPage: 1, select: ["Status"], cancellationToken: ct))
            {
                return true;
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No membership table yet: no silo has ever run against this account.
        }

        return false;
    }

    /// <summary>Orleans' key sanitising (AzureTableUtils.SanitizeTableProperty): characters a table key cannot hold become '_'.</summary>
    public static string Sanitize(string key) => key.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');

    [LoggerMessage(Level = LogLevel.Information, Message = "State table {Table}: layout '{Layout}' recorded ({Reason})")]
    private static partial void LogRecorded(ILogger logger, string layout, string table, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "State table {Table}: layout '{Layout}' ({Reason})")]
    private static partial void LogUsing(ILogger logger, string layout, string table, string reason);
}
