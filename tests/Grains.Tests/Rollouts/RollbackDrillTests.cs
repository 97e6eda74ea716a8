using System.Text.Json;
using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>
/// Rollback drills on a simulated fleet, and the readiness gate they feed (issue 15): a drill rolls a release forward and
/// back in a non-production environment and measures time-to-safe; a production environment that declares an RTO holds
/// rollouts whose rollback was not drilled (or too slow) with the reason, until a drill clears it.
/// </summary>
[Collection(ClusterCollection.Name)]
public class RollbackDrillTests(ClusterFixture fixture)
{
    private static readonly Actor Alice = new() { Name = "alice", Roles = "operator" };

    private static readonly RolloutStrategySpec AllAtOnce = new() { Preset = "AllAtOnce" };

    private readonly string _service = Unique("web");

    private IGrainFactory Grains => fixture.Grains;

    private async Task Declare(string json)
    {
        var errors = new ValidationErrors();
        using var document = JsonDocument.Parse(json);
        var declaration = DeclarationParser.Parse(document.RootElement, errors);
        Assert.False(errors.Any, string.Join("; ", errors.ToDictionary().Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
        var result = await Grains.GetGrain<IEnvironmentDeclarationGrain>(declaration!.Name).Declare(declaration, Alice);
        Assert.True(result.Ok, result.Detail);
    }

    private Task DeclareStaging(string env) =>
        Declare($$"""{"name":"{{env}}","tier":"staging","dataClassification":"synthetic"}""");

    /// <summary>A production environment whose rollbacks are drilled in <paramref name="staging"/>, with one approval given ahead.</summary>
    private Task DeclareProduction(string env, string staging, string rto) =>
        Declare($$"""{"name":"{{env}}","tier":"production","rollback":{"rto":{"rolling":"{{rto}}"},"drillEnvironment":"{{staging}}","drillFreshness":"7d"} }""");

    private async Task<string> Release(string version, string releaseClass = "standard")
    {
        var record = Unique("CHG");
        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(record).Create(new ChangeRecordCommand { Title = "drilled change", State = "approved", Actor = "olga", Service = _service, End = DateTimeOffset.UtcNow.AddDays(1) })).Ok);
        var id = Unique("rel");
        var created = await Grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = _service,
            Version = version,
            Artifact = Digest(version),
            SubmittedBy = "test-pipeline",
            Class = releaseClass,
            ChangeRecord = record,
        });
        Assert.True(created.Ok, created.Detail);
        return id;
    }

    private async Task Approve(string release, string environment)
    {
        foreach (var approver in new[] { "bob", "erin" })
        {
            var vote = await Grains.GetGrain<IReleaseGrain>(release).Vote(new ApprovalCommand { Environment = environment, Approve = true, Actor = approver, Role = "approver" });
            Assert.True(vote.Ok, vote.Detail);
        }
    }

    private async Task<RollbackDrill> Drill(string env, string release, RolloutStrategySpec? strategy = null, string? target = null)
    {
        var started = await Grains.GetGrain<IRollbackDrillsGrain>(env).Start(new DrillCommand
        {
            ReleaseId = release, Strategy = strategy ?? AllAtOnce, Target = target, Actor = "alice", Roles = "operator",
        });
        Assert.True(started.Ok, started.Detail);
        return started.Value!;
    }

    private async Task<RollbackDrill> WaitForDrill(string env, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        RollbackDrill? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Grains.GetGrain<IRollbackDrillsGrain>(env).Get(id);
            if (last is { Status: DrillStatus.Succeeded or DrillStatus.Failed }) return last;
            await Task.Delay(50);
        }

        Assert.Fail($"drill {id} did not finish; last: {last?.Status} {last?.Reason}");
        return last!;
    }

    [Fact]
    public async Task A_drill_rolls_the_release_forward_and_back_on_the_fleet_and_measures_time_to_safe()
    {
        var staging = Unique("drill-stg");
        await DeclareStaging(staging);
        var hosts = await CreateEnvironment(Grains, staging, 4, latencyMs: 150, currentVersion: "1.0.0");
        var release = await Release("2.0.0");

        var drill = await WaitForDrill(staging, (await Drill(staging, release)).Id);

        Assert.True(drill.Status == DrillStatus.Succeeded, drill.Reason);
        Assert.Equal((_service, "2.0.0", "rolling", 4), (drill.Service, drill.Version, drill.Strategy, drill.Hosts));
        // The simulated hosts take 150 ms to revert: the measured time covers most of it (a grain timer may fire a little
        // early against the clock, as the slow-fleet test below found) and is the rollout's own record.
        Assert.InRange(drill.TimeToSafeSeconds!.Value, 0.1, 30);
        var rollout = (await Grains.GetGrain<IRolloutGrain>(drill.RolloutId).Get())!;
        Assert.Equal(RolloutStatus.RolledBack, rollout.Status);
        Assert.Contains(rollout.Decisions, d => d.Kind == "succeeded");
        Assert.Equal(drill.RollbackDecidedAt, rollout.Decisions.Last(d => d.Kind == "rollback").At);
        Assert.Equal(drill.TimeToSafeSeconds!.Value, (drill.SafeAt!.Value - drill.RollbackDecidedAt!.Value).TotalSeconds, 3);
        // Every host is back on what it ran before, and the environment records no drill release.
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));
        Assert.False((await Grains.GetGrain<IEnvironmentGrain>(staging).Get())!.Services.ContainsKey(_service));
        // The drilled release's own rollout in staging is untouched (its promotion record stays its own), and no review opens.
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, staging)).Get());
        Assert.Empty(await Grains.GetGrain<IReviewBookGrain>(_service).List());
        Assert.Equal(drill, Assert.Single(await Grains.GetGrain<IRollbackDrillsGrain>(staging).List()));
    }

    [Fact]
    public async Task A_drill_whose_storage_failed_while_it_rolled_back_still_measures_the_rollback_it_asked_for()
    {
        var staging = Unique("drill-flaky");
        await DeclareStaging(staging);
        await CreateEnvironment(Grains, staging, 4, latencyMs: 150, currentVersion: "1.0.0");
        var started = await Drill(staging, await Release("2.0.0"));

        using (FaultInjectingGrainStorage.FailWritesOfState("rollback-drills", staging))
        {
            // The drill asks for the rollback but cannot store that it did; the activation goes, and the one after it
            // reads a drill still rolling forward against a rollout rolling back.
            await WaitFor(Grains, started.RolloutId, r => r.Status == RolloutStatus.RolledBack);
            await Task.Delay(2500);
        }

        var drill = await WaitForDrill(staging, started.Id);
        Assert.True(drill.Status == DrillStatus.Succeeded, drill.Reason);
        var rollout = (await Grains.GetGrain<IRolloutGrain>(drill.RolloutId).Get())!;
        Assert.Equal(drill.RollbackDecidedAt, rollout.Decisions.Last(d => d.Kind == "rollback").At);
    }

    [Fact]
    public async Task A_production_rollout_waits_for_a_drill_of_its_strategy_and_goes_once_one_is_recorded()
    {
        var staging = Unique("drill-stg");
        var production = Unique("drill-prd");
        await DeclareStaging(staging);
        await DeclareProduction(production, staging, "5m");
        await CreateEnvironment(Grains, staging, 2, latencyMs: 2, currentVersion: "1.0.0");
        var prodHosts = await AddHosts(Grains, production, 2, latencyMs: 2, currentVersion: "1.0.0");
        var release = await Release("2.0.0");
        await Approve(release, production);

        var started = await StartRollout(Grains, release, production, AllAtOnce);
        var held = await WaitFor(Grains, started.Id, r => r.HeldBy is not null);
        Assert.Equal(RolloutStatus.Queued, held.Status);
        Assert.Equal($"rollback-readiness: rollback drill for rolling of {_service} missing: run POST /v1/environments/{staging}/drills", held.HeldBy);
        Assert.All(await HostsOf(Grains, prodHosts), h => Assert.Equal(Digest("1.0.0"), h.CurrentArtifact));

        // The drill, measured against production's RTO, clears the gate: the rollout goes on by itself.
        var drill = await WaitForDrill(staging, (await Drill(staging, release, target: production)).Id);
        Assert.True(drill.Status == DrillStatus.Succeeded, drill.Reason);
        Assert.Equal((production, 300L, true), (drill.RtoOf, drill.RtoSeconds, drill.MetRto));

        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(40));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await HostsOf(Grains, prodHosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));

        // DORA counts the production deployment and not the drill: a rehearsed rollback is no failed change. (The drill
        // ended before production was admitted, so its event reached the ledger first.)
        var ledger = await WaitForLedger(started.Id);
        Assert.Contains(ledger.Deployments, d => d.RolloutId == started.Id && d.Outcome == DeploymentOutcome.Succeeded);
        Assert.DoesNotContain(ledger.Deployments, d => d.RolloutId == drill.RolloutId || GrainKeys.IsDrillRelease(d.ReleaseId));
    }

    private async Task<DeliveryLedgerSnapshot> WaitForLedger(string rolloutId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var ledger = await Grains.GetGrain<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(_service)).Read();
            if (ledger.Deployments.Any(d => d.RolloutId == rolloutId) || DateTime.UtcNow > deadline) return ledger;
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_drill_slower_than_the_production_rto_holds_production_rollouts_with_both_times()
    {
        var staging = Unique("drill-stg");
        var production = Unique("drill-prd");
        await DeclareStaging(staging);
        await DeclareProduction(production, staging, "1s");
        await CreateEnvironment(Grains, staging, 2, latencyMs: 2_000, currentVersion: "1.0.0");
        await AddHosts(Grains, production, 2, latencyMs: 2, currentVersion: "1.0.0");
        var release = await Release("2.0.0");
        await Approve(release, production);

        var drill = await WaitForDrill(staging, (await Drill(staging, release, target: production)).Id);
        Assert.True(drill.Status == DrillStatus.Succeeded, drill.Reason);
        // The hosts take 2 s to revert (a timer may fire a little early against the clock): well over the 1 s RTO.
        Assert.True(drill.TimeToSafeSeconds > 1.5, $"{drill.TimeToSafeSeconds}");
        Assert.False(drill.MetRto);
        Assert.Contains("(exceeded)", drill.Reason);

        var started = await StartRollout(Grains, release, production, AllAtOnce);
        var held = await WaitFor(Grains, started.Id, r => r.HeldBy is not null);
        Assert.Contains($"the last rollback drill for rolling of {_service}", held.HeldBy);
        Assert.Contains("to be safe, over the RTO of 1s", held.HeldBy);
    }

    [Fact]
    public async Task An_emergency_release_goes_without_a_drill_and_the_waiver_is_audited()
    {
        var staging = Unique("drill-stg");
        var production = Unique("drill-prd");
        await DeclareStaging(staging);
        await Declare($$"""{"name":"{{production}}","tier":"production","rollback":{"rto":{"canary":"5m"},"drillEnvironment":"{{staging}}"} }""");
        var prodHosts = await AddHosts(Grains, production, 10, latencyMs: 2, currentVersion: "1.0.0");
        var release = await Release("2.0.1", "emergency");
        await Approve(release, production);

        var started = await StartRollout(Grains, release, production, new RolloutStrategySpec
        {
            Type = "canary",
            Steps = [new CanaryStepDeclaration { SetWeight = 10 }, new CanaryStepDeclaration { SetWeight = 100 }],
        });
        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(40));

        Assert.True(done.Status == RolloutStatus.Succeeded, done.StatusReason);
        Assert.All(await HostsOf(Grains, prodHosts), h => Assert.Equal(Digest("2.0.1"), h.CurrentArtifact));
        var audit = await Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog).Query(new AuditQuery { Release = release, Limit = 1000 });
        var waived = Assert.Single(audit.Items, e => e.Action == EventTypes.RollbackDrillWaived);
        Assert.Equal(production, waived.Environment);
        Assert.Contains($"rollback drill for canary of {_service} missing", waived.Reason);
    }

    [Fact]
    public async Task Drills_are_refused_in_production_and_in_undeclared_environments_and_one_runs_at_a_time()
    {
        var staging = Unique("drill-stg");
        var production = Unique("drill-prd");
        var undeclared = Unique("drill-raw");
        await DeclareStaging(staging);
        await DeclareProduction(production, staging, "5m");
        await CreateEnvironment(Grains, staging, 2, latencyMs: 400);
        await CreateEnvironment(Grains, undeclared, 2);
        var release = await Release("2.0.0");
        var command = new DrillCommand { ReleaseId = release, Strategy = AllAtOnce, Actor = "alice" };

        var inProduction = await Grains.GetGrain<IRollbackDrillsGrain>(production).Start(command);
        Assert.Equal(ErrorKind.PolicyRefused, inProduction.Error);
        Assert.Contains("is production", inProduction.Detail);
        Assert.Equal(ErrorKind.PolicyRefused, (await Grains.GetGrain<IRollbackDrillsGrain>(undeclared).Start(command)).Error);
        Assert.Equal(ErrorKind.NotFound, (await Grains.GetGrain<IRollbackDrillsGrain>(staging).Start(command with { ReleaseId = "rel-missing" })).Error);
        Assert.Empty(await Grains.GetGrain<IRollbackDrillsGrain>(production).List());

        var first = await Drill(staging, release);
        var second = await Grains.GetGrain<IRollbackDrillsGrain>(staging).Start(command);
        Assert.Equal(ErrorKind.Conflict, second.Error);
        Assert.Contains(first.Id, second.Detail);
        Assert.Equal(DrillStatus.Succeeded, (await WaitForDrill(staging, first.Id)).Status);
    }
}
