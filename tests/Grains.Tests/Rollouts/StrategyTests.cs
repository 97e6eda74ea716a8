using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>Each strategy and scope, success and rollback, over simulated hosts.</summary>
[Collection(ClusterCollection.Name)]
public class StrategyTests(ClusterFixture fixture)
{
    private static readonly Dictionary<string, SimulatedMetrics> BadErrorRate = new()
    {
        ["1.0.0"] = new SimulatedMetrics { ErrorRatePercent = 0.5, P99LatencyMs = 80 },
        ["2.0.0"] = new SimulatedMetrics { ErrorRatePercent = 12, P99LatencyMs = 90 },
    };

    private static readonly Dictionary<string, SimulatedMetrics> Healthy = new()
    {
        ["2.0.0"] = new SimulatedMetrics { ErrorRatePercent = 0.4, P99LatencyMs = 85 },
    };

    private IGrainFactory Grains => fixture.Grains;

    private static RolloutStrategySpec Canary(params CanaryStepDeclaration[] steps) => new()
    {
        Type = "canary",
        Steps = steps,
        RollbackTriggers = [new TriggerDeclaration { Metric = "errorRatePercent", Threshold = 5 }],
    };

    private static CanaryStepDeclaration Weight(int w) => new() { SetWeight = w };

    private static CanaryStepDeclaration PauseFor(int? seconds) => new() { Pause = new PauseDeclaration { DurationSeconds = seconds } };

    private static CanaryStepDeclaration Analyse(int seconds) => new() { Analysis = new AnalysisDeclaration { DurationSeconds = seconds } };

    [Fact]
    public async Task Canary_success_walks_every_step_and_ends_with_every_host_on_the_new_version()
    {
        var env = Unique("can");
        var hosts = await CreateEnvironment(Grains, env, 20, latencyMs: 2, metricsByVersion: Healthy);
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var started = await StartRollout(Grains, release, env, Canary(Weight(10), PauseFor(1), Weight(50), Analyse(1)));
        var done = await WaitFor(Grains, started.Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(20, done.Hosts.Updated);
        Assert.Equal(100, done.TrafficWeight);
        Assert.Equal(20, done.HostsPerVersion["2.0.0"]);
        // ceil(10% of 20) = 2 first, then up to ceil(50% of 20) = 10, then the rest in place, ⌊25% of 20⌋ = 5 at a time.
        Assert.Equal(new[] { 2, 8, 5, 5 }, done.Batches);
        Assert.All(done.Steps, s => Assert.Equal("done", s.State));
        await AssertSettled(hosts, "2.0.0");
    }

    [Fact]
    public async Task Canary_breaching_a_rollback_trigger_rolls_back_with_the_trigger_named_and_touches_only_the_canary()
    {
        var env = Unique("canbad");
        var hosts = await CreateEnvironment(Grains, env, 20, latencyMs: 2, metricsByVersion: BadErrorRate);
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var started = await StartRollout(Grains, release, env, Canary(Weight(10), PauseFor(30), Weight(50)));
        var done = await WaitFor(Grains, started.Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Contains("errorRatePercent", done.StatusReason);
        Assert.Equal(2, done.Hosts.RolledBack);
        Assert.Equal(18, done.Hosts.Untouched);
        Assert.Equal(0, done.TrafficWeight);
        await AssertSettled(hosts, "1.0.0");
        var events = await History(Grains, GrainKeys.RolloutEvents(started.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.Single(events, e => e.Type == EventTypes.TriggerBreached);
    }

    [Fact]
    public async Task A_pause_without_duration_waits_for_promote_and_abort_returns_every_canary_host_at_once()
    {
        var env = Unique("canpro");
        var hosts = await CreateEnvironment(Grains, env, 10, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var rollout = Grains.GetGrain<IRolloutGrain>((await StartRollout(Grains, release, env, Canary(Weight(20), PauseFor(null), Weight(60), PauseFor(null)))).Id);

        var waiting = await WaitFor(Grains, rollout.GetPrimaryKeyString(), r => r.CurrentStep == 3 && r.Hosts.Updated == 2 && r.Status == RolloutStatus.Paused);
        Assert.Equal(RolloutStatus.Paused, waiting.Status);
        Assert.Contains("promote", waiting.StatusReason);

        var promoted = await rollout.Promote(new OperatorAction { Actor = "ops", Reason = "canary looks fine" });
        Assert.True(promoted.Ok, promoted.Detail);
        var second = await WaitFor(Grains, rollout.GetPrimaryKeyString(), r => r.CurrentStep == 6 && r.Hosts.Updated == 6);
        Assert.Contains(second.Decisions, d => d.Kind == "promoted" && d.Actor == "ops" && d.Reason.Contains("canary looks fine", StringComparison.Ordinal));

        Assert.True((await rollout.Promote(new OperatorAction { Actor = "ops" })).Ok);
        var done = await WaitFor(Grains, rollout.GetPrimaryKeyString());
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        await AssertSettled(hosts, "2.0.0");

        var late = await rollout.Promote(new OperatorAction { Actor = "ops" });
        Assert.False(late.Ok);
        Assert.Equal(ErrorKind.InvalidTransition, late.Error);
    }

    [Fact]
    public async Task Abort_during_a_canary_pause_returns_the_canary_hosts_and_leaves_the_rest_untouched()
    {
        var env = Unique("canabort");
        var hosts = await CreateEnvironment(Grains, env, 10, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var id = (await StartRollout(Grains, release, env, Canary(Weight(30), PauseFor(null)))).Id;
        await WaitFor(Grains, id, r => r.CurrentStep == 3);

        var result = await Grains.GetGrain<IRolloutGrain>(id).Abort(new OperatorAction { Actor = "ops", Reason = "wrong build" });
        Assert.True(result.Ok, result.Detail);
        var done = await WaitFor(Grains, id);
        Assert.Equal(RolloutStatus.Aborted, done.Status);
        Assert.Equal(3, done.Hosts.RolledBack);
        await AssertSettled(hosts, "1.0.0");
    }

    [Fact]
    public async Task Blue_green_rollback_inside_the_warm_window_is_a_switch_with_zero_host_deploys()
    {
        var env = Unique("bg");
        var blue = await CreateEnvironment(Grains, env, 4, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "blue" }, prefix: env + "-b");
        var green = await AddHosts(Grains, env, 4, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "green" }, prefix: env + "-g");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var id = (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Type = "blueGreen",
            BlueGreen = new BlueGreenDeclaration { AutoPromoteAfterSeconds = 1, ScaleDownDelaySeconds = 300 },
        })).Id;

        var switched = await WaitFor(Grains, id, r => r.ActiveSlot == "green");
        Assert.Equal(RolloutStatus.Progressing, switched.Status);
        Assert.Equal("green", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.ActiveSlots["web"]);
        await AssertSettled(blue, "1.0.0");
        await AssertSettled(green, "2.0.0");

        var rollback = await Grains.GetGrain<IRolloutGrain>(id).Rollback(new OperatorAction { Actor = "ops", Reason = "latency" });
        Assert.True(rollback.Ok, rollback.Detail);
        var done = await WaitFor(Grains, id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Equal("blue", done.ActiveSlot);
        Assert.Contains("0 hosts redeployed", done.StatusReason);
        Assert.Equal("blue", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.ActiveSlots["web"]);
        var events = await History(Grains, GrainKeys.RolloutEvents(id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.Equal(4, HostsIn(events, EventTypes.HostsUpdated).Count);
        Assert.Empty(HostsIn(events, EventTypes.HostsReverted));
        // The idle slot keeps the new version, warm; the active slot never changed.
        await AssertSettled(blue, "1.0.0");
        await AssertSettled(green, "2.0.0");
    }

    [Fact]
    public async Task Blue_green_success_switches_the_slot_and_finishes_after_the_warm_window()
    {
        var env = Unique("bgok");
        await CreateEnvironment(Grains, env, 3, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "blue" }, prefix: env + "-b");
        var green = await AddHosts(Grains, env, 3, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "green" }, prefix: env + "-g");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var id = (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Type = "blueGreen",
            BlueGreen = new BlueGreenDeclaration { AutoPromoteAfterSeconds = 1, ScaleDownDelaySeconds = 1 },
        })).Id;
        var done = await WaitFor(Grains, id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal("green", done.ActiveSlot);
        Assert.Equal("2.0.0", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"].Version);
        await AssertSettled(green, "2.0.0");
    }

    [Fact]
    public async Task Immutable_replaces_the_hosts_and_its_rollback_retires_the_new_set_and_keeps_the_old()
    {
        var env = Unique("imm");
        var old = await CreateEnvironment(Grains, env, 4, latencyMs: 2, labels: new Dictionary<string, string> { ["tier"] = "web" });
        var good = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, good, env, new RolloutStrategySpec { Type = "immutable" })).Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        var index = await Grains.GetGrain<IEnvironmentGrain>(env).GetHostIndex();
        Assert.Equal(4, index.Count);
        Assert.DoesNotContain(index, h => old.Contains(h.HostId));
        Assert.All(index, h => Assert.Equal("web", h.Labels["tier"]));
        Assert.All(await HostsOf(Grains, old), h => Assert.Equal(HostState.Retired, h.State));
        var replaced = index.Select(h => h.HostId).ToList();
        await AssertSettled(replaced, "2.0.0");

        // Rolled back after success (inside the window): the new set retires and the old hosts return, with no deploy.
        var rollback = await Grains.GetGrain<IRolloutGrain>(done.Id).Rollback(new OperatorAction { Actor = "ops" });
        Assert.True(rollback.Ok, rollback.Detail);
        var back = await WaitFor(Grains, done.Id);
        Assert.Equal(RolloutStatus.RolledBack, back.Status);
        var restored = await Grains.GetGrain<IEnvironmentGrain>(env).GetHostIndex();
        Assert.Equal(old.Order(StringComparer.Ordinal), restored.Select(h => h.HostId));
        await AssertSettled(old, "1.0.0");
        Assert.All(await HostsOf(Grains, replaced), h => Assert.Equal(HostState.Retired, h.State));
    }

    [Fact]
    public async Task Immutable_runs_as_a_surge_window_new_hosts_in_as_old_ones_leave()
    {
        // 4 hosts, maxSurge 1, maxUnavailable 0 (Kubernetes' zero-downtime setting): one new host in and serving, then
        // one old host out, four times; never more than 5 hosts, never fewer than 4 serving.
        var env = Unique("immwin");
        var old = await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var good = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, good, env, new RolloutStrategySpec { Type = "immutable", MaxSurge = "1", MaxUnavailable = "0" })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(Enumerable.Repeat(new[] { "Provision", "Deploy", "Retire" }, 4).SelectMany(k => k), done.Steps.Select(s => s.Kind));
        Assert.All(done.Steps, s => Assert.Equal(1, s.Hosts));
        var index = await Grains.GetGrain<IEnvironmentGrain>(env).GetHostIndex();
        Assert.Equal(4, index.Count);
        Assert.DoesNotContain(index, h => old.Contains(h.HostId));
        Assert.All(await HostsOf(Grains, old), h => Assert.Equal(HostState.Retired, h.State));
        await AssertSettled(index.Select(h => h.HostId).ToList(), "2.0.0");
    }

    [Fact]
    public async Task Immutable_rollback_after_a_failure_retires_the_new_hosts_and_the_old_keep_serving()
    {
        var env = Unique("immbad");
        var old = await CreateEnvironment(Grains, env, 4, latencyMs: 2, failureByVersion: new Dictionary<string, double> { ["6.6.6"] = 1 });
        var bad = await CreateRelease(Grains, "web", "6.6.6");

        var done = await WaitFor(Grains, (await StartRollout(Grains, bad, env, new RolloutStrategySpec { Type = "immutable" })).Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Contains("new hosts retired", done.StatusReason);
        var index = await Grains.GetGrain<IEnvironmentGrain>(env).GetHostIndex();
        Assert.Equal(old.Order(StringComparer.Ordinal), index.Select(h => h.HostId));
        await AssertSettled(old, "1.0.0");
    }

    [Theory]
    [InlineData("wave", "2.0.0")]
    [InlineData("all", "1.0.0")]
    public async Task A_failure_in_the_second_wave_stops_the_third_and_rolls_back_what_the_policy_says(string policy, string firstWaveEnds)
    {
        var env = Unique("waves");
        var eu = await CreateEnvironment(Grains, env, 3, latencyMs: 2, labels: new Dictionary<string, string> { ["region"] = "eu" }, prefix: env + "-eu");
        var us = await AddHosts(Grains, env, 3, latencyMs: 2, labels: new Dictionary<string, string> { ["region"] = "us" }, prefix: env + "-us",
            failureByVersion: new Dictionary<string, double> { ["2.0.0"] = 1 });
        var ap = await AddHosts(Grains, env, 3, latencyMs: 2, labels: new Dictionary<string, string> { ["region"] = "ap" }, prefix: env + "-ap");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Preset = "AllAtOnce",
            Scope = new ScopeDeclaration
            {
                Type = "waves",
                Waves = [Region("eu"), Region("us"), Region("ap")],
                BakeSeconds = 1,
                OnFailure = policy,
            },
        })).Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Equal("wave 2 (region=us)", done.CurrentStage);
        await AssertSettled(eu, firstWaveEnds);
        await AssertSettled(ap, "1.0.0");
        Assert.All(await HostsOf(Grains, ap), h => Assert.Null(h.Rollout));
        Assert.All(await HostsOf(Grains, us), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task Pilot_hosts_get_the_release_first_as_their_own_stage()
    {
        var env = Unique("pilot");
        var rest = await CreateEnvironment(Grains, env, 6, latencyMs: 2);
        var pilots = await AddHosts(Grains, env, 2, latencyMs: 2, labels: new Dictionary<string, string> { ["pilot"] = "true" }, prefix: env + "-pilot");
        var release = await CreateRelease(Grains, "web", "2.0.0");

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Preset = "AllAtOnce",
            Scope = new ScopeDeclaration { Type = "pilot", Pilot = new Dictionary<string, string> { ["pilot"] = "true" } },
        })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal("pilot", done.Steps[0].Stage);
        var events = await History(Grains, GrainKeys.RolloutEvents(done.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        var updated = HostsIn(events, EventTypes.HostsUpdated);
        Assert.Equal(pilots.Order(StringComparer.Ordinal), updated.Take(2).Order(StringComparer.Ordinal));
        await AssertSettled(rest.Concat(pilots).ToList(), "2.0.0");
    }

    [Theory]
    [InlineData("abort", RolloutStatus.Aborted)]
    [InlineData("pause", RolloutStatus.Paused)]
    public async Task A_pause_nobody_promotes_expires_through_the_reminder_with_the_declared_outcome(string onExpiry, RolloutStatus expected)
    {
        var env = Unique("dl");
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var strategy = Canary(Weight(25), PauseFor(null)) with
        {
            Deadlines = new DeadlinesDeclaration { ApprovalSeconds = 2, OnExpiry = onExpiry },
        };

        // A pause for a promote shows Paused from its start: wait for the deadline's own decision.
        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id,
            r => r.Status == expected && r.Decisions.Any(d => d.Kind is "deadline" or "aborted"), TimeSpan.FromSeconds(30));

        Assert.Contains("deadline", done.StatusReason);
        Assert.Contains(done.Decisions, d => d.Kind is "deadline" or "aborted" && d.Actor == "engine");
        if (expected == RolloutStatus.Aborted)
        {
            await AssertSettled(hosts, "1.0.0");
        }
    }

    [Fact]
    public async Task An_analysis_that_never_gets_a_sample_is_not_a_pass_it_ends_at_the_analysis_deadline()
    {
        var env = Unique("nodata");
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var strategy = Canary(Weight(25), Analyse(1)) with { Deadlines = new DeadlinesDeclaration { AnalysisSeconds = 3 } };

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, strategy)).Id, timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(RolloutStatus.Aborted, done.Status);
        Assert.Contains("no metric sample", done.StatusReason);
        await AssertSettled(hosts, "1.0.0");
    }

    [Fact]
    public async Task A_release_that_supersedes_stops_the_one_in_flight_and_the_api_says_which_happened()
    {
        var env = Unique("sup");
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var first = await CreateRelease(Grains, "web", "2.0.0");
        var older = (await StartRollout(Grains, first, env, Canary(Weight(25), PauseFor(null)))).Id;
        await WaitFor(Grains, older, r => r.CurrentStep == 3);

        var second = await CreateRelease(Grains, "web", "3.0.0");
        var newer = await StartRollout(Grains, second, env, new RolloutStrategySpec { Preset = "AllAtOnce", OnConflict = "supersede" });
        Assert.Equal(older, newer.Supersedes);

        var stopped = await WaitFor(Grains, older);
        Assert.Equal(RolloutStatus.Aborted, stopped.Status);
        Assert.Equal(newer.Id, stopped.SupersededBy);
        Assert.Contains("superseded", stopped.StatusReason);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, newer.Id)).Status);
        await AssertSettled(hosts, "3.0.0");
    }

    [Fact]
    public async Task A_rollback_after_success_is_refused_once_the_window_has_closed()
    {
        var env = Unique("win");
        await CreateEnvironment(Grains, env, 2, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, new RolloutStrategySpec { RollbackWindowSeconds = 1 })).Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var refused = await Grains.GetGrain<IRolloutGrain>(done.Id).Rollback(new OperatorAction { Actor = "ops" });
        Assert.False(refused.Ok);
        Assert.Contains("rollback window", refused.Detail);
    }

    [Fact]
    public async Task A_canary_with_a_traffic_router_sets_each_weight_in_order_through_the_router()
    {
        fixture.Routers.Reset("lb");
        var env = Unique("route");
        await CreateEnvironment(Grains, env, 10, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        using var telemetry = new TelemetryRecorder();

        var done = await WaitFor(Grains, (await StartRollout(Grains, release, env, Canary(Weight(20), Weight(60)) with { TrafficRouter = "lb" })).Id);

        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(new[] { 20, 60, 100 }, Weights("lb", done.Id));

        // Each call to the router is a client span of the rollout's reconcile, carrying its release, environment and service.
        var calls = telemetry.Spans("traffic.apply").Where(s => TelemetryRecorder.Tag(s, "deploy.rollout") == done.Id).ToList();
        Assert.Equal(["20", "60", "100"], calls.OrderBy(s => s.StartTimeUtc).Select(s => TelemetryRecorder.Tag(s, "deploy.traffic.canary_weight")));
        Assert.All(calls, s => Assert.Equal((System.Diagnostics.ActivityKind.Client, env, "web", release),
            (s.Kind, TelemetryRecorder.Tag(s, "deploy.environment"), TelemetryRecorder.Tag(s, "deploy.service"), TelemetryRecorder.Tag(s, "deploy.release"))));
        var reconciles = telemetry.Spans("rollout.reconcile").Where(s => TelemetryRecorder.Tag(s, "deploy.rollout") == done.Id).Select(s => s.SpanId).ToHashSet();
        Assert.All(calls, s => Assert.Contains(s.ParentSpanId, reconciles));
    }

    [Fact]
    public async Task A_router_that_fails_leaves_the_rollout_paused_with_the_reason_and_resume_retries_it()
    {
        fixture.Routers.Reset("lb");
        fixture.Routers.Answer("lb", 503);
        var env = Unique("routefail");
        var hosts = await CreateEnvironment(Grains, env, 10, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var id = (await StartRollout(Grains, release, env, Canary(Weight(20), Weight(60)) with { TrafficRouter = "lb" })).Id;

        var paused = await WaitFor(Grains, id, r => r.Status == RolloutStatus.Paused, TimeSpan.FromSeconds(30));
        Assert.Contains("traffic router failed", paused.StatusReason);
        Assert.Contains("503", paused.StatusReason);
        Assert.Equal(0, paused.TrafficWeight);
        Assert.Equal(2, paused.Hosts.Updated);
        Assert.Equal(8, paused.Hosts.Untouched);

        fixture.Routers.Answer("lb", 200);
        Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Resume(new OperatorAction { Actor = "ops" })).Ok);
        var done = await WaitFor(Grains, id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(new[] { 20, 60, 100 }, Weights("lb", id).Distinct());
        await AssertSettled(hosts, "2.0.0");
    }

    [Fact]
    public async Task A_blue_green_switch_and_its_switch_back_go_through_the_router()
    {
        fixture.Routers.Reset("lb");
        var env = Unique("bgroute");
        await CreateEnvironment(Grains, env, 2, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "blue" }, prefix: env + "-b");
        await AddHosts(Grains, env, 2, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "green" }, prefix: env + "-g");
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var id = (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Type = "blueGreen",
            TrafficRouter = "lb",
            BlueGreen = new BlueGreenDeclaration { AutoPromoteAfterSeconds = 1, ScaleDownDelaySeconds = 300 },
        })).Id;
        await WaitFor(Grains, id, r => r.ActiveSlot == "green");
        Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
        await WaitFor(Grains, id);

        var slots = fixture.Routers.Calls("lb")
            .Select(c => System.Text.Json.Nodes.JsonNode.Parse(c.Body)!)
            .Where(b => (string?)b["rolloutId"] == id)
            .Select(b => (string?)b["activeSlot"])
            .ToList();
        Assert.Equal(new[] { "green", "blue" }, slots);
    }

    private IEnumerable<int> Weights(string router, string rolloutId) => fixture.Routers.Calls(router)
        .Select(c => System.Text.Json.Nodes.JsonNode.Parse(c.Body)!)
        .Where(b => (string?)b["rolloutId"] == rolloutId)
        .Select(b => (int)b["canaryWeight"]!)
        .ToList();

    private static Dictionary<string, string> Region(string region) => new() { ["region"] = region };

    /// <summary>Every host runs <paramref name="version"/> and none is in a transitional state.</summary>
    private async Task AssertSettled(IReadOnlyList<string> hosts, string version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HostSnapshot[] snapshots;
        do
        {
            snapshots = await HostsOf(Grains, hosts);
            if (snapshots.All(h => h.CurrentArtifact == Digest(version) && h.State is HostState.Ready or HostState.Failed))
            {
                return;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.All(snapshots, h =>
        {
            Assert.Equal(Digest(version), h.CurrentArtifact);
            Assert.DoesNotContain(h.State, new[] { HostState.Updating, HostState.RollingBack });
        });
    }
}
