using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Gates;

/// <summary>
/// Admission into a production environment that declares recovery objectives (<c>rollback.rto</c>): the rollout waits
/// until its service's rollback was drilled with the same strategy in the drill environment (<c>rollback.drillEnvironment</c>,
/// else the environment declared before it), recently enough (<c>rollback.drillFreshness</c>) and within the RTO
/// (<see cref="RollbackReadiness"/>). The reason names the call that clears it. A release of the emergency class
/// (<see cref="CoordinationOptions.EmergencyClass"/>, which the governance workflow already narrows and has the CAB
/// approve) passes, and the waiver is written to the audit trail once per rollout with the missing drill as its reason.
/// </summary>
public sealed class RollbackReadinessGate(IGrainFactory grains, IOptions<CoordinationOptions> options) : IRolloutGate
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(15);

    public string Name => "rollback-readiness";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Admission };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var declared = await grains.Ref<IEnvironmentDeclarationGrain>(context.Environment).Get();
        if (declared?.Declaration is not { Tier: EnvironmentTier.Production, Rollback: { RtoSeconds.Count: > 0 } rollback } declaration
            || GrainKeys.IsDrillRelease(context.Release.Id)
            || StrategySpecParser.Parse(context.Strategy.ToInput()).Value is not { } spec)
        {
            return GateDecision.Pass(Name);
        }

        var where = rollback.DrillEnvironment ?? declaration.After;
        var objectives = new RecoveryObjectives(
            Objectives(rollback), where, TimeSpan.FromSeconds(rollback.DrillFreshnessSeconds));
        var drills = where is null ? [] : await grains.Ref<IRollbackDrillsGrain>(where).List();
        var results = drills
            .Where(d => d.Status is DrillStatus.Succeeded or DrillStatus.Failed && d.FinishedAt is not null && KindOf(d.Strategy) is not null)
            .Select(d => new DrillResult(d.Service, KindOf(d.Strategy)!.Value, d.FinishedAt!.Value, d.Status == DrillStatus.Succeeded,
                d.TimeToSafeSeconds is { } s ? TimeSpan.FromSeconds(s) : null));
        var readiness = RollbackReadiness.Check(context.Release.Service, spec.Kind, objectives, results, context.Now);
        if (readiness.Ready)
        {
            return GateDecision.Pass(Name);
        }

        if (string.Equals(context.Release.Class, options.Value.EmergencyClass, StringComparison.OrdinalIgnoreCase))
        {
            await grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog).Record(new EngineEvent
            {
                // One entry per rollout however often the gate is asked.
                Id = "drill-waived/" + context.RolloutId,
                Type = EventTypes.RollbackDrillWaived,
                Subject = "rollout/" + context.RolloutId,
                Timestamp = context.Now,
                Reason = $"emergency release: admitted without a rollback drill ({readiness.Reason})",
                Data = new Dictionary<string, string>
                {
                    [AuditFields.Actor] = context.SubmittedBy,
                    ["release"] = context.Release.Id,
                    ["environment"] = context.Environment,
                    ["artifact"] = context.Release.Artifact,
                },
            });
            return GateDecision.Pass(Name);
        }

        return new GateDecision(GateVerdict.Wait, Name, readiness.Reason, context.Now + Recheck);
    }

    private static Dictionary<StrategyKind, TimeSpan> Objectives(RollbackObjectivesSpec rollback) =>
        rollback.RtoSeconds
            .Where(r => KindOf(r.Key) is not null)
            .ToDictionary(r => KindOf(r.Key)!.Value, r => TimeSpan.FromSeconds(r.Value));

    private static StrategyKind? KindOf(string name) => name switch
    {
        "rolling" => StrategyKind.Rolling,
        "canary" => StrategyKind.Canary,
        "blueGreen" => StrategyKind.BlueGreen,
        "immutable" => StrategyKind.Immutable,
        _ => null,
    };
}
