using System.Collections.Concurrent;
using Orleans.Configuration;
using Orleans.Serialization;
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
public sealed class LocalGrainStorage(string name, LocalStateStore store, Serializer serializer) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.Entries.TryGetValue(Key(stateName, grainId), out var entry))
        {
            grainState.State = serializer.Deserialize<T>(entry.Data);
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
        var next = new LocalStateStore.Entry(serializer.SerializeToArray(grainState.State), store.NextETag());
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
        var entries = store.Entries;
        if (!entries.TryGetValue(key, out var current))
        {
            return expectedETag is null && (next is null || entries.TryAdd(key, next));
        }

        if (!string.Equals(current.ETag, expectedETag, StringComparison.Ordinal))
        {
            return false;
        }

        // Compare-and-swap on the entry itself: a concurrent writer that got in first makes this one fail, as a stale ETag would.
        return next is null
            ? entries.TryRemove(new KeyValuePair<string, LocalStateStore.Entry>(key, current))
            : entries.TryUpdate(key, next, current);
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
    private static readonly Dictionary<string, (ConcurrentDictionary<string, Entry> Entries, int Silos)> Clusters = new(StringComparer.Ordinal);

    private static long _etags;

    private readonly string _cluster;

    public LocalStateStore(Microsoft.Extensions.Options.IOptions<ClusterOptions> options)
    {
        _cluster = options.Value.ServiceId + "/" + options.Value.ClusterId;
        lock (Clusters)
        {
            var (entries, silos) = Clusters.GetValueOrDefault(_cluster, (new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal), 0));
            Clusters[_cluster] = (entries, silos + 1);
            Entries = entries;
        }
    }

    public sealed record Entry(byte[] Data, string ETag);

    public ConcurrentDictionary<string, Entry> Entries { get; }

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
