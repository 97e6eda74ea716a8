using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Rollouts;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>
/// Every rollback ends true or escalates by its deadline (issue 15): what the hosts run, what the environment records
/// and what the rollout reports agree afterwards; a rollback that could not be true is refused and changes nothing.
/// </summary>
[Collection(ClusterCollection.Name)]
public class RollbackTruthTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static RolloutStrategySpec BlueGreen(int warmSeconds) => new()
    {
        Type = "blueGreen",
        BlueGreen = new BlueGreenDeclaration { AutoPromoteAfterSeconds = 1, ScaleDownDelaySeconds = warmSeconds },
    };

    [Fact]
    public async Task A_blue_green_rollback_after_the_warm_window_serves_the_previous_release_on_the_active_slot_and_everything_says_so()
    {
        var env = Unique("bgcold");
        var blue = await CreateEnvironment(Grains, env, 3, latencyMs: 2, currentVersion: "0.9.0", labels: new Dictionary<string, string> { ["slot"] = "blue" }, prefix: env + "-b");
        var green = await AddHosts(Grains, env, 3, latencyMs: 2, currentVersion: "0.9.0", labels: new Dictionary<string, string> { ["slot"] = "green" }, prefix: env + "-g");
        var first = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "1.0.0"), env, BlueGreen(1))).Id);
        Assert.Equal((RolloutStatus.Succeeded, "green"), (first.Status, first.ActiveSlot));
        var second = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, BlueGreen(1))).Id);
        Assert.Equal((RolloutStatus.Succeeded, "blue"), (second.Status, second.ActiveSlot));

        // The warm window (1 s) is over: green, still on 1.0.0, is no longer a slot to switch back to.
        var rollback = await Grains.GetGrain<IRolloutGrain>(second.Id).Rollback(new OperatorAction { Actor = "ops", Reason = "regression" });
        Assert.True(rollback.Ok, rollback.Detail);
        var done = await WaitFor(Grains, second.Id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        var environment = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!;
        Assert.Equal("1.0.0", environment.Services["web"].Version);
        var active = environment.ActiveSlots["web"] == "blue" ? blue : green;
        Assert.All(await HostsOf(Grains, active), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
        Assert.Equal(0, done.TrafficWeight);
        Assert.Equal(3, done.HostsPerVersion["1.0.0"]);
        Assert.Contains("1.0.0", done.StatusReason);
    }

    [Fact]
    public async Task Rolling_back_a_release_a_newer_one_replaced_is_refused_with_the_reason_and_changes_nothing()
    {
        var env = Unique("replaced");
        var hosts = await CreateEnvironment(Grains, env, 3, latencyMs: 2);
        var older = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        var newerRelease = await CreateRelease(Grains, "web", "3.0.0");
        var newer = await WaitFor(Grains, (await StartRollout(Grains, newerRelease, env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        Assert.Equal(RolloutStatus.Succeeded, newer.Status);

        var refused = await Grains.GetGrain<IRolloutGrain>(older.Id).Rollback(new OperatorAction { Actor = "ops" });

        Assert.False(refused.Ok);
        Assert.Equal(ErrorKind.InvalidTransition, refused.Error);
        Assert.Contains($"release '{newerRelease}' (3.0.0) has replaced 2.0.0", refused.Detail);
        var after = (await Grains.GetGrain<IRolloutGrain>(older.Id).Get())!;
        Assert.Equal(RolloutStatus.Succeeded, after.Status);
        Assert.Equal(older.Decisions.Count, after.Decisions.Count);
        Assert.Equal("3.0.0", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"].Version);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("3.0.0"), h.CurrentArtifact));
    }

    [Fact]
    public async Task Rolling_back_the_newer_then_the_older_release_returns_each_time_to_the_release_before()
    {
        var env = Unique("twice");
        var hosts = await CreateEnvironment(Grains, env, 3, latencyMs: 2, currentVersion: "0.9.0");
        await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "1.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        var older = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        var newer = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "3.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);

        Assert.True((await Grains.GetGrain<IRolloutGrain>(newer.Id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
        Assert.Equal(RolloutStatus.RolledBack, (await WaitFor(Grains, newer.Id)).Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));

        // The environment records 2.0.0 again, so its rollout may be rolled back: the hosts return to 1.0.0 (the release the
        // environment recorded before it), although the hosts' own "previous" is 2.0.0 since the first rollback.
        var second = await Grains.GetGrain<IRolloutGrain>(older.Id).Rollback(new OperatorAction { Actor = "ops" });
        Assert.True(second.Ok, second.Detail);
        var done = await WaitFor(Grains, older.Id);
        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
        Assert.Equal("1.0.0", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"].Version);
    }

    [Fact]
    public async Task Two_consecutive_rollbacks_without_an_environment_record_return_the_hosts_to_what_each_rollout_found()
    {
        // The hosts ran 0.9.0 before the engine knew the service: the environment records nothing before 1.0.0.
        var env = Unique("twicerevert");
        var hosts = await CreateEnvironment(Grains, env, 3, latencyMs: 2, currentVersion: "0.9.0");
        var older = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "1.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        var newer = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" })).Id);
        Assert.Equal((RolloutStatus.Succeeded, RolloutStatus.Succeeded), (older.Status, newer.Status));

        Assert.True((await Grains.GetGrain<IRolloutGrain>(newer.Id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
        Assert.Equal(RolloutStatus.RolledBack, (await WaitFor(Grains, newer.Id)).Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));

        // The second rollback reverts: each host goes back to what it ran before the 1.0.0 rollout (0.9.0), not to its
        // latest "previous" (2.0.0, from the rollback just done), and not "untouched" because another rollout came since.
        var second = await Grains.GetGrain<IRolloutGrain>(older.Id).Rollback(new OperatorAction { Actor = "ops" });
        Assert.True(second.Ok, second.Detail);
        var done = await WaitFor(Grains, older.Id);
        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal((Digest("0.9.0"), "0.9.0"), (h.CurrentArtifact, h.CurrentVersion)));
        Assert.False((await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services.ContainsKey("web"));
    }

    [Fact]
    public async Task A_rollback_whose_hosts_never_answer_ends_by_its_deadline_quarantines_them_and_the_queue_moves_on()
    {
        var env = Unique("silent");
        var (hosts, id, silent) = await CanaryWithSilentCanaries(env);

        // The next release of the service waits for the slot this rollout holds.
        var next = await StartRollout(Grains, await CreateRelease(Grains, "web", "3.0.0"), env, new RolloutStrategySpec { Preset = "AllAtOnce" });
        Assert.Equal(RolloutStatus.Queued, next.Status);

        Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
        var rollingBack = (await Grains.GetGrain<IRolloutGrain>(id).Get())!;
        Assert.Equal(RolloutStatus.RollingBack, rollingBack.Status);
        Assert.NotNull(rollingBack.Deadline);
        var done = rollingBack;

        var escalated = await WaitFor(Grains, done.Id, timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(RolloutStatus.Failed, escalated.Status);
        Assert.Contains("rollback escalated", escalated.StatusReason);
        Assert.Contains("quarantined", escalated.StatusReason);
        Assert.Equal(silent, escalated.Quarantined);
        Assert.Equal(2, escalated.Hosts.Quarantined);
        Assert.Contains(escalated.Decisions, d => d.Kind == "escalated" && d.Actor == "engine");

        var environment = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!;
        Assert.Equal(silent, environment.Quarantined.Select(q => q.HostId));
        Assert.All(environment.Quarantined, q => Assert.Equal(done.Id, q.RolloutId));
        Assert.DoesNotContain(done.Id, environment.Active);

        // The queued rollout ran on the hosts that answered; the quarantined ones were left alone.
        var after = await WaitFor(Grains, next.Id);
        Assert.Equal(RolloutStatus.Succeeded, after.Status);
        Assert.Equal(2, after.Hosts.Targets);
        Assert.All(await HostsOf(Grains, hosts.Except(silent)), h => Assert.Equal(Digest("3.0.0"), h.CurrentArtifact));
        Assert.All(await HostsOf(Grains, silent), h => Assert.NotEqual(Digest("3.0.0"), h.CurrentArtifact));

        // An operator clears one: it is a target again.
        var cleared = await Grains.GetGrain<IEnvironmentGrain>(env).ClearQuarantine(silent[0], "ops", "agent restarted");
        Assert.True(cleared.Ok, cleared.Detail);
        Assert.Equal([silent[1]], cleared.Value!.Quarantined.Select(q => q.HostId));
        Assert.Equal(ErrorKind.NotFound, (await Grains.GetGrain<IEnvironmentGrain>(env).ClearQuarantine(silent[0], "ops", null)).Error);
    }

    [Fact]
    public async Task A_quarantine_the_environment_could_not_store_at_the_deadline_is_retried_and_the_rollback_still_escalates()
    {
        var env = Unique("silent-unstored");
        var (_, id, silent) = await CanaryWithSilentCanaries(env);

        using (FaultInjectingGrainStorage.FailWritesOf(env))
        {
            // The deadline passes while the environment's storage is out: the rollout sets the silent hosts aside, but
            // the environment cannot store their quarantine.
            Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
            await WaitFor(Grains, id, r => r.Hosts.Quarantined == 2, TimeSpan.FromSeconds(20));
            await Task.Delay(1500);
            Assert.Equal(RolloutStatus.RollingBack, (await Grains.GetGrain<IRolloutGrain>(id).Get())!.Status);
        }

        // Storage is back: the quarantine is retried, and the rollout escalates rather than reporting a rollback that
        // returned every host.
        var escalated = await WaitFor(Grains, id, timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(RolloutStatus.Failed, escalated.Status);
        Assert.Contains("quarantined", escalated.StatusReason);
        Assert.Equal(silent, escalated.Quarantined);
        var environment = (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!;
        Assert.Equal(silent, environment.Quarantined.Select(q => q.HostId));
        Assert.DoesNotContain(id, environment.Active);
    }

    /// <summary>
    /// A canary of 2.0.0 on two of four hosts, paused after its weight step, whose two canary hosts then go silent
    /// (their agents take an hour to answer anything); its rollback deadline is 2 s.
    /// </summary>
    private async Task<(IReadOnlyList<string> Hosts, string Id, List<string> Silent)> CanaryWithSilentCanaries(string env)
    {
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var id = (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 50 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
            ProgressDeadlineSeconds = 2,
        })).Id;
        await WaitFor(Grains, id, r => r.CurrentStep == 3 && r.Hosts.Updated == 2);

        var silent = (await HostsOf(Grains, hosts)).Where(h => h.CurrentVersion == "2.0.0").Select(h => h.Id).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, silent.Count);
        Assert.All(await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(silent.Select(h => new HostEnrollment
        {
            HostId = h,
            Registration = new HostRegistration { Environment = env, Simulation = new SimulationProfile { StepLatencyMs = 3_600_000 } },
        }).ToList()), r => Assert.True(r.Ok, r.Detail));
        return (hosts, id, silent);
    }

    /// <summary>A rollout that succeeded on <paramref name="hosts"/>, whose agents then go silent (an hour to answer anything).</summary>
    private async Task<RolloutSnapshot> SucceededThenSilent(string env, IReadOnlyList<string> hosts, RolloutStrategySpec strategy)
    {
        var done = await WaitFor(Grains, (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, strategy)).Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(hosts.Select(h => new HostEnrollment
        {
            HostId = h,
            Registration = new HostRegistration { Environment = env, Simulation = new SimulationProfile { StepLatencyMs = 3_600_000 } },
        }).ToList()), r => Assert.True(r.Ok, r.Detail));
        return done;
    }

    [Fact]
    public async Task A_rollback_has_its_own_deadline_apart_from_the_progress_deadline_and_escalates_by_it()
    {
        var env = Unique("rbdeadline");
        var hosts = await CreateEnvironment(Grains, env, 2, latencyMs: 2);
        var done = await SucceededThenSilent(env, hosts, new RolloutStrategySpec
        {
            Preset = "AllAtOnce",
            ProgressDeadlineSeconds = 600,
            Deadlines = new DeadlinesDeclaration { RollbackSeconds = 2 },
        });

        var rollingBack = (await Grains.GetGrain<IRolloutGrain>(done.Id).Rollback(new OperatorAction { Actor = "ops" })).Value!;
        // The deadline is set from the decision's turn (a few ms before the decision is logged): 2 s, not 600.
        Assert.InRange((rollingBack.Deadline - rollingBack.Decisions.Last(d => d.Kind == "rollback").At)!.Value, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2));

        // Long before the 10-minute progress deadline, the silent hosts are quarantined and the rollout escalates.
        var escalated = await WaitFor(Grains, done.Id, timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(RolloutStatus.Failed, escalated.Status);
        Assert.Contains("rollback escalated", escalated.StatusReason);
        Assert.Equal(hosts, escalated.Quarantined);
    }

    [Fact]
    public async Task Without_its_own_a_rollback_takes_the_deadline_its_environment_declares()
    {
        var env = Unique("rbenvdeadline");
        var errors = new Domain.Validation.ValidationErrors();
        using var document = System.Text.Json.JsonDocument.Parse($$"""{"name":"{{env}}","tier":"staging","dataClassification":"synthetic","rollback":{"timeout":"3s"} }""");
        var declared = await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).Declare(DeclarationParser.Parse(document.RootElement, errors)!, new Actor { Name = "ops" });
        Assert.True(declared.Ok, declared.Detail);
        var hosts = await AddHosts(Grains, env, 2, latencyMs: 2);
        var done = await SucceededThenSilent(env, hosts, new RolloutStrategySpec { Preset = "AllAtOnce", ProgressDeadlineSeconds = 600 });

        var rollingBack = (await Grains.GetGrain<IRolloutGrain>(done.Id).Rollback(new OperatorAction { Actor = "ops" })).Value!;

        Assert.InRange((rollingBack.Deadline - rollingBack.Decisions.Last(d => d.Kind == "rollback").At)!.Value, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(3));
        Assert.Equal(RolloutStatus.Failed, (await WaitFor(Grains, done.Id, timeout: TimeSpan.FromSeconds(20))).Status);
    }

    [Fact]
    public async Task A_resume_after_an_expiry_that_paused_leaves_a_deadline_that_expires_again()
    {
        var env = Unique("rearm");
        await CreateEnvironment(Grains, env, 4, latencyMs: 2);
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var id = (await StartRollout(Grains, release, env, new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 25 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
            Deadlines = new DeadlinesDeclaration { ApprovalSeconds = 2, OnExpiry = "pause" },
        })).Id;
        var expired = await WaitFor(Grains, id, r => r.Decisions.Any(d => d.Kind == "deadline"), TimeSpan.FromSeconds(30));
        Assert.Equal(RolloutStatus.Paused, expired.Status);
        Assert.Null(expired.Deadline);

        var resumed = await Grains.GetGrain<IRolloutGrain>(id).Resume(new OperatorAction { Actor = "ops" });
        Assert.True(resumed.Ok, resumed.Detail);
        Assert.NotNull(resumed.Value!.Deadline);

        var again = await WaitFor(Grains, id, r => r.Decisions.Count(d => d.Kind == "deadline") >= 2, TimeSpan.FromSeconds(30));
        Assert.Equal(RolloutStatus.Paused, again.Status);
    }

    [Fact]
    public async Task A_blue_green_switch_back_reports_no_traffic_on_the_new_release()
    {
        var env = Unique("bgweight");
        await CreateEnvironment(Grains, env, 2, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "blue" }, prefix: env + "-b");
        await AddHosts(Grains, env, 2, latencyMs: 2, labels: new Dictionary<string, string> { ["slot"] = "green" }, prefix: env + "-g");
        var id = (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, BlueGreen(300))).Id;
        Assert.Equal(100, (await WaitFor(Grains, id, r => r.ActiveSlot == "green")).TrafficWeight);

        Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Rollback(new OperatorAction { Actor = "ops" })).Ok);
        var done = await WaitFor(Grains, id);

        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.Equal("blue", done.ActiveSlot);
        Assert.Equal(0, done.TrafficWeight);
    }

    [Fact]
    public async Task A_canary_waiting_at_a_pause_reports_paused_with_its_deadline_and_a_promote_goes_on()
    {
        var env = Unique("waits");
        await CreateEnvironment(Grains, env, 10, latencyMs: 2);
        var id = (await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 20 }, new CanaryStepDeclaration { Pause = new PauseDeclaration() }],
        })).Id;

        var waiting = await WaitFor(Grains, id, r => r.CurrentStep == 3 && r.Hosts.Updated == 2 && r.Status != RolloutStatus.Progressing);
        Assert.Equal(RolloutStatus.Paused, waiting.Status);
        Assert.Contains("promote", waiting.StatusReason);
        Assert.NotNull(waiting.Deadline);

        Assert.True((await Grains.GetGrain<IRolloutGrain>(id).Promote(new OperatorAction { Actor = "ops" })).Ok);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, id)).Status);
    }

    [Fact]
    public void The_stored_host_phase_mirrors_the_domain_ledger_value_for_value() =>
        Assert.Equal(
            Enum.GetValues<TargetPhase>().Select(p => (p.ToString(), (int)p)),
            Enum.GetValues<HostPhase>().Select(p => (p.ToString(), (int)p)));
}
