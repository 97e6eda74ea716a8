using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Service dependencies, at admission: a release whose service depends on services not running in the target
/// environment in the declared semver range waits (Queued with the reason) until they are — so releases submitted
/// out of order roll out in order — or is refused when the service declared <c>onUnmet: refuse</c>.
/// </summary>
public sealed class DependencyGate(IGrainFactory grains) : IRolloutGate
{
    public string Name => "dependencies";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Admission };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var declared = await grains.Ref<IServiceDependenciesGrain>(context.Release.Service).Get();
        var dependsOn = declared.For(context.Environment);
        if (dependsOn.Count == 0) return GateDecision.Pass(Name);

        var environment = await grains.Ref<IEnvironmentGrain>(context.Environment).Get();
        var deployed = (environment?.Services ?? new Dictionary<string, DeployedVersion>())
            .ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal);
        var unmet = DependencyRules.Unmet(dependsOn.Select(d => new ServiceDependency(d.Service, d.Range)), deployed, context.Environment);
        if (unmet.Count == 0) return GateDecision.Pass(Name);

        var reason = string.Join("; ", unmet.Select(u => u.Reason));
        if (string.Equals(declared.OnUnmet, "refuse", StringComparison.OrdinalIgnoreCase))
        {
            return new GateDecision(GateVerdict.Refuse, Name, reason + $"; {context.Release.Service} refuses to deploy before its dependencies: deploy them first, then submit again");
        }

        await grains.Ref<IEnvironmentCalendarGrain>(context.Environment).NoteHeld(context.RolloutId);
        return new GateDecision(GateVerdict.Wait, Name, reason + "; waiting until they are deployed");
    }
}
