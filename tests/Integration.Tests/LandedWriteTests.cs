using Deploy.Engine.Grains;
using Deploy.Engine.Grains.Hosts;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// A storage write whose first try reached Azurite late, retried by the Azure SDK with the ETag that first try replaced,
/// is the grain's own write: the engine's stores acknowledge it and the grain writes on. A real conflict (another writer's
/// different state) is still refused and changes nothing. Each store is the engine's own, configured on a real Azurite.
/// </summary>
public sealed class LandedWriteTests
{
    [Theory]
    [InlineData(Stores.Table)]
    [InlineData(Stores.Blob)]
    public async Task A_write_retried_after_its_first_try_landed_is_acknowledged_and_a_real_conflict_is_still_refused(string store)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var engine = new EngineHost(EngineHost.Settings.For(azurite));
        var storage = engine.Services.GetRequiredKeyedService<IGrainStorage>(store);
        var azure = engine.Services.GetRequiredKeyedService<IGrainStorage>(SiloExtensions.AzureProvider(store));
        var id = GrainId.Create("host", "landed-" + store);
        var host = new HostGrainState { Environment = "prod", Labels = { ["region"] = "eu-west" } };
        var state = new GrainState<HostGrainState>(host);

        // The provider under the engine's store sees the row the store names (in the table, the state and the grain).
        var row = store == Stores.Table ? GrainRowStorage.RowName(await engine.Services.GetRequiredService<TableLayoutRecord>().Layout, "host", id) : "host";

        // The first write (an insert) lands late too: its retry finds the record there.
        await azure.WriteStateAsync(row, id, new GrainState<HostGrainState>(host));
        await storage.WriteStateAsync("host", id, state);
        Assert.True(state.RecordExists);
        Assert.NotNull(state.ETag);

        // The next write's first try lands late: storage holds it under an ETag the grain never saw...
        host.Labels["region"] = "us-east";
        var firstTry = new GrainState<HostGrainState>(host) { ETag = state.ETag, RecordExists = true };
        await azure.WriteStateAsync(row, id, firstTry);

        // ...and the retry carries the replaced ETag: the Azure provider alone calls that a conflict, the engine's store
        // sees its own state there and takes the new ETag.
        var stale = state.ETag;
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() =>
            azure.WriteStateAsync(row, id, new GrainState<HostGrainState>(host) { ETag = stale, RecordExists = true }));
        await storage.WriteStateAsync("host", id, state);
        Assert.Equal(firstTry.ETag, state.ETag);

        // The grain writes on with it.
        host.Healthy = false;
        await storage.WriteStateAsync("host", id, state);
        Assert.Equal(("us-east", false), await Read(storage, id));

        // Another writer's different state is a real conflict: refused, and storage keeps the other writer's state.
        var other = new GrainState<HostGrainState>(new HostGrainState { Environment = "prod", Labels = { ["region"] = "ap-south" } })
        {
            ETag = state.ETag, RecordExists = true,
        };
        await storage.WriteStateAsync("host", id, other);
        host.Labels["region"] = "sa-east";
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync("host", id, state));
        Assert.Equal(("ap-south", true), await Read(storage, id));
    }

    private static async Task<(string Region, bool Healthy)> Read(IGrainStorage storage, GrainId id)
    {
        var read = new GrainState<HostGrainState>();
        await storage.ReadStateAsync("host", id, read);
        return (read.State!.Labels["region"], read.State.Healthy);
    }
}
