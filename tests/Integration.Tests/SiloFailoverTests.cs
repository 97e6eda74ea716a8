using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Orleans.TestingHost;
using static Deploy.Engine.Integration.Tests.Infrastructure.ClusterFleet;

namespace Deploy.Engine.Integration.Tests;

/// <summary>Two silos on real storage; the one driving a rollout dies in the middle of it.</summary>
public sealed class SiloFailoverTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        _cluster = ClusterFleet.Builder(_azurite, 2).Build();
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
        var ids = await Register(grains, env, Enumerable.Range(1, hostCount).Select(i => $"fo-{i:000}").ToList(), latencyMs: 150);
        var rollout = await Start(grains, env, "rel-failover", "shop", "2.0.0", new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "2" });

        var midway = await WaitFor(rollout, r => r.Hosts.Updated >= 8, TimeSpan.FromSeconds(60));
        var victim = SiloOf(midway);
        await _cluster.KillSiloAsync(victim);

        var done = await WaitFor(rollout, r => r.Status.IsTerminal(), TimeSpan.FromSeconds(150));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(hostCount, done.Hosts.Updated);
        Assert.DoesNotContain(victim.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), done.Silo, StringComparison.Ordinal);

        await AssertHosts(grains, ids, "2.0.0");
    }

    [Fact]
    public async Task Killing_the_silo_of_a_canary_waiting_for_promote_keeps_its_place_and_it_finishes_after_the_promote()
    {
        var grains = _cluster.GrainFactory;
        var ids = await Register(grains, "canary-kill", Enumerable.Range(1, 10).Select(i => $"canary-kill-{i:000}").ToList(), latencyMs: 100);
        var rollout = await Start(grains, "canary-kill", "rel-canary-kill", "web", "2.0.0", new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 30 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
        });

        var paused = await WaitFor(rollout, r => r.CurrentStep == 3 && r.Hosts.Updated == 3, TimeSpan.FromSeconds(60));
        await _cluster.KillSiloAsync(SiloOf(paused));

        // Reactivated elsewhere from storage: still on the pause, the canary hosts still on the new version.
        var moved = await WaitFor(rollout, r => r.Silo != paused.Silo, TimeSpan.FromSeconds(90));
        Assert.Equal(3, moved.CurrentStep);
        Assert.Equal(RolloutStatus.Paused, moved.Status);
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
        var ids = await Register(grains, "bg-kill", Enumerable.Range(1, 8).Select(i => $"bg-kill-{(i % 2 == 0 ? "g" : "b")}-{i:000}").ToList(), latencyMs: 100,
            id => new Dictionary<string, string> { ["slot"] = id.Contains("-g-", StringComparison.Ordinal) ? "green" : "blue" });
        var rollout = await Start(grains, "bg-kill", "rel-bg-kill", "web", "2.0.0", new RolloutStrategySpec
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
        catch (Exception e) when (IsClusterSettling(e))
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

    private SiloHandle SiloOf(RolloutSnapshot rollout) => _cluster.Silos.Single(s =>
        rollout.Silo!.Contains(s.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
}
