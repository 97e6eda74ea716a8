using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

[Collection(ClusterCollection.Name)]
public class StorageFaultTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_write_that_failed_is_not_served_afterwards()
    {
        var id = Unique("rel-faulty");
        var release = Grains.GetGrain<IReleaseGrain>(id);
        var draft = new ReleaseDraft { Service = "web", Version = "1.0.0", Artifact = Digest("1.0.0"), SubmittedBy = "ci" };

        using (FaultInjectingGrainStorage.FailWrites(id))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => release.Create(draft));
            Assert.Null(await release.Get());
        }

        // Storage is back: the same create succeeds (nothing half-made is in the way) and is served.
        Assert.True((await release.Create(draft)).Ok);
        Assert.Equal("1.0.0", (await release.Get())!.Version);
    }

    [Fact]
    public async Task A_rollout_whose_writes_fail_for_a_while_resumes_on_its_own()
    {
        var env = Unique("flaky");
        var hosts = await CreateEnvironment(Grains, env, 12, latencyMs: 20);
        var releaseId = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, releaseId, env, new RolloutStrategySpec { Preset = "OneAtATime" });

        using (FaultInjectingGrainStorage.FailWrites(started.Id))
        {
            await Task.Delay(1500);
        }

        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task A_host_whose_write_fails_is_not_counted_as_updated_and_is_updated_once_storage_is_back()
    {
        // Hosts write in their own turn (TurnState), not through Orleans' storage bridge: a failed write must still
        // leave the host as storage has it and keep the rollout from counting it.
        var env = Unique("flaky-host");
        var hosts = await CreateEnvironment(Grains, env, 3);
        var releaseId = await CreateRelease(Grains, "web", "2.0.0");
        RolloutSnapshot started;
        using (FaultInjectingGrainStorage.FailWrites(hosts[1]))
        {
            started = await StartRollout(Grains, releaseId, env, new RolloutStrategySpec { Preset = "OneAtATime" });
            await Task.Delay(1500);
            var during = await Grains.GetGrain<IRolloutGrain>(started.Id).Get();
            Assert.Equal(RolloutStatus.Progressing, during!.Status);
            Assert.True(during.Hosts.Updated <= 1, $"{during.Hosts.Updated} hosts counted as updated while the second host's writes fail");
            Assert.Equal(Digest("1.0.0"), (await Grains.GetGrain<IHostGrain>(hosts[1]).Get())!.CurrentArtifact);
        }

        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(90));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task An_admission_that_storage_did_not_record_is_not_announced_and_the_rollout_retries_it()
    {
        var env = Unique("unstored-admit");
        await CreateEnvironment(Grains, env, 3, latencyMs: 200);
        var first = await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        var second = await StartRollout(Grains, await CreateRelease(Grains, "web", "3.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        Assert.Equal(RolloutStatus.Queued, second.Status);

        using (FaultInjectingGrainStorage.FailWritesOf(second.Id))
        {
            // The first finishes and the environment admits the second, whose storage is out: its start cannot be
            // stored, so no pipeline hears that it started.
            Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, first.Id)).Status);
            await Task.Delay(1500);
            var during = (await Grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(second.Id)).Read(0, 1000)).Items;
            Assert.DoesNotContain(during, e => e.Type == EventTypes.PipelineRunStarted);
        }

        // Storage is back: the rollout is admitted again from what storage holds, runs, and started once.
        var done = await WaitFor(Grains, second.Id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        var events = await History(Grains, GrainKeys.RolloutEvents(second.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.Single(events, e => e.Type == EventTypes.PipelineRunStarted);
    }

    [Fact]
    public async Task A_step_that_storage_did_not_record_is_not_announced_and_the_rollout_retries_it()
    {
        var env = Unique("unstored-step");
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 400);
        var releaseId = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, releaseId, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Progressing && r.CurrentBatch == 1 && r.Hosts.Updating == 1);

        using (FaultInjectingGrainStorage.FailWritesOf(started.Id))
        {
            // The first host answers while the rollout's storage is out: the end of step 1 and the start of step 2
            // cannot be stored, so nobody hears of them.
            await Task.Delay(2000);
            var during = (await Grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(started.Id)).Read(0, 1000)).Items;
            Assert.DoesNotContain(during, e => e.Type is EventTypes.RolloutBatchCompleted or EventTypes.HostsUpdated);
            Assert.Single(during, e => e.Type == EventTypes.RolloutBatchStarted);
        }

        // Storage is back: the rollout decides again from what storage holds and goes on; each step is announced once.
        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        var events = await History(Grains, GrainKeys.RolloutEvents(started.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.Equal(4, events.Count(e => e.Type == EventTypes.RolloutBatchStarted));
        Assert.Equal(3, events.Count(e => e.Type == EventTypes.RolloutBatchCompleted));
        Assert.Equal(hosts.Order(StringComparer.Ordinal), HostsIn(events, EventTypes.HostsUpdated).Order(StringComparer.Ordinal));
    }
}
