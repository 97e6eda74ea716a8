using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Health;

[GenerateSerializer]
[Alias("StorageProbeState")]
public sealed class StorageProbeState
{
    [Id(0)] public int Unused { get; set; }
}

/// <summary>Each probe re-reads one record from the table store and one from the blob store (a missing record is an answer).</summary>
public sealed class StorageProbeGrain(
    [PersistentState("probe-table", Stores.Table)] IPersistentState<StorageProbeState> table,
    [PersistentState("probe-blob", Stores.Blob)] IPersistentState<StorageProbeState> blob) : Grain, IStorageProbeGrain
{
    public async Task Probe()
    {
        await table.ReadStateAsync();
        await blob.ReadStateAsync();
    }
}
