using System.Net;
using Azure.Data.Tables;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The state table's row layout on a real Azurite (Silo/Hosting/TableLayout.cs): a new service keys each grain's row by
/// the grain and records that, and keeps it when the record is lost; state written by an earlier build (Orleans' layout,
/// no record) keeps its layout and still reads after the upgrade; a configuration that would change the layout, or a
/// record that contradicts the rows, stops the silo before it serves.
/// </summary>
public sealed class TableLayoutTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    private TableClient State => new TableServiceClient(_azurite.ConnectionString).GetTableClient(SiloExtensions.StateTable);

    [Fact]
    public async Task A_new_service_keys_rows_by_grain_records_it_and_reads_its_hosts_back_after_a_restart()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await using (var first = new EngineHost(settings))
        {
            await RegisterHosts(first.Client(), "grains", 3);
        }

        Assert.Equal("row-per-grain", await RecordedLayout(settings));
        var hostRows = await HostRowKeys(settings);
        Assert.Equal(3, hostRows.Count);
        Assert.All(hostRows, rk => Assert.StartsWith("host_host_grains-", rk, StringComparison.Ordinal));

        await using (var second = new EngineHost(settings))
        {
            Assert.Equal(3, await HostCount(second.Client(), "grains"));
            Assert.Equal("row-per-grain", await RecordedLayout(settings));
        }

        // The record deleted (by hand, a partial restore): the rows say their layout, so the service is not switched to
        // Orleans' rows, under which every host would read as missing.
        await State.DeleteEntityAsync(TableLayoutRecord.RecordPartition, settings.ClusterId);
        await using var third = new EngineHost(settings);
        Assert.Equal(3, await HostCount(third.Client(), "grains"));
        Assert.Equal("row-per-grain", await RecordedLayout(settings));
    }

    [Fact]
    public async Task A_record_that_contradicts_the_rows_stops_the_start()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await using (var first = new EngineHost(settings))
        {
            await RegisterHosts(first.Client(), "tampered", 2);
        }

        await State.UpdateEntityAsync(new TableEntity(TableLayoutRecord.RecordPartition, settings.ClusterId) { ["Layout"] = "orleans" }, Azure.ETag.All, TableUpdateMode.Merge);
        await using var refused = new EngineHost(settings);
        var e = Assert.ThrowsAny<Exception>(() => refused.Client());
        Assert.Contains("recorded as layout 'orleans' but its rows are in layout 'row-per-grain'", Flatten(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_written_by_an_earlier_build_keeps_orleans_rows_and_reads_back_after_the_upgrade()
    {
        // The earlier build: Orleans' layout (as configured here), then its record removed, as a build before records left it.
        var settings = EngineHost.Settings.For(_azurite);
        await using (var earlier = new EngineHost(settings with { Extra = new Dictionary<string, string> { ["Storage:TableLayout"] = "orleans" } }))
        {
            await RegisterHosts(earlier.Client(), "legacy", 3);
        }

        Assert.Equal(["host", "host", "host"], await HostRowKeys(settings));
        await State.DeleteEntityAsync(TableLayoutRecord.RecordPartition, settings.ClusterId);

        await using (var upgraded = new EngineHost(settings))
        {
            var api = upgraded.Client();
            Assert.Equal(3, await HostCount(api, "legacy"));
            await RegisterHosts(api, "legacy-more", 2);
        }

        Assert.Equal("orleans", await RecordedLayout(settings));
        Assert.All(await HostRowKeys(settings), rk => Assert.Equal("host", rk));
    }

    [Fact]
    public async Task Silos_of_an_earlier_build_running_without_a_record_keep_orleans_rows()
    {
        // An earlier build's silo is active in the membership table and no state is written yet: switching layouts now
        // would split the service's state between the two builds. (The decision is taken before the silo joins, so it is
        // run here on its own against the same Azurite, with a membership row as Orleans writes it.)
        var tables = new TableServiceClient(_azurite.ConnectionString);
        var membership = tables.GetTableClient("OrleansSiloInstances");
        await membership.CreateIfNotExistsAsync();
        await membership.AddEntityAsync(new TableEntity("it-earlier", "127.0.0.1-11111-1") { ["Status"] = "Active" });

        Assert.Equal(TableLayout.Orleans, await Decide(tables, "it-earlier"));
        Assert.Equal("orleans", await RecordedLayout("it-earlier"));

        // Its neighbour cluster, whose silos are all gone, is new.
        await membership.AddEntityAsync(new TableEntity("it-gone", "127.0.0.1-11111-1") { ["Status"] = "Dead" });
        Assert.Equal(TableLayout.RowPerGrain, await Decide(tables, "it-gone"));
    }

    private static Task<TableLayout> Decide(TableServiceClient tables, string cluster) =>
        new TableLayoutRecord(tables, SiloExtensions.StateTable, "OrleansSiloInstances", null,
            Microsoft.Extensions.Options.Options.Create(new Orleans.Configuration.ClusterOptions { ClusterId = cluster, ServiceId = cluster }),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<TableLayoutRecord>.Instance).DecideAsync(CancellationToken.None);

    [Fact]
    public async Task A_setting_that_would_change_the_recorded_layout_stops_the_start_and_changes_nothing()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await using (var first = new EngineHost(settings))
        {
            await RegisterHosts(first.Client(), "kept", 2);
        }

        await using (var refused = new EngineHost(settings with { Extra = new Dictionary<string, string> { ["Storage:TableLayout"] = "orleans" } }))
        {
            var e = Assert.ThrowsAny<Exception>(() => refused.Client());
            Assert.Contains("recorded as layout 'row-per-grain', but Storage:TableLayout is 'orleans'", Flatten(e), StringComparison.Ordinal);
        }

        Assert.Equal("row-per-grain", await RecordedLayout(settings));
        await using var again = new EngineHost(settings);
        Assert.Equal(2, await HostCount(again.Client(), "kept"));
    }

    private static string Flatten(Exception e) => e is AggregateException a ? string.Join(" | ", a.Flatten().InnerExceptions.Select(Flatten)) : e.Message + (e.InnerException is { } inner ? " | " + Flatten(inner) : "");

    private Task<string?> RecordedLayout(EngineHost.Settings settings) => RecordedLayout(settings.ClusterId);

    private async Task<string?> RecordedLayout(string serviceId) =>
        (await State.GetEntityIfExistsAsync<TableEntity>(TableLayoutRecord.RecordPartition, serviceId)) is { HasValue: true } r ? r.Value!.GetString("Layout") : null;

    /// <summary>The row keys of this service's host states.</summary>
    private async Task<List<string>> HostRowKeys(EngineHost.Settings settings)
    {
        var rows = new List<string>();
        await foreach (var entity in State.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            if (entity.PartitionKey.StartsWith($"{settings.ClusterId}_host_", StringComparison.Ordinal)) rows.Add(entity.RowKey);
        }

        return rows;
    }

    private static async Task RegisterHosts(HttpClient api, string environment, int count)
    {
        await api.PutAsync($"/v1/environments/{environment}/declaration", new StringContent(
            """{"tier":"staging","dataClassification":"synthetic","gates":[],"baseline":{"services":{}}}""",
            System.Text.Encoding.UTF8, "application/json")).Expect(HttpStatusCode.OK);
        await api.PostJson($"/v1/environments/{environment}/simulated-hosts", new
        {
            count, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        Assert.Equal(count, await HostCount(api, environment));
    }

    private static async Task<int> HostCount(HttpClient api, string environment) =>
        (int)(await api.GetAsync($"/v1/hosts?environment={environment}").Expect(HttpStatusCode.OK))["total"]!;
}
