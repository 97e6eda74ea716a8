using System.Text.Json;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Environments;

/// <summary>Declared environments in a cluster whose drift scan and TTL sweep reminders tick every second.</summary>
[Collection(ClusterCollection.Name)]
public class DeclaredEnvironmentTests(ClusterFixture fixture)
{
    private static readonly Actor Alice = new() { Name = "alice", Roles = "operator" };
    private static readonly string ConfigA = Digest("config-a");

    private IGrainFactory Grains => fixture.Grains;

    private async Task<EnvironmentDeclarationSnapshot> Declare(string json)
    {
        var errors = new ValidationErrors();
        using var document = JsonDocument.Parse(json);
        var declaration = DeclarationParser.Parse(document.RootElement, errors);
        Assert.False(errors.Any, string.Join("; ", errors.ToDictionary().Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
        var result = await Grains.GetGrain<IEnvironmentDeclarationGrain>(declaration!.Name).Declare(declaration, Alice);
        Assert.True(result.Ok, result.Detail);
        return result.Value!;
    }

    private static HostFactsReport Facts(string version, string? config = null, string osImage = "ubuntu-24.04") => new()
    {
        Services = new Dictionary<string, ServiceFactsReport> { ["shop"] = new() { Version = version, Artifact = Digest(version), ConfigHash = config ?? ConfigA } },
        Runtime = new Dictionary<string, string> { ["os-image"] = osImage },
    };

    private async Task<DriftReport> WaitForDrift(string env, Func<DriftReport, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        DriftReport? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).GetDrift();
            if (last is not null && condition(last)) return last;
            await Task.Delay(100);
        }

        Assert.Fail($"drift of {env} not as expected; last scan: {JsonSerializer.Serialize(last)}");
        return last!;
    }

    [Fact]
    public async Task The_scan_finds_a_host_whose_agent_reports_something_else_and_accepting_it_moves_the_baseline()
    {
        var env = Unique("drift");
        await Declare($$"""
            {"name":"{{env}}","tier":"staging","dataClassification":"anonymised",
             "baseline":{"services":{"shop":{"version":"2.0.0","configHash":"{{ConfigA}}"} },"runtime":{"os-image":"ubuntu-24.04"} } }
            """);
        var hosts = await AddHosts(Grains, env, 3, currentVersion: "2.0.0");
        await Grains.GetGrain<IHostFactsGrain>(hosts[0]).Report(Facts("2.0.0"));
        await Grains.GetGrain<IHostFactsGrain>(hosts[1]).Report(Facts("2.0.1", osImage: "ubuntu-22.04"));

        // Nobody asks for a scan: the reminder finds it.
        var drift = await WaitForDrift(env, d => d.Drifted.Count == 1);
        var host = Assert.Single(drift.Drifted);
        Assert.Equal(hosts[1], host.HostId);
        Assert.Equal(["runtime.os-image: ubuntu-24.04 → ubuntu-22.04", "services.shop.version: 2.0.0 → 2.0.1"],
            host.Fields.Select(f => $"{f.Field}: {f.Expected} → {f.Actual}"));
        Assert.Equal([hosts[2]], drift.Unreported);
        var detected = (await History(Grains, GrainKeys.EnvironmentEvents(env), e => e.Any(x => x.Type == EventTypes.DriftDetected)))
            .First(e => e.Type == EventTypes.DriftDetected);
        Assert.Equal(hosts[1], detected.Data["hosts"]);
        Assert.Contains("services.shop.version 2.0.0 → 2.0.1", detected.Reason);

        // Accept: the drifted host's facts become the declared baseline, audited with who did it.
        var accepted = await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).AcceptDrift([hosts[1]], Alice with { Reason = "2.0.1 is the hotfix we keep" });
        Assert.True(accepted.Ok, accepted.Detail);
        Assert.Equal(["runtime.os-image", "services.shop.version"], accepted.Value!.Accepted.Select(a => a.Field));
        var declared = (await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).Get())!;
        Assert.Equal(2, declared.Version);
        Assert.Equal("2.0.1", declared.Declaration.Baseline.Services["shop"].Version);
        Assert.Equal("ubuntu-22.04", declared.Declaration.Baseline.Runtime["os-image"]);

        // Now the host that still runs the old baseline is the one that drifted.
        var after = await WaitForDrift(env, d => d.DeclarationVersion == 2);
        Assert.Equal([hosts[0]], after.Drifted.Select(d => d.HostId));
        var reconciled = (await History(Grains, GrainKeys.EnvironmentEvents(env), e => e.Any(x => x.Type == EventTypes.DriftReconciled)))
            .First(e => e.Type == EventTypes.DriftReconciled);
        Assert.Equal("alice", reconciled.Data["actor"]);
        Assert.Equal("accept", reconciled.Data["mode"]);
        Assert.Equal("2.0.1 is the hotfix we keep", reconciled.Reason);
    }

    [Fact]
    public async Task Two_hosts_that_disagree_cannot_both_be_accepted()
    {
        var env = Unique("drift-conflict");
        await Declare($$"""{"name":"{{env}}","tier":"development","dataClassification":"synthetic","baseline":{"services":{"shop":{"version":"2.0.0"} } } }""");
        var hosts = await AddHosts(Grains, env, 2, currentVersion: "2.0.0");
        await Grains.GetGrain<IHostFactsGrain>(hosts[0]).Report(Facts("2.0.1"));
        await Grains.GetGrain<IHostFactsGrain>(hosts[1]).Report(Facts("2.0.2"));

        var result = await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).AcceptDrift(null, Alice);

        Assert.Equal(ErrorKind.Conflict, result.Error);
        Assert.Contains("report different values for services.shop.version", result.Detail);
        Assert.Equal(1, (await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).Get())!.Version);
    }

    [Fact]
    public async Task A_release_reaches_production_only_after_staging_and_its_gates()
    {
        var staging = Unique("staging");
        var production = Unique("production");
        await Declare($$"""{"name":"{{staging}}","tier":"staging","dataClassification":"anonymised","dataSources":[{"name":"orders-anon","classification":"anonymised"}]}""");
        await Declare($$"""
            {"name":"{{production}}","tier":"production","after":"{{staging}}","gates":["security-scan","performance-test"],
             "dataSources":[{"name":"orders-prod-{{production}}","classification":"production"}]}
            """);
        await AddHosts(Grains, staging, 2);
        await AddHosts(Grains, production, 2);
        // Production is protected: the release names an approved change record, and needs an approval there.
        var change = Unique("CHG");
        var service = Unique("shop");
        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(change).Create(new ChangeRecordCommand
        {
            Title = "shop 2.0.0", State = "approved", Actor = "olga", Service = service, End = DateTimeOffset.UtcNow.AddDays(1),
        })).Ok);
        var release = Unique("rel");
        Assert.True((await Grains.GetGrain<IReleaseGrain>(release).Create(new ReleaseDraft
        {
            Service = service, Version = "2.0.0", Artifact = Digest("2.0.0"), SubmittedBy = "test-pipeline", ChangeRecord = change,
        })).Ok);

        var early = await Start(release, production);
        Assert.Equal(ErrorKind.PolicyRefused, early.Error);
        Assert.Contains($"release {release} has not succeeded in '{staging}' (promotion order: {staging} → {production})", early.Detail);
        Assert.Contains($"gate 'security-scan' has no passing result for '{staging}'", early.Detail);
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, production)).Get());

        var inStaging = await StartRollout(Grains, release, staging);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, inStaging.Id)).Status);
        var gates = Grains.GetGrain<IReleaseGatesGrain>(release);
        await gates.Record(new GateResult { Environment = staging, Gate = "performance-test", Status = GateStatus.Passed }, Alice);
        await gates.Record(new GateResult { Environment = staging, Gate = "security-scan", Status = GateStatus.Failed, Details = "CVE-2026-1 critical" }, Alice);

        var failedGate = await Start(release, production);
        Assert.DoesNotContain("has not succeeded", failedGate.Detail);
        Assert.Contains($"gate 'security-scan' failed for '{staging}'", failedGate.Detail);
        Assert.Contains("CVE-2026-1 critical", failedGate.Detail);
        Assert.DoesNotContain("performance-test", failedGate.Detail);

        await gates.Record(new GateResult { Environment = staging, Gate = "security-scan", Status = GateStatus.Passed }, Alice);
        var promoted = await Start(release, production);
        Assert.True(promoted.Ok, promoted.Detail);
        await WaitFor(Grains, promoted.Value!.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        Assert.True((await Grains.GetGrain<IReleaseGrain>(release).Vote(new ApprovalCommand { Environment = production, Approve = true, Actor = "bob", Role = "approver" })).Ok);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, promoted.Value!.Id)).Status);

        var recorded = await History(Grains, GrainKeys.EnvironmentEvents(staging), e => e.Count(x => x.Type == EventTypes.GateRecorded) == 3);
        Assert.All(recorded.Where(e => e.Type == EventTypes.GateRecorded), e => Assert.Equal(release, e.Data["release"]));
    }

    [Fact]
    public async Task A_non_production_environment_is_never_pointed_at_production_data()
    {
        var production = Unique("prod-data");
        var staging = Unique("stage-data");
        await Declare($$"""{"name":"{{production}}","tier":"production","dataSources":[{"name":"db-{{production}}","classification":"production"}]}""");
        await Declare($$"""{"name":"{{staging}}","tier":"staging","dataClassification":"synthetic","dataSources":[{"name":"db-{{staging}}","classification":"synthetic"}]}""");
        await AddHosts(Grains, staging, 1);

        var bad = Unique("rel");
        Assert.True((await Grains.GetGrain<IReleaseGrain>(bad).Create(new ReleaseDraft
        {
            Service = "shop", Version = "2.0.0", Artifact = Digest("2.0.0"), SubmittedBy = "ci",
            Metadata = new Dictionary<string, string> { [EnvironmentMetadataKeys.DataSourcesPrefix + staging] = $"db-{staging}, db-{production}" },
        })).Ok);
        var refused = await Start(bad, staging);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains($"points non-production environment '{staging}' (synthetic data) at data source 'db-{production}', classified production (declared by '{production}')", refused.Detail);

        var good = Unique("rel");
        Assert.True((await Grains.GetGrain<IReleaseGrain>(good).Create(new ReleaseDraft
        {
            Service = "shop", Version = "2.0.0", Artifact = Digest("2.0.0"), SubmittedBy = "ci",
            Metadata = new Dictionary<string, string> { [EnvironmentMetadataKeys.DataSourcesPrefix + staging] = $"db-{staging}" },
        })).Ok);
        Assert.True((await Start(good, staging)).Ok);
    }

    [Fact]
    public async Task An_expired_ephemeral_environment_is_torn_down_by_the_sweep_and_its_quota_holds_until_then()
    {
        var env = Unique("pr");
        var declared = await Declare($$"""
            {"name":"{{env}}","tier":"development","dataClassification":"synthetic","ephemeral":{"owner":"team-cart","ttl":"3s","hostQuota":2} }
            """);
        Assert.Equal(declared.CreatedAt + TimeSpan.FromSeconds(3), declared.ExpiresAt);
        var hosts = await AddHosts(Grains, env, 2);

        var third = await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts([new HostEnrollment
        {
            HostId = env + "-extra", Registration = new HostRegistration { Environment = env },
        }]);
        Assert.Equal(ErrorKind.PolicyRefused, third[0].Error);
        Assert.Equal($"environment '{env}' has a host quota of 2: it has 2 hosts, registering 1 more would make 3", third[0].Detail);
        Assert.Null(await Grains.GetGrain<IHostGrain>(env + "-extra").Get());

        // The sweep reminder (every second here) tears it down once the three seconds are over.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        EnvironmentDeclarationSnapshot? snapshot = null;
        while (DateTime.UtcNow < deadline && snapshot?.TornDownAt is null)
        {
            await Task.Delay(200);
            snapshot = await Grains.GetGrain<IEnvironmentDeclarationGrain>(env).Get();
        }

        Assert.NotNull(snapshot?.TornDownAt);
        Assert.True(snapshot!.TornDownAt >= declared.ExpiresAt);
        Assert.Contains("owned by team-cart expired", snapshot.TornDownReason);
        Assert.Empty(await Grains.GetGrain<IEnvironmentGrain>(env).GetHostIndex());
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(HostState.Retired, h.State));
        var tornDown = (await History(Grains, GrainKeys.EnvironmentEvents(env), e => e.Any(x => x.Type == EventTypes.EnvironmentTornDown)))
            .Single(e => e.Type == EventTypes.EnvironmentTornDown);
        Assert.Equal("ttl-sweep", tornDown.Data["actor"]);
        Assert.Equal("team-cart", tornDown.Data["owner"]);
        Assert.Equal("2", tornDown.Data["hosts"]);

        var release = await CreateRelease(Grains, "shop", "2.0.0");
        var refused = await Start(release, env);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains($"environment '{env}' was torn down", refused.Detail);
    }

    private Task<CommandResult<RolloutSnapshot>> Start(string release, string environment) =>
        Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, environment)).Start(new RolloutDraft
        {
            ReleaseId = release,
            Environment = environment,
            Strategy = new RolloutStrategySpec(),
            SubmittedBy = "test-pipeline",
        });
}
