using Orleans.Storage;
using System.Collections.Concurrent;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// Wraps a real grain storage and fails writes for chosen grains, as a storage outage would. Faults are
/// selected per grain id so tests sharing the cluster do not see each other's outages.
/// </summary>
public sealed class FaultInjectingGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, bool> FailingKeys = new(StringComparer.Ordinal);

    /// <summary>Grain keys whose writes fail exactly (not the histories and indexes whose keys contain them).</summary>
    private static readonly ConcurrentDictionary<string, bool> FailingGrains = new(StringComparer.Ordinal);

    /// <summary>States (name and grain key) whose writes fail: for grains sharing a key with others (an environment's).</summary>
    private static readonly ConcurrentDictionary<string, bool> FailingStates = new(StringComparer.Ordinal);

    /// <summary>Writes that reached storage (or failed there) per grain key: what a test of write batching counts.</summary>
    private static readonly ConcurrentDictionary<string, int> Writes = new(StringComparer.Ordinal);

    /// <summary>How many writes the grain whose key is exactly <paramref name="key"/> has made.</summary>
    public static int WritesOf(string key) => Writes.GetValueOrDefault(key);

    /// <summary>Writes of grains whose key contains <paramref name="marker"/> fail until disposed.</summary>
    public static IDisposable FailWrites(string marker)
    {
        FailingKeys[marker] = true;
        return new Restore(marker, FailingKeys);
    }

    /// <summary>Writes of the grain whose key is exactly <paramref name="key"/> fail until disposed; every other grain writes.</summary>
    public static IDisposable FailWritesOf(string key)
    {
        FailingGrains[key] = true;
        return new Restore(key, FailingGrains);
    }

    /// <summary>Writes of the state <paramref name="stateName"/> of the grain whose key is <paramref name="key"/> fail until disposed.</summary>
    public static IDisposable FailWritesOfState(string stateName, string key)
    {
        FailingStates[stateName + "/" + key] = true;
        return new Restore(stateName + "/" + key, FailingStates);
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Writes.AddOrUpdate(grainId.Key.ToString() ?? string.Empty, 1, static (_, n) => n + 1);
        Fail(grainId);
        if (FailingStates.ContainsKey(stateName + "/" + grainId.Key))
        {
            throw new TimeoutException($"injected storage outage for state {stateName} of {grainId}");
        }

        return inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Fail(grainId);
        return inner.ClearStateAsync(stateName, grainId, grainState);
    }

    private static void Fail(GrainId grainId)
    {
        var key = grainId.Key.ToString() ?? string.Empty;
        if (FailingGrains.ContainsKey(key) || FailingKeys.Keys.Any(marker => key.Contains(marker, StringComparison.Ordinal)))
        {
            throw new TimeoutException($"injected storage outage for {grainId}");
        }
    }

    private sealed class Restore(string key, ConcurrentDictionary<string, bool> failing) : IDisposable
    {
        public void Dispose() => failing.TryRemove(key, out _);
    }
}
