using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Hosts;

/// <summary>
/// A host runs several services side by side. A rollout of one service changes that service's slot only: the other
/// services keep their artifacts, their rollback targets and their place in the environment's versions.
/// </summary>
[Collection(ClusterCollection.Name)]
public class MultiServiceHostTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private async Task<IReadOnlyList<string>> SharedHosts(string env, int count, int latencyMs = 0)
    {
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 2 });
        var ids = Enumerable.Range(1, count).Select(i => $"{env}-{i}").ToList();
        var results = await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = env,
                Services = new Dictionary<string, ServiceArtifact>
                {
                    ["shop"] = new() { Artifact = Digest("shop-1.0.0"), Version = "1.0.0" },
                    ["inventory"] = new() { Artifact = Digest("inventory-5.0.0"), Version = "5.0.0" },
                },
                Simulation = new SimulationProfile { StepLatencyMs = latencyMs },
            },
        }).ToList());
        Assert.All(results, r => Assert.True(r.Ok, r.Detail));
        return ids;
    }

    private async Task<string> Release(string service, string version)
    {
        var id = Unique("rel");
        var result = await Grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = service, Version = version, Artifact = Digest($"{service}-{version}"), SubmittedBy = "test-pipeline",
        });
        Assert.True(result.Ok, result.Detail);
        return id;
    }

    [Fact]
    public async Task Two_services_rolled_out_on_the_same_hosts_at_once_stay_independent_and_a_rollback_of_one_leaves_the_other()
    {
        var env = Unique("shared");
        var ids = await SharedHosts(env, 4, latencyMs: 20);
        var shop = await StartRollout(Grains, await Release("shop", "2.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        var inventory = await StartRollout(Grains, await Release("inventory", "6.0.0"), env, new RolloutStrategySpec { Preset = "HalfAtATime" });

        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, shop.Id)).Status);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, inventory.Id)).Status);
        foreach (var host in await HostsOf(Grains, ids))
        {
            Assert.Equal(Digest("shop-2.0.0"), host.Services["shop"].CurrentArtifact);
            Assert.Equal(Digest("shop-1.0.0"), host.Services["shop"].PreviousArtifact);
            Assert.Equal(Digest("inventory-6.0.0"), host.Services["inventory"].CurrentArtifact);
            Assert.Equal(Digest("inventory-5.0.0"), host.Services["inventory"].PreviousArtifact);
        }

        var environment = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!;
        Assert.Equal("2.0.0", environment.Services["shop"].Version);
        Assert.Equal("6.0.0", environment.Services["inventory"].Version);

        // Rolling shop back returns shop to 1.0.0 on every host; inventory keeps 6.0.0.
        var rollback = await Grains.GetGrain<IRolloutGrain>(shop.Id).Rollback(new OperatorAction { Actor = "alice", Reason = "drill" });
        Assert.True(rollback.Ok, rollback.Detail);
        Assert.Equal(RolloutStatus.RolledBack, (await WaitFor(Grains, shop.Id, r => r.Status == RolloutStatus.RolledBack)).Status);
        foreach (var host in await HostsOf(Grains, ids))
        {
            Assert.Equal(Digest("shop-1.0.0"), host.Services["shop"].CurrentArtifact);
            Assert.Equal(Digest("inventory-6.0.0"), host.Services["inventory"].CurrentArtifact);
            Assert.Equal([Digest("shop-1.0.0"), Digest("shop-2.0.0")], host.Services["shop"].History.Select(h => h.Artifact));
        }
    }

    [Fact]
    public async Task Metrics_of_another_service_on_the_same_host_never_trip_a_rollouts_trigger()
    {
        var env = Unique("shared-metrics");
        var ids = await SharedHosts(env, 2, latencyMs: 0);
        var rollout = await StartRollout(Grains, await Release("shop", "2.0.0"), env, new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 50 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
            RollbackTriggers = [new TriggerDeclaration { Metric = "errorRatePercent", Threshold = 5 }],
        });
        await WaitFor(Grains, rollout.Id, r => r.CurrentStep >= 3);
        var canary = (await HostsOf(Grains, ids)).Single(h => h.Services["shop"].CurrentVersion == "2.0.0");

        // inventory on the canary host is failing: that is no evidence about shop 2.0.0.
        var sample = await Grains.GetGrain<IHostGrain>(canary.Id).ReportMetrics(new HostMetricsSample
        {
            HostId = canary.Id, Service = "inventory", ErrorRatePercent = 60, Requests = 1000,
        });
        Assert.True(sample.Ok, sample.Detail);
        await Task.Delay(300);
        var still = (await Grains.GetGrain<IRolloutGrain>(rollout.Id).Get())!;
        Assert.False(still.Status.IsTerminal(), still.StatusReason);

        // The same readings about shop roll it back (a trigger is judged on at least two readings by default).
        for (var i = 0; i < 2; i++)
        {
            await Grains.GetGrain<IHostGrain>(canary.Id).ReportMetrics(new HostMetricsSample
            {
                HostId = canary.Id, Service = "shop", ErrorRatePercent = 60, Requests = 1000,
            });
        }
        var done = await WaitFor(Grains, rollout.Id, r => r.Status.IsTerminal());
        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Contains("errorRatePercent", done.StatusReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agents_long_poll_answers_when_a_command_arrives_with_a_fresh_nonce()
    {
        var env = Unique("longpoll");
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var id = env + "-vm";
        await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts([new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration { Environment = env, Service = "shop", CurrentArtifact = Digest("shop-1.0.0"), CurrentVersion = "1.0.0" },
        }]);
        var host = Grains.GetGrain<IHostGrain>(id);
        var before = (await host.GetDesired())!;

        var waiting = host.WaitDesired(before.Generation, TimeSpan.FromSeconds(20));
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        var rollout = await StartRollout(Grains, await Release("shop", "2.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" });

        var desired = (await waiting.WaitAsync(TimeSpan.FromSeconds(10)))!;
        Assert.True(desired.Generation > before.Generation);
        var command = Assert.Single(desired.Services);
        Assert.Equal("shop", command.Service);
        Assert.Equal(HostCommandKind.Apply, command.Kind);
        Assert.Equal(Digest("shop-2.0.0"), command.Artifact);
        Assert.Equal(rollout.Id, command.Rollout);
        Assert.False(string.IsNullOrEmpty(command.Nonce));

        // A report that does not echo the nonce is refused; one that does finishes the command.
        var forged = await host.Report(new HostOutcomeReport
        {
            RolloutId = rollout.Id, Service = "shop", Artifact = Digest("shop-2.0.0"), ComputedDigest = Digest("shop-2.0.0"), Succeeded = true, Nonce = "forged",
        });
        Assert.False(forged.Ok);
        var real = await host.Report(new HostOutcomeReport
        {
            RolloutId = rollout.Id, Service = "shop", Artifact = Digest("shop-2.0.0"), ComputedDigest = Digest("shop-2.0.0"), Succeeded = true, Nonce = command.Nonce,
        });
        Assert.True(real.Ok, real.Detail);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, rollout.Id)).Status);
    }
}
