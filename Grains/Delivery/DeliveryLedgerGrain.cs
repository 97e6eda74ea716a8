using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Delivery;

[GenerateSerializer]
[Alias("DeliveryLedgerState")]
public sealed class DeliveryLedgerState
{
    [Id(0)] public List<DeliveryDeployment> Deployments { get; set; } = [];

    [Id(1)] public List<DeliveryIncident> Incidents { get; set; } = [];

    /// <summary>The service catalog knows this ledger's service.</summary>
    [Id(2)] public bool Catalogued { get; set; }

    [Id(3)] public List<DeliveryGateRun> GateRuns { get; set; } = [];
}

/// <summary>
/// One service's DORA records (or, under <see cref="GrainKeys.IncidentLedger"/>, the incidents). One grain per service
/// keeps each write small and spreads them; a query reads the services it covers. Bounded: records that ended more than
/// <see cref="Retention"/> ago are dropped on the next write, and at most <see cref="MaxRecords"/> of each kind are kept
/// (the oldest go first), so a ledger stays a few hundred KB at most.
/// </summary>
public sealed class DeliveryLedgerGrain(
    [PersistentState("delivery", Stores.Blob)] IPersistentState<DeliveryLedgerState> state,
    TimeProvider clock) : Grain, IDeliveryLedgerGrain
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(400);

    public const int MaxRecords = 2000;

    public async Task RecordDeployment(DeliveryDeployment deployment)
    {
        var list = state.State.Deployments;
        var index = list.FindIndex(d => d.RolloutId == deployment.RolloutId);
        var merged = index < 0 ? deployment : deployment with
        {
            // A rollout that succeeded and was rolled back later keeps when it succeeded, and when it started.
            SucceededAt = deployment.SucceededAt ?? list[index].SucceededAt,
            StartedAt = deployment.StartedAt ?? list[index].StartedAt,
        };
        if (index >= 0 && list[index] == merged && state.State.Catalogued)
        {
            return;
        }

        if (index < 0) list.Add(merged);
        else list[index] = merged;
        var cutoff = clock.GetUtcNow() - Retention;
        list.RemoveAll(d => d.FinishedAt < cutoff);
        if (list.Count > MaxRecords) list.RemoveRange(0, list.Count - MaxRecords);

        if (!state.State.Catalogued)
        {
            await GrainFactory.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).Add(deployment.Service);
            state.State.Catalogued = true;
        }

        await state.WriteStateAsync();
    }

    public async Task RecordIncident(DeliveryIncident incident)
    {
        var list = state.State.Incidents;
        var index = list.FindIndex(i => i.Id == incident.Id);
        var merged = index < 0 ? incident : incident with { ResolvedAt = incident.ResolvedAt ?? list[index].ResolvedAt };
        if (index >= 0 && list[index] == merged)
        {
            return;
        }

        if (index < 0) list.Add(merged);
        else list[index] = merged;
        var cutoff = clock.GetUtcNow() - Retention;
        list.RemoveAll(i => (i.ResolvedAt ?? DateTimeOffset.MaxValue) < cutoff);
        if (list.Count > MaxRecords) list.RemoveRange(0, list.Count - MaxRecords);
        await state.WriteStateAsync();
    }

    public async Task RecordGateRun(DeliveryGateRun run)
    {
        var list = state.State.GateRuns;
        if (list.Any(r => r.EventId == run.EventId))
        {
            return;
        }

        list.Add(run);
        var cutoff = clock.GetUtcNow() - Retention;
        list.RemoveAll(r => r.At < cutoff);
        if (list.Count > MaxRecords) list.RemoveRange(0, list.Count - MaxRecords);
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<DeliveryLedgerSnapshot> Read() => Task.FromResult(new DeliveryLedgerSnapshot
    {
        Deployments = state.State.Deployments.ToList(),
        Incidents = state.State.Incidents.ToList(),
        GateRuns = state.State.GateRuns.ToList(),
    });
}
