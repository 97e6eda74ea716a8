using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>
/// Expand/contract in the cluster (issue 15): a contract release is refused, with nothing stored, while an environment or
/// a host still runs a version of its service that needs the schema it drops; a contract with no expand before it needs
/// the major class.
/// </summary>
[Collection(ClusterCollection.Name)]
public class SchemaGateTests(ClusterFixture fixture)
{
    private static readonly RolloutStrategySpec AllAtOnce = new() { Preset = "AllAtOnce" };

    /// <summary>The gate looks at every environment: a service of this test's own keeps other tests out of it.</summary>
    private readonly string _service = Unique("orders");

    private IGrainFactory Grains => fixture.Grains;

    private async Task<string> Release(string version, string phase, int requires, int? drops = null, string releaseClass = "standard")
    {
        var id = Unique("rel");
        var created = await Grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = _service,
            Version = version,
            Artifact = Digest(version),
            SubmittedBy = "test-pipeline",
            Class = releaseClass,
            Schema = new ReleaseSchema { Phase = phase, Requires = requires, Drops = drops },
        });
        Assert.True(created.Ok, created.Detail);
        return id;
    }

    private async Task Deploy(string release, string env) =>
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, (await StartRollout(Grains, release, env, AllAtOnce)).Id)).Status);

    private Task<CommandResult<RolloutSnapshot>> Submit(string release, string env) =>
        Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, env)).Start(new RolloutDraft
        {
            ReleaseId = release, Environment = env, Strategy = AllAtOnce, SubmittedBy = "test-pipeline",
        });

    [Fact]
    public async Task A_contract_waits_until_no_environment_or_host_needs_the_old_schema()
    {
        var staging = Unique("schema-stg");
        var production = Unique("schema-prd");
        await CreateEnvironment(Grains, staging, 2, latencyMs: 2);
        await CreateEnvironment(Grains, production, 2, latencyMs: 2);
        var v2 = await Release("2.0.0", "expand", 2);
        await Deploy(v2, staging);
        await Deploy(v2, production);
        var v3 = await Release("3.0.0", "expand", 3);
        await Deploy(v3, staging);

        // Production still runs 2.0.0, which needs schema v2: the contract that drops v2 is refused and nothing is stored.
        var contract = await Release("4.0.0", "contract", 3, drops: 2);
        var refused = await Submit(contract, staging);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains($"{production} runs 2.0.0, which needs schema v2 (the contract drops v2)", refused.Detail);
        Assert.Contains($"{production}/{production}-0001 runs 2.0.0", refused.Detail);
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(contract, staging)).Get());

        // Production moves to 3.0.0, but a host registered running 1.5.0 of the service (a version no environment records) remains.
        await Deploy(v3, production);
        var stray = production + "-stray";
        Assert.All(await Grains.GetGrain<IEnvironmentGrain>(production).RegisterHosts([new HostEnrollment
        {
            HostId = stray,
            Registration = new HostRegistration
            {
                Environment = production,
                Labels = new Dictionary<string, string> { ["role"] = "stray" },
                Services = new Dictionary<string, ServiceArtifact> { [_service] = new() { Artifact = Digest("1.5.0"), Version = "1.5.0" } },
            },
        }]), r => Assert.True(r.Ok, r.Detail));
        var strayRefused = await Submit(contract, staging);
        Assert.Equal(ErrorKind.PolicyRefused, strayRefused.Error);
        Assert.Contains($"{production}/{stray} runs 1.5.0, which declares no schema", strayRefused.Detail);
        Assert.DoesNotContain("2.0.0", strayRefused.Detail);

        // Once the stray host leaves the environment, nothing needs v2 any more: the contract goes.
        await Grains.GetGrain<IEnvironmentGrain>(production).RemoveHosts([stray]);
        await Deploy(contract, staging);
    }

    [Fact]
    public async Task A_contract_without_a_preceding_expand_is_a_breaking_change_that_needs_the_major_class()
    {
        var env = Unique("schema-brk");
        await CreateEnvironment(Grains, env, 2, latencyMs: 2);
        await Deploy(await Release("2.0.0", "migrate", 2), env);

        // Straight from v2 to a contract on v3 that drops v1: no expand to v3 came first.
        var standard = await Release("3.0.0", "contract", 3, drops: 1);
        var refused = await Submit(standard, env);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains("contract to schema v3 without a preceding expand (the environment runs schema v2): a breaking change needs the major release class", refused.Detail);

        // The same contract as a major release passes the schema gate (the major workflow's own gates then apply: a
        // change record, approvals, a readiness review).
        var record = Unique("CHG");
        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(record).Create(new ChangeRecordCommand { Title = "contract v3", State = "approved", Actor = "olga", Service = _service, End = DateTimeOffset.UtcNow.AddDays(1) })).Ok);
        var major = Unique("rel");
        Assert.True((await Grains.GetGrain<IReleaseGrain>(major).Create(new ReleaseDraft
        {
            Service = _service, Version = "3.0.0", Artifact = Digest("3.0.0"), SubmittedBy = "test-pipeline", Class = "major", ChangeRecord = record,
            Schema = new ReleaseSchema { Phase = "contract", Requires = 3, Drops = 1 },
        })).Ok);
        var accepted = await Submit(major, env);
        Assert.True(accepted.Ok, accepted.Detail);
    }
}
