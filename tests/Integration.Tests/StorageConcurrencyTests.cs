using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// A burst of writes (a rollback's thousands of host states at once) reaches a real Azurite at most
/// <c>Storage:MaxConcurrentRequests</c> at a time through the engine's storage clients, and every write lands.
/// </summary>
public sealed class StorageConcurrencyTests
{
    [Fact]
    public async Task A_burst_of_table_writes_is_sent_at_most_the_configured_number_at_once_and_all_land()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var wire = new InFlightCounter(new HttpClientHandler());
        using var http = new HttpClient(wire);
        var options = new StorageTimeouts { MaxConcurrentRequests = 4, NetworkTimeout = TimeSpan.FromSeconds(30) }.Tables();
        options.Transport = new HttpClientTransport(http);
        var table = new TableServiceClient(azurite.ConnectionString, options).GetTableClient("concurrency");
        await table.CreateIfNotExistsAsync();
        wire.Reset();

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => table.UpsertEntityAsync(new TableEntity("burst", $"host-{i:D3}") { ["Phase"] = "RolledBack" })));

        Assert.InRange(wire.MostAtOnce, 2, 4);
        var stored = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(e => e.PartitionKey == "burst")) stored++;
        Assert.Equal(200, stored);
    }

    /// <summary>Counts the requests on the wire at once.</summary>
    private sealed class InFlightCounter(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private int _now;
        private int _most;

        public int MostAtOnce => Volatile.Read(ref _most);

        public void Reset() => Volatile.Write(ref _most, 0);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _now);
            int most;
            while (now > (most = Volatile.Read(ref _most)) && Interlocked.CompareExchange(ref _most, now, most) != most)
            {
            }

            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _now);
            }
        }
    }
}
