using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Environments;

/// <summary>
/// What a declared environment demands of a release before a rollout is accepted (asked at submit: a refusal is a
/// 422 naming every missing item, and nothing is stored):
/// <list type="bullet">
/// <item>the environment is not torn down;</item>
/// <item>promotion order: the release's rollout in the environment declared before it (<c>after</c>) succeeded;</item>
/// <item>every gate the environment declares has a passing latest result (see <see cref="PromotionRules"/>);</item>
/// <item>isolation: for a non-production target, the data sources the release names for it
/// (release metadata <c>dataSources.{environment}</c>, comma-separated) are declared and none is production data.</item>
/// </list>
/// A release the engine's drift reconcile made to re-apply another (<see cref="ReleaseSnapshot.ReconcileOf"/>, with the
/// same service, version, artifact and commit) is checked as that release; a submitted release naming one in its
/// metadata (<c>reconciles</c>) is refused at submit and never checked as another. Undeclared environments have no such rules.
/// </summary>
public sealed class PromotionGate(IGrainFactory grains) : IRolloutGate
{
    private static readonly IReadOnlySet<GatePoint> SubmitOnly = new HashSet<GatePoint> { GatePoint.Submit };

    public string Name => "promotion";

    public IReadOnlySet<GatePoint> Points => SubmitOnly;

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var declared = await grains.Ref<IEnvironmentDeclarationGrain>(context.Environment).Get();
        if (declared is null)
        {
            return GateDecision.Pass(Name);
        }

        if (declared.TornDownAt is { } tornDown)
        {
            return Refuse($"environment '{context.Environment}' was torn down at {tornDown:u} ({declared.TornDownReason}); declare it again to use it");
        }

        var declaration = declared.Declaration;
        var release = await AsChecked(context.Release);
        var missing = new List<string>();

        var succeeded = declaration.After is { } after
            && (await grains.Ref<IRolloutGrain>(GrainKeys.Rollout(release.Id, after)).Get())?.Status == RolloutStatus.Succeeded;
        if (declaration.After is not null || declaration.Gates.Count > 0)
        {
            var order = await Order(context.Environment, declaration.After);
            var where = declaration.After ?? context.Environment;
            var latest = (await grains.Ref<IReleaseGatesGrain>(release.Id).List())
                .Where(r => r.Environment == where)
                .GroupBy(r => r.Gate, StringComparer.Ordinal)
                .Select(g => g.Last())
                .ToDictionary(r => r.Gate, r => new GateOutcome(r.Gate, r.Status == GateStatus.Passed, r.RecordedAt, r.Details), StringComparer.Ordinal);
            missing.AddRange(PromotionRules.Missing(release.Id, context.Environment, declaration.After, order, succeeded, declaration.Gates, latest));
        }

        if (declaration.Tier != EnvironmentTier.Production
            && context.Release.Metadata.TryGetValue(EnvironmentMetadataKeys.DataSourcesPrefix + context.Environment, out var named))
        {
            var sources = named.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            missing.AddRange(IsolationRules.Violations(context.Release.Id, context.Environment, false,
                declaration.DataClassification.ToDomain(), sources, await Catalogue()));
        }

        return missing.Count == 0 ? GateDecision.Pass(Name) : Refuse(string.Join("; ", missing));
    }

    private GateDecision Refuse(string reason) => new(GateVerdict.Refuse, Name, reason);

    /// <summary>The release whose promotion history counts: a reconcile release counts as the release it re-applies.</summary>
    private async Task<ReleaseSnapshot> AsChecked(ReleaseSnapshot release)
    {
        // Only the engine sets ReconcileOf; a release's metadata (which any submitter writes) is never trusted for this.
        if (release.ReconcileOf is not { } originalId || await grains.Ref<IReleaseGrain>(originalId).Get() is not { } original)
        {
            return release;
        }

        return original.Service == release.Service && original.Version == release.Version && original.Artifact == release.Artifact
            && original.Commit == release.Commit
            ? original
            : release;
    }

    private async Task<IReadOnlyList<string>> Order(string target, string? after)
    {
        var afters = new Dictionary<string, string?>(StringComparer.Ordinal) { [target] = after };
        for (var next = after; next is not null && !afters.ContainsKey(next) && afters.Count < 32;)
        {
            var before = (await grains.Ref<IEnvironmentDeclarationGrain>(next).Get())?.Declaration.After;
            afters[next] = before;
            next = before;
        }

        return PromotionRules.Order(target, name => afters.GetValueOrDefault(name));
    }

    /// <summary>Every data source any declared environment names, with its classification.</summary>
    private async Task<IReadOnlyDictionary<string, DeclaredDataSource>> Catalogue()
    {
        var names = await grains.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).List();
        var declarations = await Task.WhenAll(names.Select(n => grains.Ref<IEnvironmentDeclarationGrain>(n).Get()));
        var catalogue = new Dictionary<string, DeclaredDataSource>(StringComparer.Ordinal);
        foreach (var declared in declarations.OfType<EnvironmentDeclarationSnapshot>().Where(d => d.TornDownAt is null))
        {
            foreach (var source in declared.Declaration.DataSources)
            {
                // A name declared production anywhere is production data, whoever else names it.
                if (!catalogue.ContainsKey(source.Name) || source.Classification == DataClassification.Production)
                {
                    catalogue[source.Name] = new DeclaredDataSource(source.Name, source.Classification.ToDomain(), declared.Declaration.Name);
                }
            }
        }

        return catalogue;
    }
}
