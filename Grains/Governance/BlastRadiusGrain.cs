using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("BlastLeaseState")]
public sealed class BlastLeaseState
{
    [Id(0)] public long Sequence { get; set; }

    [Id(1)] public List<string> Hosts { get; set; } = [];

    [Id(2)] public DateTimeOffset GrantedAt { get; set; }

    [Id(3)] public string Environment { get; set; } = string.Empty;
}

[GenerateSerializer]
[Alias("BlastRadiusGrainState")]
public sealed class BlastRadiusGrainState
{
    [Id(0)] public Dictionary<string, BlastLeaseState> Leases { get; set; } = [];

    [Id(1)] public Dictionary<string, int> HostsPerEnvironment { get; set; } = [];

    [Id(2)] public long LastSequence { get; set; }
}

/// <summary>
/// One fleet-wide blast-radius budget scope. Every grant is decided and persisted in this one activation, so two
/// rollouts can never both take the last host of the budget (no check-then-act race). A percentage budget is a
/// share of the scope's hosts in every environment that has asked (each rollout reports its environment's count).
/// </summary>
public sealed class BlastRadiusGrain(
    [PersistentState("blast-radius", Stores.Blob)] IPersistentState<BlastRadiusGrainState> state,
    TimeProvider clock) : Grain, IBlastRadiusGrain
{
    private BlastRadiusGrainState S => state.State;

    private string Scope => this.GetPrimaryKeyString();

    public async Task<BlastLeaseResult> Lease(BlastLeaseRequest request)
    {
        S.HostsPerEnvironment[request.Environment] = request.HostsInScope;
        var limit = BlastRadius.Limit(S.HostsPerEnvironment.Values.Sum(), request.MaxPercent, request.MaxHosts);
        var others = S.Leases.Where(l => !string.Equals(l.Key, request.RolloutId, StringComparison.Ordinal)).ToList();
        var heldByOthers = others.SelectMany(l => l.Value.Hosts).ToHashSet(StringComparer.Ordinal);
        var budget = request.MaxHosts is { } m && (request.MaxPercent is null || m <= limit) ? $"{m} hosts" : $"{request.MaxPercent} %";

        if (request.Hosts.Count == 0)
        {
            // A step that changes no host of the scope holds none of the budget.
            S.Leases.Remove(request.RolloutId);
            await state.WriteStateAsync();
            return new BlastLeaseResult { Granted = true, Limit = limit, ChangingElsewhere = heldByOthers.Count, Reason = "no host of the scope in this step" };
        }

        if (BlastRadius.Fits(heldByOthers, request.Hosts.ToList(), limit))
        {
            var sequence = ++S.LastSequence;
            S.Leases[request.RolloutId] = new BlastLeaseState
            {
                Sequence = sequence,
                Hosts = request.Hosts.ToList(),
                GrantedAt = clock.GetUtcNow(),
                Environment = request.Environment,
            };
            await state.WriteStateAsync();
            return new BlastLeaseResult
            {
                Granted = true,
                Limit = limit,
                ChangingElsewhere = heldByOthers.Count,
                Sequence = sequence,
                Reason = $"{Scope}: {heldByOthers.Union(request.Hosts).Count()} of {limit} hosts changing (budget {budget})",
            };
        }

        // Not now: the rollout is between steps, so none of its hosts is changing; it holds nothing while it waits.
        if (S.Leases.Remove(request.RolloutId))
        {
            await state.WriteStateAsync();
        }

        var reason = request.Hosts.Count > limit
            ? $"{Scope}: the next step changes {request.Hosts.Count} hosts of the scope, more than its budget of {limit} at once (budget {budget}); give the rollout smaller steps (maxSurge / maxUnavailable)"
            : $"{Scope}: {heldByOthers.Count} of {limit} hosts changing (budget {budget}); the next step needs {request.Hosts.Count}; waiting";
        return new BlastLeaseResult
        {
            Granted = false,
            Limit = limit,
            ChangingElsewhere = heldByOthers.Count,
            Others = others.Select(l => ToLease(l.Key, l.Value)).ToList(),
            Reason = reason,
        };
    }

    public async Task Release(string rolloutId, long? sequence)
    {
        if (S.Leases.TryGetValue(rolloutId, out var lease) && (sequence is null || lease.Sequence == sequence))
        {
            S.Leases.Remove(rolloutId);
            await state.WriteStateAsync();
        }
    }

    [ReadOnly]
    public Task<BlastRadiusSnapshot> Get() => Task.FromResult(new BlastRadiusSnapshot
    {
        Scope = Scope,
        Leases = S.Leases.Select(l => ToLease(l.Key, l.Value)).ToList(),
        HostsPerEnvironment = new Dictionary<string, int>(S.HostsPerEnvironment, StringComparer.Ordinal),
    });

    private static BlastLease ToLease(string rolloutId, BlastLeaseState lease) => new()
    {
        RolloutId = rolloutId,
        Sequence = lease.Sequence,
        Hosts = lease.Hosts.ToList(),
        GrantedAt = lease.GrantedAt,
        Environment = lease.Environment,
    };
}
