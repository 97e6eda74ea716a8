using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Catalog;

/// <summary>
/// Counts hosts per version per service in one environment. The count is kept in memory for <see cref="MaxAge"/>:
/// callers in that window (every open dashboard) share one read of the fleet, so a 10,000-host environment costs
/// 10,000 host reads per <see cref="MaxAge"/> at most, never per page load. Calls queue on the activation, so two
/// dashboards asking at once cause one count, not two.
/// </summary>
public sealed class FleetVersionsGrain(TimeProvider clock) : Grain, IFleetVersionsGrain
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    /// <summary>Host reads in flight at once.</summary>
    private const int Batch = 256;

    private FleetVersions? _counted;

    public async Task<FleetVersions?> Get()
    {
        var now = clock.GetUtcNow();
        if (_counted is { } held && now - held.CountedAt < MaxAge)
        {
            return held;
        }

        var environment = GrainFactory.Ref<IEnvironmentGrain>(this.GetPrimaryKeyString());
        if (await environment.Get() is null)
        {
            return null;
        }

        var ids = (await environment.GetHostIndex()).Select(h => h.HostId).ToList();
        var counts = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i += Batch)
        {
            var hosts = await Task.WhenAll(ids.Skip(i).Take(Batch).Select(id => GrainFactory.Ref<IHostGrain>(id).Get()));
            foreach (var host in hosts)
            {
                if (host is null) continue;
                var slots = host.Services.Count > 0
                    ? host.Services.Select(s => (Service: s.Key, Version: s.Value.CurrentVersion))
                    : [(Service: string.Empty, Version: host.CurrentVersion)];
                foreach (var (service, version) in slots)
                {
                    var versions = counts.TryGetValue(service, out var v) ? v : counts[service] = new Dictionary<string, int>(StringComparer.Ordinal);
                    var key = version ?? "none";
                    versions[key] = versions.GetValueOrDefault(key) + 1;
                }
            }
        }

        _counted = new FleetVersions
        {
            Environment = this.GetPrimaryKeyString(),
            HostCount = ids.Count,
            Services = counts.ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, int>)c.Value, StringComparer.Ordinal),
            CountedAt = now,
        };
        return _counted;
    }
}
