using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Artifacts;

/// <summary>
/// Hosts verify the sha256 of what they download before activating it. A mismatch fails the host's command with
/// the reason, the host stays on its current artifact, the rollout counts the failure, and the artifact records it.
/// </summary>
[Collection(ClusterCollection.Name)]
public class AgentVerificationTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_simulated_corrupt_download_is_a_host_failure_with_the_reason_and_the_host_keeps_its_artifact()
    {
        var env = Unique("verify");
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var ids = Enumerable.Range(1, 4).Select(i => $"{env}-{i}").ToList();
        await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select((id, i) => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = env,
                CurrentArtifact = Digest("1.0.0"),
                CurrentVersion = "1.0.0",
                // One host's downloads of 2.0.0 come out corrupt.
                Simulation = new SimulationProfile { CorruptDownloadVersions = i == 0 ? new List<string> { "2.0.0" } : new List<string>() },
            },
        }).ToList());
        var release = await CreateRelease(Grains, "shop", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "AllAtOnce", MaxFailures = "1" })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Hosts.Failed);
        var reason = Assert.Single(done.Failures).Value;
        Assert.StartsWith($"artifact verification failed: expected {Digest("2.0.0")}, got sha256:", reason, StringComparison.Ordinal);
        Assert.NotEqual($"artifact verification failed: expected {Digest("2.0.0")}, got {Digest("2.0.0")}", reason);

        var corrupt = (await HostsOf(Grains, [ids[0]])).Single();
        Assert.Equal(HostState.Failed, corrupt.State);
        Assert.Equal(Digest("1.0.0"), corrupt.CurrentArtifact);
        Assert.Equal(reason, corrupt.LastError);
        Assert.All(await HostsOf(Grains, ids.Skip(1)), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));

        var events = await History(Grains, GrainKeys.ArtifactEvents(Digest("2.0.0")), e => e.Any(x => x.Type == EventTypes.ArtifactVerificationFailed && x.Data["actor"] == "host/" + ids[0]));
        Assert.Contains(events, e => e.Reason!.StartsWith(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_real_agent_reporting_another_digest_fails_over_the_budget_and_the_rollout_rolls_back_with_the_reason()
    {
        var env = Unique("verify-agent");
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var ids = new[] { $"{env}-1", $"{env}-2" };
        await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration { Environment = env, CurrentArtifact = Digest("1.0.0"), CurrentVersion = "1.0.0" },
        }).ToList());
        var release = await CreateRelease(Grains, "shop", "3.0.0");
        var rollout = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, rollout.Id, r => r.Hosts.Updating > 0);

        var first = (await HostsOf(Grains, ids)).Single(h => h.State == HostState.Updating);
        var report = await Grains.GetGrain<IHostGrain>(first.Id).Report(new HostOutcomeReport
        {
            RolloutId = rollout.Id,
            Artifact = Digest("3.0.0"),
            // The agent says it succeeded, but what it downloaded hashes to something else: the digest decides.
            Succeeded = true,
            ComputedDigest = Digest("tampered"),
        });
        Assert.True(report.Ok, report.Detail);
        Assert.Equal(HostState.Failed, report.Value!.State);
        Assert.Equal(Digest("1.0.0"), report.Value.CurrentArtifact);

        var done = await WaitFor(Grains, rollout.Id);
        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Equal($"artifact verification failed: expected {Digest("3.0.0")}, got {Digest("tampered")}", done.Failures[first.Id]);
    }

    [Fact]
    public async Task A_refused_download_the_artifact_could_not_record_is_recorded_when_the_agent_reports_again()
    {
        var env = Unique("verify-unrecorded");
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var host = $"{env}-1";
        await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts([new HostEnrollment
        {
            HostId = host,
            Registration = new HostRegistration { Environment = env, CurrentArtifact = Digest("1.0.0"), CurrentVersion = "1.0.0" },
        }]);
        var version = Unique("4.0");
        var rollout = await StartRollout(Grains, await CreateRelease(Grains, "shop", version), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, rollout.Id, r => r.Hosts.Updating > 0);
        var report = new HostOutcomeReport { RolloutId = rollout.Id, Artifact = Digest(version), Succeeded = true, ComputedDigest = Digest("tampered") };

        using (FaultInjectingGrainStorage.FailWritesOf(Digest(version)))
        {
            // The artifact cannot record the incident: the report fails, and the host's command stays open for its retry.
            await Assert.ThrowsAnyAsync<Exception>(() => Grains.GetGrain<IHostGrain>(host).Report(report));
            Assert.Equal(HostState.Updating, (await HostsOf(Grains, [host])).Single().State);
        }

        var retried = await Grains.GetGrain<IHostGrain>(host).Report(report);
        Assert.True(retried.Ok, retried.Detail);
        Assert.Equal(HostState.Failed, retried.Value!.State);
        Assert.StartsWith($"artifact verification failed: expected {Digest(version)}, got {Digest("tampered")}",
            (await Grains.GetGrain<IArtifactGrain>(Digest(version)).Get())!.LastVerificationFailure, StringComparison.Ordinal);
    }
}
