using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// Which row layout a silo gives the state table (TableLayoutRule), worked case by case: a new service gets a row key per
/// grain, anything an earlier build may have written keeps Orleans' layout, a recorded layout never changes, and a
/// configuration that would change it stops the start.
/// </summary>
public sealed class TableLayoutRuleTests
{
    private const TableLayout Grain = TableLayout.RowPerGrain;
    private const TableLayout Orleans = TableLayout.Orleans;

    public static TheoryData<string, TableLayout?, TableLayout?, bool, bool, TableLayout?, bool> Examples => new()
    {
        // name, recorded, configured, state in the table, active silos => layout (null: refused), recorded now
        { "a new service", null, null, false, false, Grain, true },
        { "a new service, configured as Orleans", null, Orleans, false, false, Orleans, true },
        { "a new service, configured per grain", null, Grain, false, false, Grain, true },
        { "state written by an earlier build", null, null, true, false, Orleans, true },
        { "an earlier build's silos running, no state yet", null, null, false, true, Orleans, true },
        { "state of an earlier build, configured Orleans", null, Orleans, true, true, Orleans, true },
        { "state of an earlier build, configured per grain: refused", null, Grain, true, false, null, false },
        { "earlier silos running, configured per grain: refused", null, Grain, false, true, null, false },
        { "recorded per grain", Grain, null, true, true, Grain, false },
        { "recorded Orleans", Orleans, null, false, false, Orleans, false },
        { "recorded and configured alike", Grain, Grain, true, false, Grain, false },
        { "recorded Orleans, configured per grain: refused", Orleans, Grain, true, false, null, false },
        { "recorded per grain, configured Orleans: refused", Grain, Orleans, true, false, null, false },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decides(string name, TableLayout? recorded, TableLayout? configured, bool hasState, bool activeSilos, TableLayout? expected, bool record)
    {
        var decision = TableLayoutRule.Decide(recorded, configured, hasState, activeSilos);

        Assert.True(expected == decision.Layout, $"{name}: {decision.Layout} ({decision.Reason})");
        Assert.Equal(record, decision.Record);
        Assert.Equal(expected is null, decision.Refused);
        if (decision.Refused) Assert.Contains("Storage:TableLayout", decision.Reason, StringComparison.Ordinal);
    }

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
    public void Per_grain_rows_name_the_state_and_the_grain_and_Orleans_rows_the_state()
    {
        var grain = GrainId.Create("host", "web-1");
        Assert.Equal("host_host/web-1", GrainRowStorage.RowName(TableLayout.RowPerGrain, "host", grain));
        Assert.Equal("host", GrainRowStorage.RowName(TableLayout.Orleans, "host", grain));
    }
}
