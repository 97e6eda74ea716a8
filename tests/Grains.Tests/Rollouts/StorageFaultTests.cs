using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Rollouts;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
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

    /// <summary>Web 2.0.0 rolling out one host at a time over three hosts of <paramref name="env"/>, and 3.0.0 queued behind it.</summary>
    private async Task<(RolloutSnapshot First, RolloutSnapshot Second)> OneRunningOneQueued(string env, int latencyMs)
    {
        await CreateEnvironment(Grains, env, 3, latencyMs: latencyMs);
        var first = await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        var second = await StartRollout(Grains, await CreateRelease(Grains, "web", "3.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        Assert.Equal(RolloutStatus.Queued, second.Status);
        return (first, second);
    }

    [Fact]
    public async Task An_admission_that_storage_did_not_record_is_not_announced_and_the_rollout_retries_it()
    {
        var (first, second) = await OneRunningOneQueued(Unique("unstored-admit"), latencyMs: 200);

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

    [Fact]
    public async Task A_rollout_that_ended_while_its_environment_could_not_hear_of_it_hands_the_slot_on_once_storage_is_back()
    {
        var env = Unique("unheard-end");
        var (first, second) = await OneRunningOneQueued(env, latencyMs: 300);
        await WaitFor(Grains, first.Id, r => r.Hosts.Updated == 2 && r.Hosts.Updating == 1);

        using (FaultInjectingGrainStorage.FailWritesOf(env))
        {
            // The last host answers while the environment's storage is out: the rollout's end is stored, but the
            // environment can neither record the deployed version nor free the slot.
            Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, first.Id)).Status);
            await Task.Delay(1500);
            Assert.Equal(RolloutStatus.Queued, (await Grains.GetGrain<IRolloutGrain>(second.Id).Get())!.Status);
        }

        // Storage is back: the ended rollout's reminder tells the environment again, so the slot goes to the next in
        // line instead of being held for ever, and the environment records each version in turn.
        var done = await WaitFor(Grains, second.Id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        var environment = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!;
        Assert.Empty(environment.Active);
        Assert.Equal("3.0.0", environment.Services["web"].Version);
    }

    [Fact]
    public async Task A_deployed_record_sent_again_changes_nothing_and_never_replaces_a_later_one()
    {
        // What an ended rollout's retried settle sends (RolloutGrain.Settle): its own record, possibly after a later
        // rollout of the service recorded its version.
        var env = Unique("record-again");
        await CreateEnvironment(Grains, env, 1);
        var environment = Grains.GetGrain<IEnvironmentGrain>(env);
        var at = DateTimeOffset.UtcNow;
        var older = new DeployedVersion { Version = "2.0.0", Artifact = Digest("2.0.0"), ReleaseId = "rel-2", DeployedAt = at };
        var later = new DeployedVersion { Version = "3.0.0", Artifact = Digest("3.0.0"), ReleaseId = "rel-3", DeployedAt = at.AddMinutes(5) };

        await environment.RecordDeployed("web", later);
        var writes = FaultInjectingGrainStorage.WritesOf(env);
        await environment.RecordDeployed("web", later);
        await environment.RecordDeployed("web", older);

        Assert.Equal(later, (await environment.Get())!.Services["web"]);
        Assert.Equal(writes, FaultInjectingGrainStorage.WritesOf(env));
    }

    [Fact]
    public async Task A_rollout_its_release_could_not_record_is_not_stored_and_the_pipelines_retry_starts_it()
    {
        var env = Unique("unrecorded-start");
        await CreateEnvironment(Grains, env, 2);
        var releaseId = await CreateRelease(Grains, "web", "2.0.0");
        var rollout = Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(releaseId, env));
        var draft = new RolloutDraft { ReleaseId = releaseId, Environment = env, Strategy = new RolloutStrategySpec(), SubmittedBy = "deployer" };

        using (FaultInjectingGrainStorage.FailWritesOf(releaseId))
        {
            // The release cannot record the rollout (nor who deploys it, which separation of duties reads): nothing is stored.
            await Assert.ThrowsAnyAsync<Exception>(() => rollout.Start(draft));
            Assert.Null(await rollout.Get());
        }

        // The pipeline's retry starts it, and the release knows of it.
        var started = await rollout.Start(draft);
        Assert.True(started.Ok, started.Detail);
        var release = (await Grains.GetGrain<IReleaseGrain>(releaseId).Get())!;
        Assert.Contains(started.Value!.Id, release.Rollouts);
        Assert.Contains("deployer", release.DeployedBy);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Value.Id)).Status);
    }

    [Fact]
    public async Task A_rollout_superseded_while_its_storage_was_out_is_stopped_once_storage_is_back()
    {
        var env = Unique("unstored-supersede");
        await CreateEnvironment(Grains, env, 3, latencyMs: 500);
        var older = await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, older.Id, r => r.Status == RolloutStatus.Progressing && r.Hosts.Updating == 1);
        var newerRelease = await CreateRelease(Grains, "web", "3.0.0");
        var newerId = GrainKeys.Rollout(newerRelease, env);

        using (FaultInjectingGrainStorage.FailWritesOf(older.Id))
        {
            // The newer rollout is stored with what it supersedes, but the older one cannot store being stopped.
            await Assert.ThrowsAnyAsync<Exception>(() => StartRollout(Grains, newerRelease, env,
                new RolloutStrategySpec { Preset = "OneAtATime", OnConflict = "supersede" }));
            Assert.Equal(older.Id, (await Grains.GetGrain<IRolloutGrain>(newerId).Get())!.Supersedes);
        }

        // Storage is back: the waiting rollout tells the older one again; it stops, and the newer one runs.
        var stopped = await WaitFor(Grains, older.Id, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal((RolloutStatus.Aborted, newerId), (stopped.Status, stopped.SupersededBy));
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, newerId, timeout: TimeSpan.FromSeconds(60))).Status);
    }

    [Fact]
    public async Task A_review_the_learnings_could_not_count_is_not_filed_and_the_reviewers_retry_counts_it_once()
    {
        var service = Unique("reviewed");
        var book = Grains.GetGrain<IReviewBookGrain>(service);
        var id = GrainKeys.Review(service + "-rollout");
        await book.Open(new ReviewSnapshot { Id = id, Service = service, RolloutId = service + "-rollout", ReleaseId = "rel", Environment = "prod", Outcome = "RolledBack" });
        var filing = new ReviewFiling { Findings = "the canary saw it", RootCause = "a config typo", Actor = "reviewer", ContributingFactors = ["config change untested"] };

        using (FaultInjectingGrainStorage.FailWritesOf(GrainKeys.Learnings))
        {
            // Counting the factors fails: the review stays open rather than filed and never counted.
            await Assert.ThrowsAnyAsync<Exception>(() => book.File(id, filing));
            Assert.Equal("open", (await book.List()).Single().State);
        }

        var filed = await book.File(id, filing);
        Assert.True(filed.Ok, filed.Detail);
        Assert.Single((await Grains.GetGrain<ILearningsGrain>(GrainKeys.Learnings).Get()).Reviews, r => r.ReviewId == id);
    }

    [Fact]
    public async Task An_upload_the_artifact_catalog_could_not_record_is_recorded_by_its_retry_so_retention_can_find_it()
    {
        var digest = Digest(Unique("uploaded"));
        var artifact = Grains.GetGrain<IArtifactGrain>(digest);
        var catalog = Grains.GetGrain<IArtifactCatalogGrain>(GrainKeys.ArtifactCatalog);
        var uploader = new ArtifactActor { Name = "ci" };

        using (FaultInjectingGrainStorage.FailWritesOf(GrainKeys.ArtifactCatalog))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => artifact.RecordUploaded(1234, uploader));
        }

        // The artifact is stored; the catalog (the list retention sweeps) did not hear of it. The upload's retry tells it.
        Assert.DoesNotContain(await catalog.List(null), e => e.Digest == digest);
        await artifact.RecordUploaded(1234, uploader);
        Assert.Contains(await catalog.List(null), e => e.Digest == digest && e.Stored);
    }

    [Fact]
    public async Task A_rollout_stored_with_events_it_never_announced_announces_them_once_when_it_next_activates()
    {
        // What a silo that died between storing a rollout's end and publishing its events leaves in storage: the state,
        // with the events still unannounced. Made here from a finished rollout's stored state, under a new rollout id.
        var env = Unique("unannounced");
        await CreateEnvironment(Grains, env, 2);
        var finished = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env)).Id);
        var storage = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost!.Services.GetRequiredKeyedService<IGrainStorage>(Stores.Blob);
        var stored = new GrainState<RolloutGrainState>(new RolloutGrainState());
        await storage.ReadStateAsync("rollout", Grains.GetGrain<IRolloutGrain>(finished.Id).GetGrainId(), stored);

        var crashed = Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(Unique("rel-crashed"), env));
        var ended = new EngineEvent { Id = Guid.NewGuid().ToString("n"), Type = EventTypes.PipelineRunFinished, Subject = "rollout/" + crashed.GetPrimaryKeyString(), Timestamp = DateTimeOffset.UtcNow };
        stored.State!.Unannounced = [ended];
        stored.ETag = null;
        await storage.WriteStateAsync("rollout", crashed.GetGrainId(), stored);

        // Any call activates it; the event reaches the rollout's history once, and storage records it announced.
        Assert.Equal(RolloutStatus.Succeeded, (await crashed.Get())!.Status);
        var history = await History(Grains, GrainKeys.RolloutEvents(crashed.GetPrimaryKeyString()), e => e.Any(x => x.Id == ended.Id));
        Assert.Single(history, e => e.Id == ended.Id);
        var after = new GrainState<RolloutGrainState>(new RolloutGrainState());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            await Task.Delay(100);
            await storage.ReadStateAsync("rollout", crashed.GetGrainId(), after);
        }
        while (after.State!.Unannounced.Count > 0 && DateTime.UtcNow < deadline);

        Assert.Empty(after.State!.Unannounced);
    }
}
