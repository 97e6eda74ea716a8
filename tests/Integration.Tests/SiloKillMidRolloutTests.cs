using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.TestingHost;

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
        var builder = new TestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.UseTestClusterMembership = false;
        builder.Properties["Storage:ConnectionString"] = _azurite.ConnectionString;
        builder.AddSiloBuilderConfigurator<AzureSiloConfigurator>();
        builder.AddClientBuilderConfigurator<AzureClientConfigurator>();
        _cluster = builder.Build();
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
        /// <summary>The first batch is in flight (at most one batch done).</summary>
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
        await grains.GetGrain<IEnvironmentGrain>(Env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var shopHosts = await Register(grains, "shop");
        var cartHosts = await Register(grains, "cart");

        // Two services, one slot: cart waits in the queue while shop runs, and must not start before shop ends.
        var shop = await Start(grains, "shop", "2.0.0");
        var cart = await Start(grains, "cart", "2.0.0");
        var rollout = grains.GetGrain<IRolloutGrain>(shop);

        var expected = RolloutStatus.Succeeded;
        switch (point)
        {
            case KillPoint.FirstBatch:
                await WaitFor(rollout, r => r.Hosts.Updating > 0 && r.Hosts.Updated <= 2, TimeSpan.FromSeconds(60), pollMs: 20);
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
        var cartDone = await WaitFor(grains.GetGrain<IRolloutGrain>(cart), r => r.Status.IsTerminal(), TimeSpan.FromSeconds(150));
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

    private static async Task<IReadOnlyList<string>> Register(IGrainFactory grains, string service)
    {
        var ids = Enumerable.Range(1, HostsPerService).Select(i => $"{service}-{i:000}").ToList();
        var registered = await grains.GetGrain<IEnvironmentGrain>(Env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = Env,
                Labels = new Dictionary<string, string> { ["service"] = service },
                CurrentArtifact = TestHttp.Digest("1.0.0"),
                CurrentVersion = "1.0.0",
                Simulation = new SimulationProfile { StepLatencyMs = 250 },
            },
        }).ToList());
        Assert.All(registered, r => Assert.True(r.Ok, r.Detail));
        return ids;
    }

    private static async Task<string> Start(IGrainFactory grains, string service, string version)
    {
        var releaseId = $"rel-{service}";
        Assert.True((await grains.GetGrain<IReleaseGrain>(releaseId).Create(new ReleaseDraft
        {
            Service = service, Version = version, Artifact = TestHttp.Digest(version), SubmittedBy = "test",
        })).Ok);
        var rolloutId = GrainKeys.Rollout(releaseId, Env);
        var started = await grains.GetGrain<IRolloutGrain>(rolloutId).Start(new RolloutDraft
        {
            ReleaseId = releaseId, Environment = Env, SubmittedBy = "test",
            Strategy = new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "2" },
            Selector = new Dictionary<string, string> { ["service"] = service },
        });
        Assert.True(started.Ok, started.Detail);
        return rolloutId;
    }

    private static async Task AssertHosts(IGrainFactory grains, IReadOnlyList<string> ids, string version)
    {
        var hosts = await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()));
        Assert.All(hosts, h =>
        {
            Assert.True(h!.State == HostState.Ready, $"{h.Id} is {h.State} on {h.CurrentVersion}");
            Assert.Equal(TestHttp.Digest(version), h.CurrentArtifact);
        });
    }

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

    private static async Task<RolloutSnapshot> WaitFor(IRolloutGrain rollout, Func<RolloutSnapshot, bool> condition, TimeSpan timeout, int pollMs = 200)
    {
        var deadline = DateTime.UtcNow + timeout;
        RolloutSnapshot? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await rollout.Get();
                if (last is not null && condition(last)) return last;
            }
            catch (Exception e) when (e is TimeoutException or OrleansException or SiloUnavailableException)
            {
                // The cluster is still noticing the dead silo; ask again.
            }

            await Task.Delay(pollMs);
        }

        Assert.Fail($"rollout did not reach the expected state in {timeout}; last: {last?.Status} {last?.StatusReason} {last?.Hosts}");
        return last!;
    }
}
