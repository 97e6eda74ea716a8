using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Fleet-wide blast-radius budgets, before each step: the hosts the next step changes that fall in a budget's scope
/// are leased from that scope's one grain (replacing the rollout's previous lease there). When they do not fit the
/// rollout waits — paused with the reason, never failed — and asks again at the next reconcile. Leases of rollouts
/// that ended are found from the environments' slot lists (a rollout holds its slot until it ends) and freed.
/// </summary>
public sealed class BlastRadiusGate(IGrainFactory grains, IOptions<CoordinationOptions> options, TimeProvider clock) : IRolloutGate
{
    /// <summary>How long an environment's host labels are reused before they are read again.</summary>
    private static readonly TimeSpan IndexTtl = TimeSpan.FromSeconds(30);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyList<HostIndexEntry> Index, HashSet<string> Ids)> _indexes =
        new(StringComparer.Ordinal);

    public string Name => "blast-radius";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.StepBoundary };

    /// <summary>Each pass replaces the rollout's lease with the next step's hosts wherever its environment has hosts in a budget's scope.</summary>
    public async Task<bool> LeasesStepHosts(GateContext context)
    {
        var budgets = options.Value.Budgets;
        if (budgets.Count == 0) return false;
        var index = await Index(context.Environment, context.NextStepHosts);
        return budgets.Any(b => index.Any(h => BlastRadius.Matches(b.Selector, h.Labels)));
    }

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var budgets = options.Value.Budgets;
        if (budgets.Count == 0) return GateDecision.Pass(Name);

        var index = await Index(context.Environment, context.NextStepHosts);
        var next = context.NextStepHosts.ToHashSet(StringComparer.Ordinal);
        var leased = new List<IBlastRadiusGrain>();
        foreach (var budget in budgets)
        {
            var inScope = index.Where(h => BlastRadius.Matches(budget.Selector, h.Labels)).ToList();
            if (inScope.Count == 0) continue;

            var scope = grains.Ref<IBlastRadiusGrain>(BlastRadius.ScopeName(budget.Selector));
            var request = new BlastLeaseRequest
            {
                RolloutId = context.RolloutId,
                Environment = context.Environment,
                HostsInScope = inScope.Count,
                Hosts = inScope.Where(h => next.Contains(h.HostId)).Select(h => h.HostId).ToList(),
                MaxPercent = budget.MaxPercent,
                MaxHosts = budget.MaxHosts,
            };
            var result = await scope.Lease(request);
            if (!result.Granted && await FreeEnded(scope, result))
            {
                result = await scope.Lease(request);
            }

            if (!result.Granted)
            {
                // Why: hold nothing while waiting, so two rollouts waiting on two scopes cannot block each other.
                foreach (var other in leased) await other.Release(context.RolloutId, null);
                return new GateDecision(GateVerdict.Wait, Name, result.Reason, context.Now + TimeSpan.FromMilliseconds(500));
            }

            leased.Add(scope);
        }

        return GateDecision.Pass(Name);
    }

    /// <summary>
    /// The environment's host labels, read at most every <see cref="IndexTtl"/> — and at once when the step names a
    /// host the cached index does not know, so a host is never left out of a scope it belongs to.
    /// </summary>
    private async Task<IReadOnlyList<HostIndexEntry>> Index(string environment, IReadOnlyList<string> stepHosts)
    {
        var now = clock.GetUtcNow();
        if (_indexes.TryGetValue(environment, out var cached) && now - cached.At < IndexTtl && stepHosts.All(cached.Ids.Contains))
        {
            return cached.Index;
        }

        var index = await grains.Ref<IEnvironmentGrain>(environment).GetHostIndex();
        _indexes[environment] = (now, index, index.Select(h => h.HostId).ToHashSet(StringComparer.Ordinal));
        return index;
    }

    /// <summary>Frees the leases of rollouts that no longer hold a slot in their environment (they ended); true if any was freed.</summary>
    private async Task<bool> FreeEnded(IBlastRadiusGrain scope, BlastLeaseResult result)
    {
        var freed = false;
        foreach (var group in result.Others.GroupBy(l => l.Environment))
        {
            var environment = await grains.Ref<IEnvironmentGrain>(group.Key).Get();
            var active = environment?.Active.ToHashSet(StringComparer.Ordinal) ?? [];
            foreach (var lease in group.Where(l => !active.Contains(l.RolloutId)))
            {
                await scope.Release(lease.RolloutId, lease.Sequence);
                freed = true;
            }
        }

        return freed;
    }
}
