using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.TestingHost;
using static Deploy.Engine.Integration.Tests.Infrastructure.ClusterFleet;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The whole cluster goes down in the middle of a rollout — every silo, as in a full redeploy or a power cut of
/// the one machine — and a new cluster comes up on the same storage (same service id, so it owns the same grain
/// state and reminders). The rollout finishes by itself, every host ends on the new artifact, and no host is
/// deployed twice for its step.
/// </summary>
public sealed class FullClusterRestartTests : IAsyncLifetime
{
    private const int HostCount = 30;

    private AzuriteProcess _azurite = null!;
    private TestCluster? _cluster;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync()
    {
        // Silos before Azurite: silo shutdown waits on the membership table.
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await _azurite.DisposeAsync();
    }

    [Fact]
    public async Task A_rollout_survives_a_restart_of_every_silo_and_deploys_each_host_once()
    {
        var first = Builder(_azurite, 2);
        var (serviceId, clusterId) = (first.Options.ServiceId, first.Options.ClusterId);
        _cluster = first.Build();
        await _cluster.DeployAsync();

        var grains = _cluster.GrainFactory;
        const string env = "restart";
        var ids = await Register(grains, env, Enumerable.Range(1, HostCount).Select(i => $"rs-{i:000}").ToList(), latencyMs: 300);
        var rollout = await Start(grains, env, "rel-restart", "shop", "2.0.0", new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "3" });
        var rolloutId = rollout.GetPrimaryKeyString();

        // Down in the middle: some hosts updated, a batch in flight, most not started.
        var midway = await WaitFor(rollout, r => r.Hosts.Updated >= 6 && r.Hosts.Updating > 0, TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Progressing, midway.Status);
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        _cluster = null;

        // A new cluster, same service and cluster id, same storage.
        _cluster = Builder(_azurite, 2, serviceId, clusterId).Build();
        await _cluster.DeployAsync();
        grains = _cluster.GrainFactory;

        // Nobody asks the rollout anything until its hosts are done: it carries on by itself (its reminder), not
        // because a reader happened to wake it.
        var hosts = await WaitForHosts(grains, ids, h => h.State == HostState.Ready && h.CurrentArtifact == TestHttp.Digest("2.0.0"), TimeSpan.FromSeconds(120));
        Assert.All(hosts, h => Assert.Equal(TestHttp.Digest("1.0.0"), h.PreviousArtifact));

        var done = await WaitFor(grains.GetGrain<IRolloutGrain>(rolloutId), r => r.Status.IsTerminal(), TimeSpan.FromSeconds(30));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(HostCount, done.Hosts.Updated);

        // Each host moved once for its step, however the restart fell: each host's own record still names 1.0.0 as
        // the artifact it came from (a second apply of 2.0.0 would have recorded 2.0.0 there, checked above), and the
        // history names every host exactly once as updated (hosts.updated events have ids fixed by rollout, step and
        // chunk, so one published again after the restart is recorded once).
        var history = await History(grains, rolloutId, HostCount);
        var updated = history.Where(e => e.Type == EventTypes.HostsUpdated)
            .SelectMany(e => e.Data["hosts"].Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.All(ids, id => Assert.True(updated.Count(h => h == id) == 1, $"{id}: named {updated.Count(h => h == id)} times as updated"));
        Assert.DoesNotContain(history, e => e.Type == EventTypes.HostFailed);
        Assert.Single(history, e => e.Type == EventTypes.ServiceDeployed);
    }

    /// <summary>The rollout's history once it holds the finish and an updated event for every host (queue streams deliver late).</summary>
    private static async Task<List<EngineEvent>> History(IGrainFactory grains, string rolloutId, int hosts)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<EngineEvent> events = [];
        while (DateTime.UtcNow < deadline)
        {
            events = (await grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(rolloutId)).Read(0, 100_000)).Items.ToList();
            if (events.Any(e => e.Type == EventTypes.PipelineRunFinished)
                && events.Where(e => e.Type == EventTypes.HostsUpdated).SelectMany(e => e.Data["hosts"].Split(',')).Distinct().Count() == hosts)
            {
                // Let late re-deliveries land before counting.
                await Task.Delay(1000);
                return (await grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(rolloutId)).Read(0, 100_000)).Items.ToList();
            }

            await Task.Delay(250);
        }

        Assert.Fail($"history of {rolloutId} incomplete: {events.Count} events: {string.Join(", ", events.GroupBy(e => e.Type).Select(g => $"{g.Key} ×{g.Count()}"))}");
        return events;
    }

    private static async Task<HostSnapshot[]> WaitForHosts(IGrainFactory grains, IReadOnlyList<string> ids, Func<HostSnapshot, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        HostSnapshot?[] last = [];
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()));
                if (last.All(h => h is not null && condition(h))) return last!;
            }
            catch (Exception e) when (IsClusterSettling(e))
            {
                // The new cluster is still settling; ask again.
            }

            await Task.Delay(250);
        }

        Assert.Fail($"hosts did not reach the expected state in {timeout}: {string.Join(", ", last.Where(h => h is not null && !condition(h)).Select(h => $"{h!.Id} {h.State} {h.CurrentVersion}"))}");
        return last!;
    }
}
