using System.Buffers;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>Local mode's state store keeps what a storage provider promises: copies, ETag checks, one cluster's states apart from another's.</summary>
public sealed class LocalGrainStorageTests : IDisposable
{
    private static readonly ServiceProvider Services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    private static readonly Serializer Serializer = Services.GetRequiredService<Serializer>();

    private static readonly Orleans.Serialization.Session.SerializerSessionPool Sessions = Services.GetRequiredService<Orleans.Serialization.Session.SerializerSessionPool>();

    private readonly List<LocalStateStore> _leases = [];

    private static readonly GrainId Host = GrainId.Create("host", "web-01");

    [Fact]
    public async Task A_write_is_read_back_as_a_copy_with_the_new_etag()
    {
        var storage = Storage("a");
        var written = State(new HostRegistration { Environment = "prod", CurrentVersion = "1.0.0" });
        await storage.WriteStateAsync("host", Host, written);

        var read = State<HostRegistration>(null);
        await storage.ReadStateAsync("host", Host, read);

        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal("1.0.0", read.State!.CurrentVersion);
        Assert.NotSame(written.State, read.State);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3_000)]
    [InlineData(40_000)]
    public async Task A_state_of_any_size_reads_back_whole_and_is_kept_in_pieces_below_the_large_object_threshold(int labels)
    {
        // A large fleet's rollout state is hundreds of kilobytes: it is kept in pieces (none on the large-object heap) and
        // reads back byte for byte, whichever piece boundary a value straddles.
        var storage = Storage("size-" + labels);
        var big = new HostRegistration
        {
            Environment = "prod",
            Labels = Enumerable.Range(0, labels).ToDictionary(i => $"label-{i:D6}", i => new string((char)('a' + i % 26), i % 37)),
        };
        var written = State(big);
        await storage.WriteStateAsync("host", Host, written);

        var read = State<HostRegistration>(null);
        await storage.ReadStateAsync("host", Host, read);

        Assert.Equal(big.Labels, read.State!.Labels);
        var bytes = StoredBytes.Of(Serializer, Sessions, big);
        Assert.Equal(Serializer.SerializeToArray(big).Length, bytes.Length);
        Assert.Equal(Serializer.SerializeToArray(big), bytes.Sequence().ToArray());
        if (labels == 40_000)
        {
            Assert.True(bytes.Length > 4 * StoredBytes.PieceSize, $"{bytes.Length} bytes: the test must span several pieces");
        }
    }

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_changes_nothing()
    {
        var storage = Storage("b");
        var first = State(new HostRegistration { Environment = "prod", CurrentVersion = "1.0.0" });
        await storage.WriteStateAsync("host", Host, first);

        // Two activations read the same version (a duplicate activation during a failover); the first to write wins.
        var winner = State<HostRegistration>(null);
        var loser = State<HostRegistration>(null);
        await storage.ReadStateAsync("host", Host, winner);
        await storage.ReadStateAsync("host", Host, loser);
        winner.State = winner.State! with { CurrentVersion = "2.0.0" };
        await storage.WriteStateAsync("host", Host, winner);

        loser.State = loser.State! with { CurrentVersion = "1.5.0" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("host", Host, loser));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("host", Host, loser));

        var now = State<HostRegistration>(null);
        await storage.ReadStateAsync("host", Host, now);
        Assert.Equal("2.0.0", now.State!.CurrentVersion);
    }

    [Fact]
    public async Task Of_writers_racing_from_the_same_read_exactly_one_wins_and_storage_holds_its_state()
    {
        // Duplicate activations after a failover, all at once: the first write (from nothing) and every later one from
        // the same read are compare-and-swaps; exactly one of each race lands, and what storage holds is the winner's.
        var storage = Storage("race-" + Guid.NewGuid().ToString("n"));
        for (var round = 0; round < 20; round++)
        {
            var read = State<HostRegistration>(null);
            await storage.ReadStateAsync("host", Host, read);
            var writers = Enumerable.Range(0, 16)
                .Select(i => new GrainState<HostRegistration>(new HostRegistration { Environment = "prod", CurrentVersion = $"{round}.{i}" }, read.ETag))
                .ToList();
            var outcomes = await Task.WhenAll(writers.Select(w => Task.Run(async () =>
            {
                try
                {
                    await storage.WriteStateAsync("host", Host, w);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            })));

            var winner = Assert.Single(writers.Where((_, i) => outcomes[i]));
            var now = State<HostRegistration>(null);
            await storage.ReadStateAsync("host", Host, now);
            Assert.Equal(winner.State!.CurrentVersion, now.State!.CurrentVersion);
            Assert.Equal(winner.ETag, now.ETag);
        }
    }

    [Fact]
    public async Task A_first_write_with_an_etag_and_a_clear_then_stale_write_are_refused()
    {
        var storage = Storage("c");
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            storage.WriteStateAsync("host", Host, new GrainState<HostRegistration>(new HostRegistration { Environment = "prod" }, "7")));

        var state = State(new HostRegistration { Environment = "prod" });
        await storage.WriteStateAsync("host", Host, state);
        var stale = state.ETag;
        await storage.ClearStateAsync("host", Host, state);
        Assert.False(state.RecordExists);
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            storage.WriteStateAsync("host", Host, new GrainState<HostRegistration>(new HostRegistration { Environment = "prod" }, stale)));
    }

    [Fact]
    public async Task Clusters_do_not_share_states_and_a_cluster_keeps_them_until_its_last_silo_stops()
    {
        var cluster = "d-" + Guid.NewGuid().ToString("n");
        var silo1 = Storage(cluster);
        var silo2 = Storage(cluster);
        await silo1.WriteStateAsync("host", Host, State(new HostRegistration { Environment = "prod" }));

        var other = State<HostRegistration>(null);
        await Storage("e").ReadStateAsync("host", Host, other);
        Assert.False(other.RecordExists);

        _leases[0].Dispose();
        var seen = State<HostRegistration>(null);
        await silo2.ReadStateAsync("host", Host, seen);
        Assert.True(seen.RecordExists);

        _leases[1].Dispose();
        var afterAll = State<HostRegistration>(null);
        await Storage(cluster).ReadStateAsync("host", Host, afterAll);
        Assert.False(afterAll.RecordExists);
    }

    public void Dispose()
    {
        foreach (var lease in _leases)
        {
            lease.Dispose();
        }
    }

    private LocalGrainStorage Storage(string cluster)
    {
        var lease = new LocalStateStore(Microsoft.Extensions.Options.Options.Create(new ClusterOptions { ServiceId = "local-storage-tests", ClusterId = cluster }));
        _leases.Add(lease);
        return new LocalGrainStorage("Table", lease, Serializer, Sessions);
    }

    private static GrainState<T> State<T>(T? value) where T : class => new(value!, null);
}
