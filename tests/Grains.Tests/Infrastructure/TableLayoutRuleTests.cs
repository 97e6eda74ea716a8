using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// Which row layout a silo gives the state table (TableLayoutRule), worked case by case: a new service gets a row key per
/// grain; the record, else the rows themselves, else an earlier build's running silos say what an existing service has,
/// and it never changes; a record contradicting the rows, or a setting contradicting the table, stops the start.
/// </summary>
public sealed class TableLayoutRuleTests
{
    private const TableLayout Grain = TableLayout.RowPerGrain;
    private const TableLayout Orleans = TableLayout.Orleans;

    public static TheoryData<string, TableLayout?, TableLayout?, TableLayout?, bool, TableLayout?> Examples => new()
    {
        // name, recorded, configured, layout of the stored rows, active silos => layout (null: refused)
        { "a new service", null, null, null, false, Grain },
        { "a new service, configured as Orleans", null, Orleans, null, false, Orleans },
        { "a new service, configured per grain", null, Grain, null, false, Grain },
        { "state written by an earlier build", null, null, Orleans, false, Orleans },
        { "state written by an earlier build, its silos running", null, null, Orleans, true, Orleans },
        { "an earlier build's silos running, no state yet", null, null, null, true, Orleans },
        { "rows per grain whose record was deleted keep their layout", null, null, Grain, false, Grain },
        { "rows per grain whose record was deleted, configured Orleans: refused", null, Orleans, Grain, false, null },
        { "state of an earlier build, configured Orleans", null, Orleans, Orleans, true, Orleans },
        { "state of an earlier build, configured per grain: refused", null, Grain, Orleans, false, null },
        { "earlier silos running, configured per grain: refused", null, Grain, null, true, null },
        { "recorded per grain", Grain, null, Grain, true, Grain },
        { "recorded Orleans, no state yet", Orleans, null, null, false, Orleans },
        { "recorded and configured alike", Grain, Grain, Grain, false, Grain },
        { "recorded Orleans, configured per grain: refused", Orleans, Grain, Orleans, false, null },
        { "recorded per grain, configured Orleans: refused", Grain, Orleans, Grain, false, null },
        { "recorded Orleans but the rows are per grain: refused", Orleans, null, Grain, false, null },
        { "recorded per grain but the rows are Orleans': refused", Grain, null, Orleans, false, null },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decides(string name, TableLayout? recorded, TableLayout? configured, TableLayout? stored, bool activeSilos, TableLayout? expected)
    {
        var decision = TableLayoutRule.Decide(recorded, configured, stored, activeSilos);

        Assert.True(expected == decision.Layout, $"{name}: {decision.Layout} ({decision.Reason})");
        Assert.Equal(expected is null, decision.Refused);
        if (decision.Refused) Assert.Contains(configured is null ? "changed outside the engine" : "Storage:TableLayout", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("svc_host_web-1", "host_host_web-1", TableLayout.RowPerGrain)]
    [InlineData("svc_host_web-1", "host", TableLayout.Orleans)]
    [InlineData("svc_release_rel-1", "release-config_release_rel-1", TableLayout.RowPerGrain)]
    [InlineData("svc_release_rel-1", "release-config", TableLayout.Orleans)]
    public void Tells_a_rows_layout_from_its_keys(string partitionKey, string rowKey, TableLayout expected) =>
        Assert.Equal(expected, TableLayoutRule.LayoutOf(partitionKey, rowKey, "svc_"));

    [Theory]
    [InlineData("row-per-grain", TableLayout.RowPerGrain)]
    [InlineData(" Orleans ", TableLayout.Orleans)]
    [InlineData(null, null)]
    [InlineData("", null)]
    public void Reads_the_setting(string? value, TableLayout? expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:TableLayout"] = value }).Build();
        Assert.Equal(expected, TableLayoutRule.Configured(configuration));
    }

    [Fact]
    public void An_unknown_setting_stops_the_start_naming_the_values()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:TableLayout"] = "per-grain" }).Build();
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => TableLayoutRule.Configured(configuration));
        Assert.Contains("row-per-grain or orleans", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_grain_rows_name_the_state_and_the_grain_and_Orleans_rows_the_state_and_each_reads_as_its_layout()
    {
        var grain = GrainId.Create("host", "web-1");
        var partition = TableLayoutRecord.Sanitize($"svc_{grain}");
        foreach (var layout in new[] { TableLayout.RowPerGrain, TableLayout.Orleans })
        {
            var row = TableLayoutRecord.Sanitize(GrainRowStorage.RowName(layout, "host", grain));
            Assert.Equal(layout == TableLayout.RowPerGrain ? "host_host_web-1" : "host", row);
            Assert.Equal(layout, TableLayoutRule.LayoutOf(partition, row, "svc_"));
        }
    }
}
