using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>The gate seam every governance and supply-chain policy plugs into, driven by a scripted gate.</summary>
[Collection(ClusterCollection.Name)]
public class GateTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_refusal_at_submit_is_a_policy_refusal_and_stores_nothing()
    {
        var env = Unique("gate-submit");
        await CreateEnvironment(Grains, env, 2);
        var release = await CreateRelease(Grains, "svc", "2.0.0");
        ScriptedGate.Set(env, GatePoint.Submit, GateVerdict.Refuse, "change record CHG-9 is not approved");

        var id = GrainKeys.Rollout(release, env);
        var result = await Grains.GetGrain<IRolloutGrain>(id).Start(new RolloutDraft
        {
            ReleaseId = release, Environment = env, Strategy = new RolloutStrategySpec(), SubmittedBy = "ci",
        });

        Assert.False(result.Ok);
        Assert.Equal(ErrorKind.PolicyRefused, result.Error);
        Assert.Contains("scripted: change record CHG-9 is not approved", result.Detail);
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(id).Get());
    }

    [Fact]
    public async Task Admission_waits_with_the_reason_shows_awaiting_approval_and_runs_once_the_gate_passes()
    {
        var env = Unique("gate-admit");
        var hosts = await CreateEnvironment(Grains, env, 3);
        var release = await CreateRelease(Grains, "svc", "2.0.0");
        ScriptedGate.Set(env, GatePoint.Admission, GateVerdict.Wait, "freeze 'black-friday' until Monday");

        var started = await StartRollout(Grains, release, env);
        Assert.Equal(RolloutStatus.Queued, started.Status);
        Assert.Contains("freeze 'black-friday'", started.HeldBy);

        ScriptedGate.Set(env, GatePoint.Admission, GateVerdict.AwaitApproval, "needs 1 approval from group cab");
        var awaiting = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        Assert.Contains("needs 1 approval", awaiting.StatusReason);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));

        ScriptedGate.Clear(env, GatePoint.Admission);
        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Null(done.HeldBy);
    }

    [Fact]
    public async Task A_refusal_while_waiting_aborts_the_rollout_without_touching_a_host()
    {
        var env = Unique("gate-reject");
        var hosts = await CreateEnvironment(Grains, env, 2);
        var release = await CreateRelease(Grains, "svc", "2.0.0");
        ScriptedGate.Set(env, GatePoint.Admission, GateVerdict.AwaitApproval, "needs 1 approval");
        var started = await StartRollout(Grains, release, env);

        ScriptedGate.Set(env, GatePoint.Admission, GateVerdict.Refuse, "rejected by alice: not during the migration");
        var done = await WaitFor(Grains, started.Id);

        Assert.Equal(RolloutStatus.Aborted, done.Status);
        Assert.Contains("rejected by alice", done.StatusReason);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));
    }

    [Fact]
    public async Task A_gate_holds_a_running_rollout_at_the_next_step_boundary_and_it_resumes_by_itself()
    {
        var env = Unique("gate-step");
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 150);
        var release = await CreateRelease(Grains, "svc", "2.0.0");
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });

        // Hold once the first batch is under way: the batch in flight finishes, the next one does not start.
        await WaitFor(Grains, started.Id, r => r.CurrentBatch >= 1);
        ScriptedGate.Set(env, GatePoint.StepBoundary, GateVerdict.Wait, "incident INC-7 is active in " + env);
        var held = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Paused);
        Assert.Contains("incident INC-7", held.HeldBy);
        Assert.Contains("held before step", held.StatusReason);

        // Still held a while later, and no host beyond the batches already started changed.
        await Task.Delay(1500);
        var still = await Grains.GetGrain<IRolloutGrain>(started.Id).Get();
        Assert.Equal(RolloutStatus.Paused, still!.Status);
        Assert.Equal(held.CurrentBatch, still.CurrentBatch);
        Assert.Equal(held.CurrentBatch, (await HostsOf(Grains, hosts)).Count(h => h.CurrentVersion == "2.0.0"));

        ScriptedGate.Clear(env, GatePoint.StepBoundary);
        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Contains(done.Decisions, d => d.Kind == "resumed" && d.Reason.Contains("incident INC-7"));
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("2.0.0", h.CurrentVersion));
    }
}
