using Deploy.Engine.Domain.Schema;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Gates;

/// <summary>
/// Expand/contract (<see cref="SchemaRules"/>), at submit (422, nothing stored) and admission (the rollout is aborted
/// before any host moves): a contract release is refused while any environment records, or any host runs, a version of
/// its service that needs the schema it drops; and a contract whose new schema was not expanded first in the target
/// environment needs the major class. Only releases that declare a contract are checked, so the scan of every
/// environment and its hosts is paid for those alone. A host's version is matched to a release through the
/// environments' records; a version nobody records has an unknown schema and counts as needing the old one.
/// </summary>
public sealed class SchemaGate(IGrainFactory grains) : IRolloutGate
{
    public string Name => "schema";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit, GatePoint.Admission };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        if (context.Release.Schema?.ToDomain() is not { Phase: SchemaPhase.Contract } schema)
        {
            return GateDecision.Pass(Name);
        }

        var service = context.Release.Service;
        var names = await grains.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).List();
        var recorded = new List<(string Environment, DeployedVersion Deployed, int? Requires)>();
        foreach (var name in names)
        {
            if ((await grains.Ref<IEnvironmentGrain>(name).Get())?.Services.GetValueOrDefault(service) is { } deployed)
            {
                var requires = deployed.ReleaseId == context.Release.Id
                    ? schema.Requires
                    : (await grains.Ref<IReleaseGrain>(deployed.ReleaseId).Get())?.Schema?.Requires;
                recorded.Add((name, deployed, requires));
            }
        }

        // What each known version needs, from the releases the environments record (this release's own version needs its own).
        var byVersion = recorded.GroupBy(r => r.Deployed.Version, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Requires).Min(), StringComparer.Ordinal);
        byVersion[context.Release.Version] = schema.Requires;

        var running = recorded
            .Where(r => r.Deployed.Version != context.Release.Version)
            .Select(r => new RunningVersion(r.Environment, r.Deployed.Version, r.Requires))
            .ToList();
        foreach (var name in names)
        {
            var index = await grains.Ref<IEnvironmentGrain>(name).GetHostIndex();
            var hosts = await Task.WhenAll(index.Select(h => grains.Ref<IHostGrain>(h.HostId).Get()));
            foreach (var host in hosts.OfType<HostSnapshot>())
            {
                if (host.Services.GetValueOrDefault(service)?.CurrentVersion is { } version && version != context.Release.Version)
                {
                    running.Add(new RunningVersion($"{name}/{host.Id}", version, byVersion.GetValueOrDefault(version)));
                }
            }
        }

        var reasons = SchemaRules.ContractBlockers(schema, running).Take(10).ToList();
        var target = recorded.FirstOrDefault(r => r.Environment == context.Environment);
        if (SchemaRules.BreakingWithoutExpand(schema, target.Deployed is null ? null : target.Requires, context.Release.Class) is { } breaking)
        {
            reasons.Insert(0, breaking);
        }

        return reasons.Count == 0 ? GateDecision.Pass(Name) : new GateDecision(GateVerdict.Refuse, Name, string.Join("; ", reasons));
    }
}
