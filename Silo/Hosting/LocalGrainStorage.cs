using System.Collections.Concurrent;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Serialization.Session;
using Orleans.Storage;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// Local mode's grain storage: a serialized copy of each state (Orleans' binary format) in this process's memory, with
/// the ETag check every provider makes — a write or clear from an activation holding a stale ETag (a duplicate
/// activation after a failover) throws <see cref="InconsistentStateException"/> and changes nothing.
/// Orleans' memory provider sends every read and write to one of ten storage grains: a grain call plus a deep copy of
/// the bytes, about six no-op calls' worth per write on the 2-core bench machine. Here a write is done in the caller's
/// own turn. The state is shared by every silo of the cluster in this process (the test and bench clusters) and dropped
/// when the last of them stops; a silo in another process would not see it — Local mode is for one process.
/// </summary>
public sealed class LocalGrainStorage(string name, LocalStateStore store, Serializer serializer, SerializerSessionPool sessions) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.Entries.TryGetValue(Key(stateName, grainId), out var cell) && Volatile.Read(ref cell.Entry) is { } entry)
        {
            grainState.State = serializer.Deserialize<T>(entry.Data.Sequence());
            grainState.ETag = entry.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = Key(stateName, grainId);
        var next = new LocalStateStore.Entry(StoredBytes.Of(serializer, sessions, grainState.State), store.NextETag());
        if (!Swap(key, grainState.ETag, next))
        {
            throw Conflict(stateName, grainId, grainState.ETag);
        }

        grainState.ETag = next.ETag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (!Swap(Key(stateName, grainId), grainState.ETag, null))
        {
            throw Conflict(stateName, grainId, grainState.ETag);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>Replaces (or with null removes) the entry when its ETag is the one the caller read; no entry matches a null ETag.</summary>
    private bool Swap(string key, string? expectedETag, LocalStateStore.Entry? next)
    {
        // Compare-and-swap on the key's cell, without a lock: a concurrent writer that got in first makes this one fail,
        // as a stale ETag would. (A ConcurrentDictionary.TryUpdate takes a lock stripe per write; with thousands of hosts
        // writing at once on two cores, waiting on those stripes was 17 % of the CPU samples of the 10,000-host rolling bench.)
        if (!store.Entries.TryGetValue(key, out var cell))
        {
            if (expectedETag is not null)
            {
                return false;
            }

            if (next is null)
            {
                return true;
            }

            cell = store.Entries.GetOrAdd(key, static _ => new LocalStateStore.Cell());
        }

        var current = Volatile.Read(ref cell.Entry);
        if (!string.Equals(current?.ETag, expectedETag, StringComparison.Ordinal))
        {
            return false;
        }

        return current is null && next is null || Interlocked.CompareExchange(ref cell.Entry, next, current) == current;
    }

    private string Key(string stateName, GrainId grainId) => $"{name}/{stateName}/{grainId}";

    private static InconsistentStateException Conflict(string stateName, GrainId grainId, string? etag) =>
        new($"state '{stateName}' of {grainId} changed since it was read (ETag {etag ?? "none"})");
}

/// <summary>
/// The states of one Local cluster in this process, shared by its silos: each silo's container holds a lease, and the
/// states go when the last silo of the cluster stops (as a memory provider's storage grains would).
/// </summary>
public sealed class LocalStateStore : IDisposable
{
    private static readonly Dictionary<string, (ConcurrentDictionary<string, Cell> Entries, int Silos)> Clusters = new(StringComparer.Ordinal);

    private static long _etags;

    private readonly string _cluster;

    public LocalStateStore(Microsoft.Extensions.Options.IOptions<ClusterOptions> options)
    {
        _cluster = options.Value.ServiceId + "/" + options.Value.ClusterId;
        lock (Clusters)
        {
            var (entries, silos) = Clusters.GetValueOrDefault(_cluster, (new ConcurrentDictionary<string, Cell>(StringComparer.Ordinal), 0));
            Clusters[_cluster] = (entries, silos + 1);
            Entries = entries;
        }
    }

    public sealed record Entry(StoredBytes Data, string ETag);

    /// <summary>One key's place: its entry, or null while it holds none; swapped whole by compare-and-swap.</summary>
    internal sealed class Cell
    {
        public Entry? Entry;
    }

    internal ConcurrentDictionary<string, Cell> Entries { get; }

    /// <summary>The keys that hold a state now.</summary>
    public IReadOnlyCollection<string> StoredKeys => Entries.Where(e => Volatile.Read(ref e.Value.Entry) is not null).Select(e => e.Key).ToList();

    public string NextETag() => Interlocked.Increment(ref _etags).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        lock (Clusters)
        {
            if (Clusters.TryGetValue(_cluster, out var cluster))
            {
                if (cluster.Silos <= 1)
                {
                    Clusters.Remove(_cluster);
                }
                else
                {
                    Clusters[_cluster] = (cluster.Entries, cluster.Silos - 1);
                }
            }
        }
    }
}
