using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.TestingHost;

namespace Deploy.Engine.Integration.Tests;

/// <summary>Two silos on real storage; the one driving a rollout dies in the middle of it.</summary>
public sealed class SiloFailoverTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        var builder = new TestClusterBuilder(2);
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

    [Fact]
    public async Task Killing_the_silo_that_drives_a_rollout_still_finishes_it_with_no_host_left_in_transition()
    {
        var grains = _cluster.GrainFactory;
        const string env = "failover";
        const int hostCount = 40;
        await grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var ids = Enumerable.Range(1, hostCount).Select(i => $"fo-{i:000}").ToList();
        var registered = await grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = env,
                CurrentArtifact = TestHttp.Digest("1.0.0"),
                CurrentVersion = "1.0.0",
                Simulation = new SimulationProfile { StepLatencyMs = 150 },
            },
        }).ToList());
        Assert.All(registered, r => Assert.True(r.Ok, r.Detail));

        const string releaseId = "rel-failover";
        Assert.True((await grains.GetGrain<IReleaseGrain>(releaseId).Create(new ReleaseDraft
        {
            Service = "shop", Version = "2.0.0", Artifact = TestHttp.Digest("2.0.0"), SubmittedBy = "test",
        })).Ok);
        var rolloutId = GrainKeys.Rollout(releaseId, env);
        var rollout = grains.GetGrain<IRolloutGrain>(rolloutId);
        var started = await rollout.Start(new RolloutDraft
        {
            ReleaseId = releaseId, Environment = env, SubmittedBy = "test",
            Strategy = new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "2" },
        });
        Assert.True(started.Ok, started.Detail);

        var midway = await WaitFor(rollout, r => r.Hosts.Updated >= 8, TimeSpan.FromSeconds(60));
        var victim = _cluster.Silos.Single(s => midway.Silo!.Contains(s.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        await _cluster.KillSiloAsync(victim);

        var done = await WaitFor(rollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(150));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(hostCount, done.Hosts.Updated);
        Assert.DoesNotContain(victim.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), done.Silo, StringComparison.Ordinal);

        var hosts = await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()));
        Assert.All(hosts, h =>
        {
            Assert.Equal(HostState.Ready, h!.State);
            Assert.Equal(TestHttp.Digest("2.0.0"), h.CurrentArtifact);
        });
    }

    [Fact]
    public async Task Killing_the_silo_of_a_canary_waiting_for_promote_keeps_its_place_and_it_finishes_after_the_promote()
    {
        var grains = _cluster.GrainFactory;
        var ids = await Fleet(grains, "canary-kill", 10, slots: false);
        var rollout = await Start(grains, "canary-kill", new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 30 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
        });

        var paused = await WaitFor(rollout, r => r.CurrentStep == 3 && r.Hosts.Updated == 3, TimeSpan.FromSeconds(60));
        await _cluster.KillSiloAsync(SiloOf(paused));

        // Reactivated elsewhere from storage: still on the pause, the canary hosts still on the new version.
        var moved = await WaitFor(rollout, r => r.Silo != paused.Silo, TimeSpan.FromSeconds(90));
        Assert.Equal(3, moved.CurrentStep);
        Assert.Equal(RolloutStatus.Progressing, moved.Status);
        Assert.Equal(3, moved.Hosts.Updated);

        var promoted = await Retry(() => rollout.Promote(new OperatorAction { Actor = "ops" }));
        Assert.True(promoted.Ok, promoted.Detail);
        var done = await WaitFor(rollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(90));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        await AssertHosts(grains, ids, "2.0.0");
    }

    [Fact]
    public async Task Killing_the_silo_during_a_blue_green_switch_converges_on_one_active_slot()
    {
        var grains = _cluster.GrainFactory;
        var ids = await Fleet(grains, "bg-kill", 8, slots: true);
        var rollout = await Start(grains, "bg-kill", new RolloutStrategySpec
        {
            Type = "blueGreen",
            BlueGreen = new BlueGreenDeclaration { ScaleDownDelaySeconds = 2 },
        });

        var ready = await WaitFor(rollout, r => r.Steps.Count > 0 && r.Steps[r.CurrentStep - 1].Kind == "Pause", TimeSpan.FromSeconds(60));
        var victim = SiloOf(ready);
        // The promote starts the switch; the silo dies while it is under way (or just after).
        var promote = rollout.Promote(new OperatorAction { Actor = "ops" });
        await _cluster.KillSiloAsync(victim);
        try
        {
            await promote;
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or SiloUnavailableException)
        {
            // The caller may not hear the answer; the outcome is in storage, or the promote is asked again below.
        }

        var after = await WaitFor(rollout, r => r.Silo != ready.Silo, TimeSpan.FromSeconds(90));
        if (!after.Decisions.Any(d => d.Kind == "promoted"))
        {
            Assert.True((await Retry(() => rollout.Promote(new OperatorAction { Actor = "ops" }))).Ok);
        }

        var done = await WaitFor(rollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(90));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal("green", done.ActiveSlot);
        Assert.Single(done.Decisions, d => d.Kind == "switched");
        Assert.Equal("green", (await grains.GetGrain<IEnvironmentGrain>("bg-kill").Get())!.ActiveSlots["web"]);
        await AssertHosts(grains, ids.Where(id => id.Contains("-g-", StringComparison.Ordinal)).ToList(), "2.0.0");
        await AssertHosts(grains, ids.Where(id => id.Contains("-b-", StringComparison.Ordinal)).ToList(), "1.0.0");
    }

    private static async Task<List<string>> Fleet(IGrainFactory grains, string env, int hostCount, bool slots)
    {
        await grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var ids = Enumerable.Range(1, hostCount).Select(i => slots ? $"{env}-{(i % 2 == 0 ? "g" : "b")}-{i:000}" : $"{env}-{i:000}").ToList();
        var registered = await grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = env,
                Labels = slots ? new Dictionary<string, string> { ["slot"] = id.Contains("-g-", StringComparison.Ordinal) ? "green" : "blue" } : [],
                CurrentArtifact = TestHttp.Digest("1.0.0"),
                CurrentVersion = "1.0.0",
                Simulation = new SimulationProfile { StepLatencyMs = 100 },
            },
        }).ToList());
        Assert.All(registered, r => Assert.True(r.Ok, r.Detail));
        return ids;
    }

    private static async Task<IRolloutGrain> Start(IGrainFactory grains, string env, RolloutStrategySpec strategy)
    {
        var releaseId = "rel-" + env;
        Assert.True((await grains.GetGrain<IReleaseGrain>(releaseId).Create(new ReleaseDraft
        {
            Service = "web", Version = "2.0.0", Artifact = TestHttp.Digest("2.0.0"), SubmittedBy = "test",
        })).Ok);
        var rollout = grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(releaseId, env));
        var started = await rollout.Start(new RolloutDraft { ReleaseId = releaseId, Environment = env, SubmittedBy = "test", Strategy = strategy });
        Assert.True(started.Ok, started.Detail);
        return rollout;
    }

    private SiloHandle SiloOf(RolloutSnapshot rollout) => _cluster.Silos.Single(s =>
        rollout.Silo!.Contains(s.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

    private static async Task AssertHosts(IGrainFactory grains, IReadOnlyList<string> ids, string version)
    {
        var hosts = await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()));
        Assert.All(hosts, h =>
        {
            Assert.Equal(HostState.Ready, h!.State);
            Assert.Equal(TestHttp.Digest(version), h.CurrentArtifact);
        });
    }

    private static async Task<T> Retry<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (attempt < 20 && e is TimeoutException or OrleansException or SiloUnavailableException)
            {
                await Task.Delay(500);
            }
        }
    }

    private static async Task<RolloutSnapshot> WaitFor(IRolloutGrain rollout, Func<RolloutSnapshot, bool> condition, TimeSpan timeout)
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

            await Task.Delay(200);
        }

        Assert.Fail($"rollout did not reach the expected state in {timeout}; last: {last?.Status} {last?.StatusReason} {last?.Hosts}");
        return last!;
    }
}
