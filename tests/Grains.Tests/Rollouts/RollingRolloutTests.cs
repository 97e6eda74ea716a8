using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

[Collection(ClusterCollection.Name)]
public class RollingRolloutTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_rollout_over_200_simulated_hosts_puts_every_host_on_the_new_artifact()
    {
        var env = Unique("roll");
        var hosts = await CreateEnvironment(Grains, env, 200, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "10%" });
        Assert.Equal(Enumerable.Repeat(20, 10), started.Batches);

        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(200, done.Hosts.Updated);
        Assert.Equal(0, done.Hosts.Failed);
        Assert.All(await HostsOf(Grains, hosts), h =>
        {
            Assert.Equal(Digest("2.0.0"), h.CurrentArtifact);
            Assert.Equal(HostState.Ready, h.State);
            Assert.Equal(Digest("1.0.0"), h.PreviousArtifact);
        });

        var environment = await Grains.GetGrain<IEnvironmentGrain>(env).Get();
        Assert.Equal("2.0.0", environment!.Services["web"].Version);
        Assert.Empty(environment.Active);

        var release_ = await Grains.GetGrain<IReleaseGrain>(release).Get();
        Assert.Contains(started.Id, release_!.Rollouts);

        var events = await History(Grains, GrainKeys.RolloutEvents(started.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        var updated = HostsIn(events, EventTypes.HostsUpdated);
        Assert.Equal(200, updated.Count);
        Assert.Equal(200, updated.Distinct().Count());
        Assert.True(events.Count(e => e.Type == EventTypes.HostsUpdated) <= 10, "one hosts.updated per batch of 20, not one per host");
        Assert.Equal(10, events.Count(e => e.Type == EventTypes.RolloutBatchStarted));
        Assert.Single(events, e => e.Type == EventTypes.ServiceDeployed);
        Assert.Equal(events.Select(e => e.Sequence), Enumerable.Range(1, events.Count).Select(i => (long)i));
    }

    [Fact]
    public async Task Each_step_boundary_reads_in_order_hosts_updated_then_batch_completed_then_the_next_batch_started()
    {
        // A step boundary commits several events at once (since the batching of a commit's events, one stream message):
        // a reader of the history must still see them whole and in the order the rollout decided them.
        var env = Unique("order");
        await CreateEnvironment(Grains, env, 30);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "10" });
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Id)).Status);

        var events = await History(Grains, GrainKeys.RolloutEvents(started.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        var boundary = events.Select(e => e.Type)
            .Where(t => t is EventTypes.HostsUpdated or EventTypes.RolloutBatchCompleted or EventTypes.RolloutBatchStarted)
            .ToList();
        Assert.Equal(
            [
                EventTypes.RolloutBatchStarted,
                EventTypes.HostsUpdated, EventTypes.RolloutBatchCompleted, EventTypes.RolloutBatchStarted,
                EventTypes.HostsUpdated, EventTypes.RolloutBatchCompleted, EventTypes.RolloutBatchStarted,
                EventTypes.HostsUpdated,
            ],
            boundary.Take(8));
        Assert.Equal(30, HostsIn(events, EventTypes.HostsUpdated).Distinct().Count());
        Assert.Equal(events.Select(e => e.Sequence), Enumerable.Range(1, events.Count).Select(i => (long)i));
    }

    [Fact]
    public async Task A_long_history_is_read_in_pages_across_sealed_page_boundaries()
    {
        // One host at a time over 50 hosts: three events per step, past two sealed pages of 64.
        var env = Unique("pages");
        await CreateEnvironment(Grains, env, 50);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Id)).Status);

        var events = await History(Grains, GrainKeys.RolloutEvents(started.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.True(events.Count > 140, $"{events.Count} events");
        Assert.Equal(events.Select(e => e.Sequence), Enumerable.Range(1, events.Count).Select(i => (long)i));
        Assert.Equal(50, HostsIn(events, EventTypes.HostsUpdated).Distinct().Count());

        var page = await Grains.GetGrain<IEventHistoryGrain>(GrainKeys.RolloutEvents(started.Id)).Read(120, 20);
        Assert.Equal(Enumerable.Range(121, 20).Select(i => (long)i), page.Items.Select(e => e.Sequence));
        Assert.Equal(events.Skip(120).Take(20).Select(e => e.Id), page.Items.Select(e => e.Id));

        // Each step boundary publishes the finished step's hosts, its completion and the next step's start as one
        // stream message, which the history stores with one write, not one per event.
        var writes = FaultInjectingGrainStorage.WritesOf(GrainKeys.RolloutEvents(started.Id));
        Assert.True(writes > 0 && writes <= events.Count - 2 * 49, $"{writes} writes for {events.Count} events");
    }

    [Fact]
    public async Task A_bad_version_rolls_back_on_its_own_and_every_host_returns_to_the_previous_artifact()
    {
        var env = Unique("bad");
        var hosts = await CreateEnvironment(Grains, env, 200, latencyMs: 2,
            failureByVersion: new Dictionary<string, double> { ["6.6.6"] = 0.5 });
        var release = await CreateRelease(Grains, "api", "6.6.6");

        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "10%", MaxFailures = "2" });
        var done = await WaitFor(Grains, started.Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var rollback = Assert.Single(done.Decisions, d => d.Kind == "rollback");
        Assert.Equal("engine", rollback.Actor);
        Assert.Matches(@"^\d+ hosts failed, more than the failure budget of 2$", rollback.Reason);
        Assert.Contains("simulated failure applying version 6.6.6", done.Failures.Values);
        Assert.Equal(0, done.Hosts.Updating + done.Hosts.RollingBack);
        Assert.True(done.Hosts.Untouched > 0, "the rollback should stop the rollout before later batches");

        Assert.All(await HostsOf(Grains, hosts), h =>
        {
            Assert.Equal(Digest("1.0.0"), h.CurrentArtifact);
            Assert.Equal(HostState.Ready, h.State);
        });

        var environment = await Grains.GetGrain<IEnvironmentGrain>(env).Get();
        Assert.False(environment!.Services.ContainsKey("api"));
        Assert.Empty(environment.Active);
    }

    [Fact]
    public async Task Failures_within_the_budget_do_not_roll_back()
    {
        var env = Unique("budget");
        // Fixed host ids: simulated failures are deterministic in (host, artifact), so the count is too.
        await CreateEnvironment(Grains, env, 100, failureByVersion: new Dictionary<string, double> { ["3.0.0"] = 0.1 }, prefix: "budget-host");
        var release = await CreateRelease(Grains, "api", "3.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxFailures = "20%" })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.InRange(done.Hosts.Failed, 3, 20);
        Assert.Equal(100 - done.Hosts.Failed, done.Hosts.Updated);
    }

    [Fact]
    public async Task AllAtOnce_succeeds_with_failures_while_one_host_succeeds_as_codedeploy_does()
    {
        // CodeDeployDefault.AllAtOnce: "The overall deployment succeeds if the application revision is deployed to at
        // least one instance" (AWS CodeDeploy User Guide, deployment-configurations.html); no maxFailures declared.
        var env = Unique("allatonce");
        await CreateEnvironment(Grains, env, 20, failureByVersion: new Dictionary<string, double> { ["3.1.0"] = 0.3 }, prefix: "aao-host");
        var release = await CreateRelease(Grains, "api", "3.1.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.InRange(done.Hosts.Failed, 1, 19);
    }

    [Fact]
    public async Task AllAtOnce_with_every_host_failed_rolls_back_naming_the_minimum()
    {
        var env = Unique("allfail");
        await CreateEnvironment(Grains, env, 4, failureByVersion: new Dictionary<string, double> { ["3.2.0"] = 1.0 });
        var release = await CreateRelease(Grains, "api", "3.2.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var rollback = Assert.Single(done.Decisions, d => d.Kind == "rollback");
        Assert.StartsWith("minimum healthy hosts can no longer be reached: 1 of 4 hosts must succeed", rollback.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_minimum_that_cannot_be_met_fails_the_rollout_before_any_host_changes()
    {
        var env = Unique("min");
        var hosts = await CreateEnvironment(Grains, env, 5);
        var release = await CreateRelease(Grains, "api", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env,
            new RolloutStrategySpec { MinimumHealthyHosts = new MinimumHealthyHostsSpec { Type = "HOST_COUNT", Value = 5 } })).Id);

        Assert.Equal(RolloutStatus.Failed, done.Status);
        Assert.Contains("requires 5 of 5 hosts to stay healthy", done.StatusReason);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
        Assert.Empty((await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Active);
    }

    [Fact]
    public async Task A_slow_host_does_not_hold_the_next_batch_back_and_never_more_than_max_unavailable_change_at_once()
    {
        // Plan order is registration order: step 1 is two fast hosts and two slow ones, step 2 four fast ones.
        var env = Unique("window");
        await CreateEnvironment(Grains, env, 0);
        var first = await AddHosts(Grains, env, 2, latencyMs: 5, prefix: env + "-1a");
        var slow = await AddHosts(Grains, env, 2, latencyMs: 600, prefix: env + "-1b");
        var second = await AddHosts(Grains, env, 4, latencyMs: 5, prefix: env + "-2");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "4" });
        Assert.Equal([4, 4], started.Batches);

        // Watched from outside while it runs: hosts changing at once, as the rollout counts them.
        var rollout = Grains.GetGrain<IRolloutGrain>(started.Id);
        var mostChanging = 0;
        RolloutSnapshot now;
        while (!(now = (await rollout.Get())!).Status.IsTerminal())
        {
            mostChanging = Math.Max(mostChanging, now.Hosts.Updating);
            await Task.Delay(5);
        }

        Assert.Equal(RolloutStatus.Succeeded, now.Status);
        Assert.InRange(mostChanging, 1, 4);

        // With whole batches the second could start only after the slow hosts of the first reported; with the window
        // its hosts started as the fast ones finished, and were done while the slow ones still worked.
        var secondDone = (await HostsOf(Grains, second)).Max(h => h.UpdatedAt);
        var slowDone = (await HostsOf(Grains, slow)).Min(h => h.UpdatedAt);
        Assert.True(secondDone < slowDone, $"step 2 done at {secondDone:O}, the slow hosts of step 1 at {slowDone:O}");
        Assert.All(await HostsOf(Grains, [.. first, .. slow, .. second]), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
        Assert.Contains(now.Decisions, d => d.Kind == "step-started" && d.Reason.Contains("4 of its 4 hosts started ahead, as hosts of step 1 finished (at most 4 changing at once)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Failed_hosts_keep_their_place_in_the_window_so_a_failing_release_reaches_no_host_of_the_next_batch()
    {
        // Step 1: one good fast host, two that fail fast, one that fails later and one good slow host; step 2: five good hosts.
        // Budget 2: the third failure rolls back. Had the two fast failures freed the window, three hosts of step 2 would
        // have started (3 free of 5, at least half) before it.
        var env = Unique("window-fail");
        var fails = new Dictionary<string, double> { ["2.0.0"] = 1.0 };
        await CreateEnvironment(Grains, env, 0);
        await AddHosts(Grains, env, 1, latencyMs: 5, prefix: env + "-1a");
        await AddHosts(Grains, env, 2, latencyMs: 5, failureByVersion: fails, prefix: env + "-1b");
        await AddHosts(Grains, env, 1, latencyMs: 300, failureByVersion: fails, prefix: env + "-1c");
        await AddHosts(Grains, env, 1, latencyMs: 600, prefix: env + "-1d");
        var second = await AddHosts(Grains, env, 5, latencyMs: 5, prefix: env + "-2");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "5", MaxFailures = "2" });
        Assert.Equal([5, 5], started.Batches);
        var done = await WaitFor(Grains, started.Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Equal(5, done.Hosts.Untouched);
        Assert.All(await HostsOf(Grains, second), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task Pause_stops_new_batches_resume_finishes_and_a_finished_rollout_cannot_be_resumed()
    {
        var env = Unique("pause");
        await CreateEnvironment(Grains, env, 20, latencyMs: 100);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var rollout = Grains.GetGrain<IRolloutGrain>((await StartRollout(Grains, release, env,
            new RolloutStrategySpec { Preset = "OneAtATime" })).Id);

        var paused = await rollout.Pause(new OperatorAction { Actor = "alice", Reason = "checking dashboards" });
        Assert.True(paused.Ok, paused.Detail);
        Assert.Equal("paused by alice: checking dashboards", paused.Value!.StatusReason);

        // Pausing lets the batch in flight finish and starts no other: six host latencies later the rollout is still on
        // the batch it was paused in (on a loaded machine a batch or two may have gone by before the pause landed).
        var batchAtPause = paused.Value.CurrentBatch;
        Assert.InRange(batchAtPause, 1, 19);
        await Task.Delay(600);
        var whilePaused = (await rollout.Get())!;
        Assert.Equal(RolloutStatus.Paused, whilePaused.Status);
        Assert.Equal(batchAtPause, whilePaused.CurrentBatch);
        Assert.Equal(batchAtPause, whilePaused.Hosts.Updated);

        Assert.True((await rollout.Resume(new OperatorAction { Actor = "alice" })).Ok);
        var done = await WaitFor(Grains, rollout.GetPrimaryKeyString());
        Assert.Equal(RolloutStatus.Succeeded, done.Status);

        var refused = await rollout.Resume(new OperatorAction { Actor = "alice" });
        Assert.Equal(ErrorKind.InvalidTransition, refused.Error);
        Assert.Equal("cannot resume a rollout that has succeeded", refused.Detail);
    }

    [Fact]
    public async Task Abort_returns_updated_hosts_and_an_operator_can_roll_back_a_success()
    {
        var env = Unique("abort");
        var hosts = await CreateEnvironment(Grains, env, 12, latencyMs: 50);
        var first = await CreateRelease(Grains, "web", "2.0.0");
        var rollout = Grains.GetGrain<IRolloutGrain>((await StartRollout(Grains, first, env, new RolloutStrategySpec { Preset = "OneAtATime" })).Id);

        await WaitFor(Grains, rollout.GetPrimaryKeyString(), r => r.Hosts.Updated >= 2);
        Assert.True((await rollout.Abort(new OperatorAction { Actor = "bob", Reason = "wrong build" })).Ok);
        var aborted = await WaitFor(Grains, rollout.GetPrimaryKeyString());
        Assert.Equal(RolloutStatus.Aborted, aborted.Status);
        Assert.Contains(aborted.Decisions, d => d.Kind == "abort" && d.Actor == "bob" && d.Reason.Contains("wrong build", StringComparison.Ordinal));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));

        var second = await CreateRelease(Grains, "web", "2.0.1");
        var done = await WaitFor(Grains, (await StartRollout(Grains, second, env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);

        var third = await CreateRelease(Grains, "web", "2.0.2");
        var latest = await WaitFor(Grains, (await StartRollout(Grains, third, env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        Assert.Equal(RolloutStatus.Succeeded, latest.Status);
        Assert.Equal("2.0.2", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"].Version);

        var rolledBack = await Grains.GetGrain<IRolloutGrain>(latest.Id).Rollback(new OperatorAction { Actor = "carol" });
        Assert.True(rolledBack.Ok, rolledBack.Detail);
        Assert.Equal(RolloutStatus.RolledBack, (await WaitFor(Grains, latest.Id, r => r.Status != RolloutStatus.RollingBack)).Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.1"), h.CurrentArtifact));
        var restored = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"];
        Assert.Equal("2.0.1", restored.Version);
        Assert.Equal(second, restored.ReleaseId);
    }

    [Fact]
    public async Task Silent_hosts_count_as_failed_at_the_progress_deadline()
    {
        var env = Unique("deadline");
        var hosts = await CreateEnvironment(Grains, env, 3, latencyMs: 60_000);
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env,
            new RolloutStrategySpec { Preset = "AllAtOnce", ProgressDeadlineSeconds = 1 })).Id, timeout: TimeSpan.FromSeconds(20));

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Contains(done.Decisions, d => d.Kind == "deadline" && d.Reason.Contains("did not report by the progress deadline", StringComparison.Ordinal));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task The_selector_limits_the_targets()
    {
        var env = Unique("sel");
        var web = await CreateEnvironment(Grains, env, 4, labels: new Dictionary<string, string> { ["service"] = "web" }, prefix: env + "-web");
        var db = await AddHosts(Grains, env, 3, labels: new Dictionary<string, string> { ["service"] = "db" }, prefix: env + "-db");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, selector: new Dictionary<string, string> { ["service"] = "web" })).Id);

        Assert.Equal(4, done.Hosts.Targets);
        Assert.All(await HostsOf(Grains, web), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
        Assert.All(await HostsOf(Grains, db), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }
}
