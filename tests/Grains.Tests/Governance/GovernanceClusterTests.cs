using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;

namespace Deploy.Engine.Grains.Tests.Governance;

[Collection(ClusterCollection.Name)]
public class GovernanceClusterTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static readonly GovernanceActor Ops = new() { Name = "ops", Role = "operator" };

    private static RolloutStrategySpec OneAtATime => new() { MaxSurge = "0", MaxUnavailable = "1" };

    private async Task<string> Release(string service, string version, Dictionary<string, string>? metadata = null)
    {
        var id = Fleet.Unique("rel");
        var result = await Grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = service,
            Version = version,
            Artifact = Fleet.Digest(version),
            SubmittedBy = "test-pipeline",
            Metadata = metadata ?? new Dictionary<string, string>(),
        });
        Assert.True(result.Ok, result.Detail);
        return id;
    }

    private static Dictionary<string, string> Of(string service) => new() { ["service"] = service };

    [Fact]
    public async Task An_incident_pauses_running_rollouts_at_a_step_boundary_queues_new_ones_and_releases_them_when_resolved()
    {
        var env = Fleet.Unique("inc");
        // Each service has hosts of its own: the three rollouts never compete for a host.
        await Fleet.CreateEnvironment(Grains, env, hosts: 6, concurrencyLimit: 3, latencyMs: 250, labels: Of("shop"), prefix: env + "-shop");
        await Fleet.AddHosts(Grains, env, 3, latencyMs: 250, labels: Of("cart"), prefix: env + "-cart");
        await Fleet.AddHosts(Grains, env, 3, latencyMs: 250, labels: Of("search"), prefix: env + "-search");
        var running = await Fleet.StartRollout(Grains, await Release("shop", "2.0.0"), env, OneAtATime, Of("shop"));
        await Fleet.WaitFor(Grains, running.Id, r => r.Hosts.Updated >= 1);

        var incidents = Grains.GetGrain<IIncidentsGrain>(GrainKeys.Incidents);
        var incidentId = Fleet.Unique("inc");
        var declared = await incidents.Declare(new IncidentRecord { Id = incidentId, Environment = env, Title = "checkout errors", Severity = "sev1", DeclaredBy = "" }, Ops);
        Assert.True(declared.Ok, declared.Detail);

        // Running: pauses before its next step, with the incident named; no host is left mid-update.
        var paused = await Fleet.WaitFor(Grains, running.Id, r => r.Status == RolloutStatus.Paused);
        Assert.Contains($"incident '{incidentId}'", paused.HeldBy);
        Assert.Equal(0, paused.Hosts.Updating);
        Assert.True(paused.Hosts.Untouched > 0, "the incident came too late to show a pause");

        // New: queued with the reason; an emergency release (the fix) goes through.
        var queued = await Fleet.StartRollout(Grains, await Release("cart", "2.0.0"), env, OneAtATime, Of("cart"));
        queued = await Fleet.WaitFor(Grains, queued.Id, r => r.HeldBy is not null);
        Assert.Equal(RolloutStatus.Queued, queued.Status);
        Assert.Contains("checkout errors", queued.HeldBy);
        var hotfix = await Fleet.StartRollout(Grains, await Release("search", "2.0.1", new() { ["class"] = "emergency" }), env, OneAtATime, Of("search"));
        await Fleet.WaitFor(Grains, hotfix.Id, r => r.Status == RolloutStatus.Succeeded);

        // Still held a while later: nothing moved.
        await Task.Delay(1500);
        var still = await Grains.GetGrain<IRolloutGrain>(running.Id).Get();
        Assert.Equal(RolloutStatus.Paused, still!.Status);
        Assert.Equal(paused.Hosts.Updated, still.Hosts.Updated);

        Assert.True((await incidents.Resolve(incidentId, Ops)).Ok);
        var ran = await Fleet.WaitFor(Grains, running.Id);
        Assert.True(ran.Status == RolloutStatus.Succeeded, $"{ran.Status}: {ran.StatusReason}");
        var then = await Fleet.WaitFor(Grains, queued.Id);
        Assert.True(then.Status == RolloutStatus.Succeeded, $"{then.Status}: {then.StatusReason}");

        var history = await Fleet.History(Grains, GrainKeys.IncidentEvents, e => e.Any(x => x.Type == EventTypes.IncidentResolved && x.Data["incident"] == incidentId));
        var declaredEvent = Assert.Single(history, e => e.Type == EventTypes.IncidentDeclared && e.Data["incident"] == incidentId);
        Assert.Equal("ops", declaredEvent.Data[AuditFields.Actor]);
        Assert.Equal(env, declaredEvent.Data["environment"]);
    }

    [Fact]
    public async Task A_freeze_that_starts_while_running_pauses_at_the_next_step_and_it_goes_on_when_the_freeze_ends()
    {
        var env = Fleet.Unique("frz");
        await Fleet.CreateEnvironment(Grains, env, hosts: 6, latencyMs: 250);
        var rollout = await Fleet.StartRollout(Grains, await Release("shop", "2.0.0"), env, OneAtATime);
        await Fleet.WaitFor(Grains, rollout.Id, r => r.Hosts.Updated >= 1);

        var now = DateTimeOffset.UtcNow;
        await Grains.GetGrain<IEnvironmentCalendarGrain>(env).SetCalendar(new CalendarSpec
        {
            Entries = [new CalendarEntrySpec { Name = "change-freeze", Kind = "freeze", Start = now.AddMinutes(-1), End = now.AddSeconds(4) }],
        }, Ops);

        var paused = await Fleet.WaitFor(Grains, rollout.Id, r => r.Status == RolloutStatus.Paused);
        Assert.Contains("freeze 'change-freeze' until", paused.HeldBy);
        Assert.Equal(0, paused.Hosts.Updating);

        var done = await Fleet.WaitFor(Grains, rollout.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Contains(done.Decisions, d => d.Kind == "resumed");
    }

    [Fact]
    public async Task Outside_its_windows_a_rollout_waits_with_the_next_opening_or_is_refused_and_an_exception_lets_one_release_through_a_freeze()
    {
        var env = Fleet.Unique("win");
        await Fleet.CreateEnvironment(Grains, env, hosts: 2);
        var governance = Grains.GetGrain<IEnvironmentCalendarGrain>(env);
        // A window on 1 January only, and a freeze covering now.
        var now = DateTimeOffset.UtcNow;
        await governance.SetCalendar(new CalendarSpec
        {
            Entries =
            [
                new CalendarEntrySpec { Name = "new-year", Kind = "window", Cron = "0 0 1 1 *", Duration = TimeSpan.FromHours(1), TimeZone = "Europe/London", Service = "shop" },
                new CalendarEntrySpec { Name = "audit", Kind = "freeze", Start = now.AddHours(-1), End = now.AddHours(1), Service = "cart" },
            ],
        }, Ops);

        var waiting = await Fleet.StartRollout(Grains, await Release("shop", "2.0.0"), env);
        waiting = await Fleet.WaitFor(Grains, waiting.Id, r => r.HeldBy is not null);
        Assert.Equal(RolloutStatus.Queued, waiting.Status);
        Assert.Contains("outside deployment window 'new-year' (Europe/London); next opening ", waiting.HeldBy);

        // The calendar view lists it with what it waits on.
        Assert.Contains(waiting.Id, await governance.Held());

        // Frozen: cart waits; an executive exception for this release lets it through, and only it.
        var cart = await Release("cart", "2.0.0");
        var frozen = await Fleet.StartRollout(Grains, cart, env);
        frozen = await Fleet.WaitFor(Grains, frozen.Id, r => r.HeldBy is not null);
        Assert.Contains("freeze 'audit' until", frozen.HeldBy);
        var granted = await governance.GrantException(new FreezeExceptionRecord
        {
            Release = cart, Freeze = "audit", From = now.AddMinutes(-1), Until = now.AddMinutes(30), GrantedBy = "cto", Reason = "fixes the audit finding",
        });
        Assert.True(granted.Ok, granted.Detail);
        Assert.Equal(RolloutStatus.Succeeded, (await Fleet.WaitFor(Grains, frozen.Id)).Status);
        var unknown = await governance.GrantException(new FreezeExceptionRecord
        {
            Release = cart, Freeze = "no-such-freeze", From = now, Until = now.AddMinutes(30), GrantedBy = "cto", Reason = "x",
        });
        Assert.Equal(ErrorKind.NotFound, unknown.Error);

        // With outsideWindow: refuse, a rollout outside every window is aborted with the reason.
        await governance.SetCalendar(new CalendarSpec
        {
            Entries = [new CalendarEntrySpec { Name = "new-year", Kind = "window", Cron = "0 0 1 1 *", Duration = TimeSpan.FromHours(1), TimeZone = "UTC" }],
            OutsideWindow = "refuse",
        }, Ops);
        var refused = await Fleet.StartRollout(Grains, await Release("search", "2.0.0"), env);
        refused = await Fleet.WaitFor(Grains, refused.Id);
        Assert.Equal(RolloutStatus.Aborted, refused.Status);
        Assert.Contains("refuses rollouts outside its windows", refused.StatusReason);
    }

    [Fact]
    public async Task A_release_submitted_before_its_dependency_waits_and_then_proceeds_in_order()
    {
        var env = Fleet.Unique("dep");
        await Fleet.CreateEnvironment(Grains, env, hosts: 3, concurrencyLimit: 2, latencyMs: 50);
        await Grains.GetGrain<IServiceDependenciesGrain>("checkout").Set(env, [new DependencySpec { Service = "payments", Range = ">=2.1.0 <3.0.0" }], "wait", Ops);

        var checkout = await Fleet.StartRollout(Grains, await Release("checkout", "5.0.0"), env);
        checkout = await Fleet.WaitFor(Grains, checkout.Id, r => r.HeldBy is not null);
        Assert.Equal(RolloutStatus.Queued, checkout.Status);
        Assert.Contains($"needs payments >=2.1.0 <3.0.0 in {env}; {env} does not run payments yet", checkout.HeldBy);

        // payments 2.0.3 is not enough: still waiting, now naming the version that runs.
        var old = await Fleet.WaitFor(Grains, (await Fleet.StartRollout(Grains, await Release("payments", "2.0.3"), env)).Id);
        Assert.Equal(RolloutStatus.Succeeded, old.Status);
        checkout = await Fleet.WaitFor(Grains, checkout.Id, r => r.HeldBy?.Contains($"{env} runs 2.0.3", StringComparison.Ordinal) == true);
        Assert.Equal(RolloutStatus.Queued, checkout.Status);

        var payments = await Fleet.WaitFor(Grains, (await Fleet.StartRollout(Grains, await Release("payments", "2.1.0"), env)).Id);
        Assert.Equal(RolloutStatus.Succeeded, payments.Status);
        var done = await Fleet.WaitFor(Grains, checkout.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.True(done.StartedAt >= payments.FinishedAt, $"checkout started {done.StartedAt:O}, before payments 2.1.0 finished {payments.FinishedAt:O}");
    }

    [Fact]
    public async Task A_train_rolls_out_in_dependency_order_and_aborts_together_when_one_member_fails()
    {
        var (env, train, ledger, shop, catalog) = await TrainWhoseMiddleMemberFails();
        var snapshot = await UntilNotRunning(train);

        Assert.Equal("aborted", snapshot.Status);
        Assert.Contains($"{shop.Service} 9.9.9 rol", snapshot.Reason);
        // The member that had succeeded is rolled back; the one after the failure never started.
        var ledgerRollout = await Fleet.WaitFor(Grains, GrainKeys.Rollout(ledger.Id, env), r => r.Status == RolloutStatus.RolledBack);
        Assert.Contains(ledgerRollout.Decisions, d => d.Reason.Contains("aborted together", StringComparison.Ordinal));
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(catalog.Id, env)).Get());
        Assert.Equal("not started", snapshot.Members[2].Status);
    }

    [Fact]
    public async Task A_train_that_could_not_roll_a_member_back_when_it_aborted_tries_again_until_it_has()
    {
        var (env, train, ledger, _, _) = await TrainWhoseMiddleMemberFails();
        var ledgerRollout = GrainKeys.Rollout(ledger.Id, env);
        Assert.Equal(RolloutStatus.Succeeded, (await Fleet.WaitFor(Grains, ledgerRollout)).Status);

        using (FaultInjectingGrainStorage.FailWritesOf(ledgerRollout))
        {
            // The train aborts while the succeeded member's storage is out: its rollback cannot be stored.
            Assert.Equal("aborted", (await UntilNotRunning(train)).Status);
            await Task.Delay(1500);
            Assert.Equal(RolloutStatus.Succeeded, (await Grains.GetGrain<IRolloutGrain>(ledgerRollout).Get())!.Status);
        }

        // Storage is back: the train tells the member again, rather than leaving it on the version its train abandoned.
        var rolledBack = await Fleet.WaitFor(Grains, ledgerRollout, r => r.Status == RolloutStatus.RolledBack, TimeSpan.FromSeconds(30));
        Assert.Contains(rolledBack.Decisions, d => d.Reason.Contains("aborted together", StringComparison.Ordinal));
    }

    /// <summary>A train of ledger 1.1.0, shop 9.9.9 (every host fails it) and catalog 1.2.0, in that dependency order.</summary>
    private async Task<(string Env, IReleaseTrainGrain Train, (string Id, string Service) Ledger, (string Id, string Service) Shop, (string Id, string Service) Catalog)>
        TrainWhoseMiddleMemberFails()
    {
        var env = Fleet.Unique("train");
        await Fleet.CreateEnvironment(Grains, env, hosts: 3, concurrencyLimit: 3, latencyMs: 30,
            failureByVersion: new Dictionary<string, double> { ["9.9.9"] = 1.0 });
        var ledgerSvc = Fleet.Unique("ledger");
        var shopSvc = Fleet.Unique("shop");
        var catalogSvc = Fleet.Unique("catalog");
        await Grains.GetGrain<IServiceDependenciesGrain>(shopSvc).Set("*", [new DependencySpec { Service = ledgerSvc, Range = ">=1.0.0" }], "wait", Ops);
        await Grains.GetGrain<IServiceDependenciesGrain>(catalogSvc).Set("*", [new DependencySpec { Service = shopSvc, Range = "*" }], "wait", Ops);
        var ledger = await Release(ledgerSvc, "1.1.0");
        var shop = await Release(shopSvc, "9.9.9");
        var catalog = await Release(catalogSvc, "1.2.0");

        var train = Grains.GetGrain<IReleaseTrainGrain>(Fleet.Unique("t"));
        var created = await train.Create(new TrainDraft { Releases = [catalog, shop, ledger], Environment = env, SubmittedBy = "ci" });
        Assert.True(created.Ok, created.Detail);
        Assert.Equal([ledger, shop, catalog], created.Value!.Members.Select(m => m.ReleaseId));
        return (env, train, (ledger, ledgerSvc), (shop, shopSvc), (catalog, catalogSvc));
    }

    private static async Task<TrainSnapshot> UntilNotRunning(IReleaseTrainGrain train)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        TrainSnapshot? snapshot;
        do
        {
            await Task.Delay(100);
            snapshot = await train.Get();
        }
        while (snapshot!.Status == "running" && DateTime.UtcNow < deadline);

        return snapshot;
    }
}
