using Deploy.Engine.Grains;
using Deploy.Engine.Silo.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Deploy.Engine.Api.Tests.Infrastructure;

/// <summary>
/// The engine of <see cref="EngineFactory"/> with a blob store that can be taken down while the table store stays up
/// (the split an Azure outage of one service gives): every read and write of blob-backed state then throws.
/// </summary>
public sealed class BlobOutageEngine : IDisposable
{
    private readonly EngineFactory _root = new();

    public BlobOutageEngine()
    {
        Factory = _root.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.AddKeyedSingleton<IGrainStorage>(Stores.Blob, (sp, _) => new SwitchableStorage(
                new LocalGrainStorage(Stores.Blob, sp.GetRequiredService<LocalStateStore>(), sp.GetRequiredService<Serializer>(),
                    sp.GetRequiredService<Orleans.Serialization.Session.SerializerSessionPool>()), this))));
    }

    public WebApplicationFactory<Program> Factory { get; }

    /// <summary>True while the blob store refuses every call.</summary>
    public bool BlobDown { get; set; }

    /// <summary>Every stored record's key (<c>store/state/grain id</c>).</summary>
    public IReadOnlyCollection<string> StoredKeys => Factory.Services.GetRequiredService<LocalStateStore>().StoredKeys;

    public HttpClient As(string key)
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public void Dispose()
    {
        Factory.Dispose();
        _root.Dispose();
    }

    private sealed class SwitchableStorage(IGrainStorage inner, BlobOutageEngine outage) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            Down() ?? inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            Down() ?? inner.WriteStateAsync(stateName, grainId, grainState);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            Down() ?? inner.ClearStateAsync(stateName, grainId, grainState);

        private Task? Down() => outage.BlobDown ? Task.FromException(new TimeoutException("blob storage is down (test outage)")) : null;
    }
}
