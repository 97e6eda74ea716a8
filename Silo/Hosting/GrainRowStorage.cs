using Orleans.Storage;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// The state table's rows in the service's layout (<see cref="TableLayoutRecord"/>): with <see cref="TableLayout.RowPerGrain"/>
/// the Orleans table provider under it is given a row key naming the state and the grain (<c>host_host/web-1</c>, its
/// characters sanitised as Orleans does), with <see cref="TableLayout.Orleans"/> the state name as before. Partition keys,
/// ETags and the stored format are the provider's own in both.
/// </summary>
public sealed class GrainRowStorage(IGrainStorage inner, TableLayoutRecord layout) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        await inner.ReadStateAsync(await Row(stateName, grainId), grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        await inner.WriteStateAsync(await Row(stateName, grainId), grainId, grainState);

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        await inner.ClearStateAsync(await Row(stateName, grainId), grainId, grainState);

    /// <summary>The name the provider turns into the row key.</summary>
    public static string RowName(TableLayout layout, string stateName, GrainId grainId) =>
        layout == TableLayout.RowPerGrain ? $"{stateName}_{grainId}" : stateName;

    private async ValueTask<string> Row(string stateName, GrainId grainId)
    {
        var decided = layout.Layout;
        return RowName(decided.IsCompletedSuccessfully ? decided.Result : await decided, stateName, grainId);
    }
}
