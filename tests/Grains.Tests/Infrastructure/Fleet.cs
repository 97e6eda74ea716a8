using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>Test helpers that drive the grains the way the API does.</summary>
public static class Fleet
{
    public static string Digest(string seed) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed))).ToLowerInvariant();

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("n")[..8];

    public static async Task<IReadOnlyList<string>> CreateEnvironment(
        IGrainFactory grains, string environment, int hosts, int concurrencyLimit = 1, int latencyMs = 0,
        IReadOnlyDictionary<string, double>? failureByVersion = null, string? currentVersion = "1.0.0",
        IReadOnlyDictionary<string, string>? labels = null, string? prefix = null,
        IReadOnlyDictionary<string, SimulatedMetrics>? metricsByVersion = null)
    {
        var env = grains.GetGrain<IEnvironmentGrain>(environment);
        await env.Configure(new EnvironmentSpec { ConcurrencyLimit = concurrencyLimit });
        return await AddHosts(grains, environment, hosts, latencyMs, failureByVersion, currentVersion, labels, prefix, metricsByVersion);
    }

    public static async Task<IReadOnlyList<string>> AddHosts(
        IGrainFactory grains, string environment, int hosts, int latencyMs = 0,
        IReadOnlyDictionary<string, double>? failureByVersion = null, string? currentVersion = "1.0.0",
        IReadOnlyDictionary<string, string>? labels = null, string? prefix = null,
        IReadOnlyDictionary<string, SimulatedMetrics>? metricsByVersion = null)
    {
        var ids = Enumerable.Range(1, hosts).Select(i => $"{prefix ?? environment}-{i:0000}").ToList();
        var results = await grains.GetGrain<IEnvironmentGrain>(environment).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = environment,
                Labels = labels ?? new Dictionary<string, string>(),
                CurrentArtifact = currentVersion is null ? null : Digest(currentVersion),
                CurrentVersion = currentVersion,
                Simulation = new SimulationProfile
                {
                    StepLatencyMs = latencyMs,
                    FailureProbabilityByVersion = failureByVersion ?? new Dictionary<string, double>(),
                    MetricsByVersion = metricsByVersion ?? new Dictionary<string, SimulatedMetrics>(),
                },
            },
        }).ToList());
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        return ids;
    }

    public static async Task<string> CreateRelease(IGrainFactory grains, string service, string version)
    {
        var id = Unique("rel");
        var result = await grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = service,
            Version = version,
            Artifact = Digest(version),
            SubmittedBy = "test-pipeline",
        });
        Assert.True(result.Ok, result.Detail);
        return id;
    }

    public static async Task<RolloutSnapshot> StartRollout(
        IGrainFactory grains, string releaseId, string environment, RolloutStrategySpec? strategy = null,
        IReadOnlyDictionary<string, string>? selector = null)
    {
        var result = await grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(releaseId, environment)).Start(new RolloutDraft
        {
            ReleaseId = releaseId,
            Environment = environment,
            Strategy = strategy ?? new RolloutStrategySpec(),
            SubmittedBy = "test-pipeline",
            Selector = selector ?? new Dictionary<string, string>(),
        });
        Assert.True(result.Ok, result.Detail);
        return result.Value!;
    }

    /// <summary>Polls until the rollout is terminal (or the condition holds), failing with its last state at the deadline.</summary>
    public static async Task<RolloutSnapshot> WaitFor(
        IGrainFactory grains, string rolloutId, Func<RolloutSnapshot, bool>? condition = null, TimeSpan? timeout = null)
    {
        condition ??= r => r.Status.IsTerminal();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        RolloutSnapshot? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await grains.GetGrain<IRolloutGrain>(rolloutId).Get();
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"rollout {rolloutId} did not reach the expected state in time; last: {last?.Status} {last?.StatusReason} hosts {last?.Hosts}");
        return last!;
    }

    public static async Task<List<EngineEvent>> History(IGrainFactory grains, string streamKey, Func<List<EngineEvent>, bool> until, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        List<EngineEvent> events = [];
        while (DateTime.UtcNow < deadline)
        {
            events = (await grains.GetGrain<IEventHistoryGrain>(streamKey).Read(0, 100_000)).Items.ToList();
            if (until(events))
            {
                return events;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"history {streamKey} incomplete: {events.Count} events: {string.Join(", ", events.Select(e => e.Type).Distinct())}");
        return events;
    }

    /// <summary>Every host the events of a type name (hosts.updated and hosts.reverted name many hosts per event).</summary>
    public static List<string> HostsIn(IEnumerable<EngineEvent> events, string type) =>
        events.Where(e => e.Type == type).SelectMany(e => e.Data["hosts"].Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();

    public static async Task<HostSnapshot[]> HostsOf(IGrainFactory grains, IEnumerable<string> ids) =>
        (await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()))).Select(h => h!).ToArray();
}
