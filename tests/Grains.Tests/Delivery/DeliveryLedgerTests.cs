using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;

namespace Deploy.Engine.Grains.Tests.Delivery;

/// <summary>The DORA ledger, fed by the event stream of real rollouts on the test cluster.</summary>
[Collection(ClusterCollection.Name)]
public class DeliveryLedgerTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private async Task<DeliveryDeployment> Recorded(string service, string rolloutId, Func<DeliveryDeployment, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        DeliveryDeployment? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var ledger = await Grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(service)).Read();
            last = ledger.Deployments.SingleOrDefault(d => d.RolloutId == rolloutId);
            if (last is not null && until(last)) return last;
            await Task.Delay(50);
        }

        Assert.Fail($"the ledger did not record {rolloutId} as expected; last: {last}");
        return last!;
    }

    [Fact]
    public async Task A_rollout_rolled_back_after_it_succeeded_stays_a_deployment_and_becomes_a_failure_with_its_waits()
    {
        var env = Fleet.Unique("dora");
        var service = Fleet.Unique("svc");
        await Fleet.CreateEnvironment(Grains, env, hosts: 3);
        var release = await Fleet.CreateRelease(Grains, service, "2.0.0");
        var rollout = await Fleet.StartRollout(Grains, release, env, new RolloutStrategySpec { MaxSurge = "0", MaxUnavailable = "1" });
        await Fleet.WaitFor(Grains, rollout.Id, r => r.Status == RolloutStatus.Succeeded);

        var succeeded = await Recorded(service, rollout.Id, d => d.Outcome == DeploymentOutcome.Succeeded);
        Assert.Equal((release, env), (succeeded.ReleaseId, succeeded.Environment));
        Assert.NotNull(succeeded.SucceededAt);
        Assert.NotNull(succeeded.StartedAt);
        Assert.True(succeeded.Waits[WaitKind.Hosts] > 0);
        Assert.Equal(succeeded.SucceededAt!.Value, succeeded.FinishedAt);
        Assert.Contains(await Grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List(), s => s.Service == service);

        var rollback = await Grains.GetGrain<IRolloutGrain>(rollout.Id).Rollback(new OperatorAction { Actor = "ops", Reason = "errors after release" });
        Assert.True(rollback.Ok, rollback.Detail);
        await Fleet.WaitFor(Grains, rollout.Id, r => r.Status == RolloutStatus.RolledBack);

        var rolledBack = await Recorded(service, rollout.Id, d => d.Outcome == DeploymentOutcome.RolledBack);
        Assert.Equal(succeeded.SucceededAt, rolledBack.SucceededAt);                 // it did reach production
        Assert.True(rolledBack.FinishedAt > rolledBack.SucceededAt);
        var figures = DoraCalculator.Compute([rolledBack.ToDomain()], [], new DoraScope(new HashSet<string> { env }),
            rolledBack.FinishedAt.AddDays(-1), rolledBack.FinishedAt);
        Assert.Equal((1, 1, 1), (figures.DeploymentFrequency.Deployments, figures.ChangeFailureRate.Deployments, figures.ChangeFailureRate.RolledBack));

        // One record per rollout, however often the events are delivered.
        var ledger = await Grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(service)).Read();
        Assert.Single(ledger.Deployments);
    }

    [Fact]
    public async Task Incidents_are_recorded_declared_then_resolved()
    {
        var id = Fleet.Unique("inc");
        var actor = new GovernanceActor { Name = "ops", Role = "operator" };
        var incidents = Grains.Ref<IIncidentsGrain>(GrainKeys.Incidents);
        Assert.True((await incidents.Declare(new IncidentRecord { Id = id, Service = "shop", Title = "errors", Severity = "sev2", DeclaredBy = "ops", ReleaseId = "rel-x" }, actor)).Ok);
        Assert.True((await incidents.Resolve(id, actor)).Ok);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        DeliveryIncident? recorded = null;
        while (DateTime.UtcNow < deadline && recorded?.ResolvedAt is null)
        {
            recorded = (await Grains.Ref<IDeliveryLedgerGrain>(GrainKeys.IncidentLedger).Read()).Incidents.SingleOrDefault(i => i.Id == id);
            await Task.Delay(50);
        }

        Assert.NotNull(recorded?.ResolvedAt);
        Assert.Equal(("shop", "rel-x"), (recorded!.Service, recorded.ReleaseId));
        Assert.True(recorded.ResolvedAt >= recorded.DeclaredAt);
    }
}
