using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.TestingHost;
using static Deploy.Engine.Integration.Tests.Infrastructure.ClusterFleet;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// Three silos on real storage (Azure Table membership, so any silo may die, the first one too); one silo is
/// killed at a chosen point of a rollout — the one holding the rollout grain or the one holding the environment
/// grain — and a fresh silo joins in its place. The rollout ends as it would have without the fault, no host is
/// left in transition, and the environment's concurrency limit held throughout (judged from the event histories
/// by the independent <see cref="ConcurrencyChecker"/>).
/// </summary>
/// <remarks>
/// Storage is Azurite, not the memory providers: memory grain storage, in-memory reminders and test-cluster
/// membership all live in grains or on the primary silo, so a killed silo would take the state with it.
/// </remarks>
public sealed class SiloKillMidRolloutTests : IAsyncLifetime
{
    private const string Env = "kill";
    private const int HostsPerService = 16;

    private AzuriteProcess _azurite = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        _cluster = ClusterFleet.Builder(_azurite, 3).Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        // Silos before Azurite: silo shutdown waits on the membership table.
        await _cluster.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    public enum KillPoint
    {
        /// <summary>Early: hosts are in flight and fewer than half are updated (the window is wide enough to be seen on a slow machine).</summary>
        FirstBatch,

        /// <summary>Half the hosts are updated.</summary>
        Midway,

        /// <summary>An operator asked for a rollback midway and it is reverting hosts.</summary>
        DuringRollback,
    }

    public enum Victim
    {
        RolloutSilo,
        EnvironmentSilo,
    }

    [Theory]
    [InlineData(KillPoint.FirstBatch, Victim.RolloutSilo)]
    [InlineData(KillPoint.Midway, Victim.EnvironmentSilo)]
    [InlineData(KillPoint.DuringRollback, Victim.RolloutSilo)]
    [InlineData(KillPoint.DuringRollback, Victim.EnvironmentSilo)]
    public async Task A_silo_killed_mid_rollout_changes_neither_the_outcome_nor_the_concurrency_limit(KillPoint point, Victim victim)
    {
        var grains = _cluster.GrainFactory;
        var shopHosts = await RegisterService(grains, "shop");
        var cartHosts = await RegisterService(grains, "cart");

        // Two services, one slot: cart waits in the queue while shop runs, and must not start before shop ends.
        var rollout = await StartService(grains, "shop");
        var cartRollout = await StartService(grains, "cart");
        var (shop, cart) = (rollout.GetPrimaryKeyString(), cartRollout.GetPrimaryKeyString());

        var expected = RolloutStatus.Succeeded;
        switch (point)
        {
            case KillPoint.FirstBatch:
                await WaitFor(rollout, r => r.Hosts.Updating > 0 && r.Hosts.Updated < HostsPerService / 2, TimeSpan.FromSeconds(60), pollMs: 20);
                break;
            case KillPoint.Midway:
                await WaitFor(rollout, r => r.Hosts.Updated >= HostsPerService / 2, TimeSpan.FromSeconds(60));
                break;
            case KillPoint.DuringRollback:
                await WaitFor(rollout, r => r.Hosts.Updated >= HostsPerService / 2, TimeSpan.FromSeconds(60));
                var rollback = await rollout.Rollback(new OperatorAction { Actor = "test", Reason = "drill" });
                Assert.True(rollback.Ok, rollback.Detail);
                await WaitFor(rollout, r => r.Status == RolloutStatus.RollingBack && r.Hosts.RollingBack > 0, TimeSpan.FromSeconds(30), pollMs: 20);
                expected = RolloutStatus.RolledBack;
                break;
        }

        IAddressable target = victim == Victim.RolloutSilo ? rollout : grains.GetGrain<IEnvironmentGrain>(Env);
        var address = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(target);
        Assert.NotNull(address);
        await _cluster.KillSiloAsync(_cluster.Silos.Single(s => s.SiloAddress.Equals(address)));
        await _cluster.StartAdditionalSiloAsync();

        var done = await WaitFor(rollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(150));
        Assert.True(expected == done.Status, $"{done.Status}: {done.StatusReason}");
        Assert.Equal(0, done.Hosts.Updating + done.Hosts.RollingBack);
        var cartDone = await WaitFor(cartRollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(150));
        Assert.Equal(RolloutStatus.Succeeded, cartDone.Status);

        await AssertHosts(grains, shopHosts, expected == RolloutStatus.Succeeded ? "2.0.0" : "1.0.0");
        await AssertHosts(grains, cartHosts, "2.0.0");

        var histories = new List<IReadOnlyList<EngineEvent>>();
        foreach (var id in new[] { shop, cart })
        {
            histories.Add(await History(grains, id));
        }

        Assert.Equal(1, ConcurrencyChecker.MaxOverlap(histories));
    }

    private static Task<List<string>> RegisterService(IGrainFactory grains, string service) =>
        Register(grains, Env, Enumerable.Range(1, HostsPerService).Select(i => $"{service}-{i:000}").ToList(), latencyMs: 250,
            _ => new Dictionary<string, string> { ["service"] = service });

    private static Task<IRolloutGrain> StartService(IGrainFactory grains, string service) =>
        Start(grains, Env, $"rel-{service}", service, "2.0.0", new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "2" },
            new Dictionary<string, string> { ["service"] = service });

    /// <summary>The rollout's history once it holds its finish (queue streams deliver late).</summary>
    private static async Task<IReadOnlyList<EngineEvent>> History(IGrainFactory grains, string rolloutId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<EngineEvent> events = [];
        while (DateTime.UtcNow < deadline)
        {
            events = (await grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(rolloutId)).Read(0, 100_000)).Items.ToList();
            if (events.Any(e => e.Type == EventTypes.PipelineRunFinished))
            {
                return events;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"history of {rolloutId} has no finish: {string.Join(", ", events.Select(e => e.Type).Distinct())}");
        return events;
    }
}
