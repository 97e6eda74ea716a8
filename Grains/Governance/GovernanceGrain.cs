using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

/// <summary>The governance view for the API: the same evaluation the gates make, read-only, on any silo.</summary>
[StatelessWorker]
public sealed class GovernanceGrain(GovernanceEvaluator governance, TimeProvider clock) : Grain, IGovernanceGrain
{
    public async Task<GovernanceSnapshot?> Evaluate(string releaseId, string environment)
    {
        var release = await GrainFactory.Ref<IReleaseGrain>(releaseId).Get();
        if (release is null) return null;

        // The rollout's own selector when one exists in that environment: the share of hosts it changes.
        var rollout = await GrainFactory.Ref<IRolloutGrain>(GrainKeys.Rollout(releaseId, environment)).Get();
        return await governance.Snapshot(release, environment, rollout?.Selector ?? new Dictionary<string, string>(), clock.GetUtcNow());
    }

    public async Task<ApprovalWaitView?> WaitingFor(string releaseId, string environment, string actor)
    {
        var release = await GrainFactory.Ref<IReleaseGrain>(releaseId).Get();
        if (release is null) return null;

        var rollout = await GrainFactory.Ref<IRolloutGrain>(GrainKeys.Rollout(releaseId, environment)).Get();
        var selector = rollout?.Selector ?? new Dictionary<string, string>();
        var now = clock.GetUtcNow();
        var assessment = await governance.Assess(release, environment, selector, now);
        var wait = governance.WaitsFor(release, environment, assessment, actor, now);
        return new ApprovalWaitView
        {
            Waits = wait.Waits,
            Reason = wait.Reason,
            Governance = await governance.Snapshot(release, environment, selector, now),
        };
    }

    public Task<IReadOnlyList<string>> ReadinessItems() => governance.ReadinessItems();

    public Task<bool> IsProtected(string environment) => governance.IsProtected(environment);
}
