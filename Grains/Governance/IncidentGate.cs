using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Incident halt: while an active incident covers the rollout's environment and service, a new rollout waits
/// (Queued) and a running one pauses at its next step boundary; both go on by themselves once it is resolved.
/// Releases of the emergency workflow (class <see cref="CoordinationOptions.EmergencyClass"/>) pass.
/// </summary>
public sealed class IncidentGate(IGrainFactory grains, IOptions<CoordinationOptions> options) : IRolloutGate
{
    public string Name => "incident";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Admission, GatePoint.StepBoundary };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var active = await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Active();
        if (active.Count == 0) return GateDecision.Pass(Name);

        // The emergency workflow: the release's class (POST /v1/releases {class: "emergency"}), or, for releases
        // submitted before classes existed, metadata "class".
        var emergency = string.Equals(context.Release.Class, options.Value.EmergencyClass, StringComparison.OrdinalIgnoreCase)
            || (context.Release.Metadata.TryGetValue("class", out var cls)
                && string.Equals(cls, options.Value.EmergencyClass, StringComparison.OrdinalIgnoreCase));
        var holding = IncidentRules.Holding(active.Select(i => i.ToDomain()), context.Environment, context.Release.Service, emergency);
        if (holding.Count == 0) return GateDecision.Pass(Name);

        await grains.Ref<IEnvironmentCalendarGrain>(context.Environment).NoteHeld(context.RolloutId);
        return new GateDecision(GateVerdict.Wait, Name, IncidentRules.Reason(holding));
    }
}
