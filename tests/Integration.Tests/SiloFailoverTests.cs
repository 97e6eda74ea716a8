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
