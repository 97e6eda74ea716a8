using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;

namespace Deploy.Engine.Grains.Tests.Governance;

/// <summary>
/// The fleet-wide budget configured on the test silo: at most <see cref="ClusterFixture.BudgetMaxHosts"/> hosts
/// labelled region=<see cref="ClusterFixture.BudgetRegion"/> changing at once, across environments and releases.
/// </summary>
[Collection(ClusterCollection.Name)]
public class BlastRadiusBudgetTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Many_concurrent_rollouts_in_one_region_never_exceed_the_budget_by_the_event_history()
    {
        var labels = new Dictionary<string, string> { ["region"] = ClusterFixture.BudgetRegion };
        var rollouts = new List<(string Release, string Environment)>();
        for (var i = 0; i < 5; i++)
        {
            var env = Fleet.Unique("budget");
            await Fleet.CreateEnvironment(fixture.Grains, env, hosts: 8, latencyMs: 120, labels: labels);
            var release = await Fleet.CreateRelease(fixture.Grains, "shop", "2.0.0");
            rollouts.Add((release, env));
        }

        // Batches of 2: three rollouts' steps (6 hosts) would exceed the budget of 5.
        await Task.WhenAll(rollouts.Select(r =>
            Fleet.StartRollout(fixture.Grains, r.Release, r.Environment, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "2" })));
        var ids = rollouts.Select(r => GrainKeys.Rollout(r.Release, r.Environment)).ToList();

        var finals = await Task.WhenAll(ids.Select(id => Fleet.WaitFor(fixture.Grains, id, timeout: TimeSpan.FromSeconds(90))));
        Assert.All(finals, r => Assert.Equal(RolloutStatus.Succeeded, r.Status));
        Assert.Contains(finals, r => r.Decisions.Any(d => d.Reason.Contains($"region={ClusterFixture.BudgetRegion}: ", StringComparison.Ordinal)
            && d.Reason.Contains($"of {ClusterFixture.BudgetMaxHosts} hosts changing (budget {ClusterFixture.BudgetMaxHosts} hosts)", StringComparison.Ordinal)));

        var histories = await Task.WhenAll(ids.Select(id => Fleet.History(fixture.Grains, GrainKeys.RolloutEvents(id),
            e => e.Any(x => x.Type == EventTypes.PipelineRunFinished))));
        var (max, _) = BlastRadiusChecker.MaxHostsChanging(histories);
        Assert.InRange(max, 3, ClusterFixture.BudgetMaxHosts);

        // Every lease was given back once the rollouts ended (or is freed as soon as someone needs it).
        var leases = await fixture.Grains.GetGrain<IBlastRadiusGrain>($"region={ClusterFixture.BudgetRegion}").Get();
        Assert.All(leases.Leases, l => Assert.Contains(l.RolloutId, ids));
    }
}
