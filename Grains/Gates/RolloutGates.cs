using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Grains.Gates;

/// <summary>Where in a rollout's life the gates are asked.</summary>
public enum GatePoint
{
    /// <summary>When the rollout is submitted, before anything is stored: a refusal is a 422 and nothing changes.</summary>
    Submit,

    /// <summary>Before the rollout asks its environment for a slot (Pending, Queued, AwaitingApproval), on every reconcile.</summary>
    Admission,

    /// <summary>Before a running rollout starts its next step (never before a rollback step: rolling back is never held).</summary>
    StepBoundary,
}

/// <summary>What a gate says. The strongest verdict of all gates wins: Refuse &gt; AwaitApproval &gt; Wait &gt; Pass.</summary>
public enum GateVerdict
{
    Pass = 0,

    /// <summary>Not now (freeze, incident, missing dependency, no budget): wait with the reason and look again later.</summary>
    Wait = 1,

    /// <summary>A person must approve first: the rollout shows AwaitingApproval (at admission) with the reason.</summary>
    AwaitApproval = 2,

    /// <summary>Never (unapproved change record, failed verification, rejected approval): refused at submit, aborted later.</summary>
    Refuse = 3,
}

/// <summary>What the gates see: the rollout, its release, its environment, and where it is.</summary>
public sealed record GateContext
{
    public required GatePoint Point { get; init; }

    public required string RolloutId { get; init; }

    public required ReleaseSnapshot Release { get; init; }

    public required string Environment { get; init; }

    public required string SubmittedBy { get; init; }

    public required RolloutStrategySpec Strategy { get; init; }

    public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();

    public required DateTimeOffset Now { get; init; }

    /// <summary>At a step boundary: the step about to start (0-based) and its kind (e.g. "Deploy", "Traffic").</summary>
    public int? NextStep { get; init; }

    public string? NextStepKind { get; init; }

    /// <summary>At a step boundary: the hosts the next step changes (empty for steps that change none).</summary>
    public IReadOnlyList<string> NextStepHosts { get; init; } = [];
}

/// <summary>One gate's answer, with the reason a person can read and when to look again.</summary>
public sealed record GateDecision(GateVerdict Verdict, string Gate, string Reason, DateTimeOffset? RecheckAt = null)
{
    public static GateDecision Pass(string gate) => new(GateVerdict.Pass, gate, "passed");

    public bool Passed => Verdict == GateVerdict.Pass;
}

/// <summary>
/// A policy that may hold or refuse a rollout: freezes, incidents, approvals, change records, provenance, promotion
/// order, quotas, dependencies. Gates are silo services (they may call grains); the rules they apply live in Domain.
/// A gate must be idempotent and cheap to ask again: the rollout asks at every reconcile while it waits.
/// </summary>
public interface IRolloutGate
{
    string Name { get; }

    /// <summary>The points this gate cares about; it is not asked at the others.</summary>
    IReadOnlySet<GatePoint> Points { get; }

    /// <summary>
    /// Whether a pass at this rollout's step boundaries leases the next step's hosts in place of its previous lease (a
    /// blast-radius budget over hosts of its environment does): such a rollout starts no host of the next step before the
    /// current step has ended, since the new lease would free hosts still changing.
    /// </summary>
    Task<bool> LeasesStepHosts(GateContext context) => Task.FromResult(false);

    Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default);
}

/// <summary>Asks every registered gate and combines their answers.</summary>
public sealed class RolloutGates(IEnumerable<IRolloutGate> gates)
{
    private readonly IRolloutGate[] _gates = gates.ToArray();

    public bool Any => _gates.Length > 0;

    /// <summary>Whether any gate leases this rollout's hosts step by step (<see cref="IRolloutGate.LeasesStepHosts"/>).</summary>
    public async Task<bool> LeasesStepHosts(GateContext context)
    {
        foreach (var gate in _gates)
        {
            if (gate.Points.Contains(GatePoint.StepBoundary) && await gate.LeasesStepHosts(context))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The combined decision: the strongest verdict; its reason joins every gate that gave that verdict
    /// ("freeze: …; incident: …"); RecheckAt is the earliest any of them named.
    /// </summary>
    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var decisions = new List<GateDecision>();
        foreach (var gate in _gates)
        {
            if (gate.Points.Contains(context.Point))
            {
                decisions.Add(await gate.Check(context, cancellationToken));
            }
        }

        return Combine(decisions);
    }

    public static GateDecision Combine(IReadOnlyList<GateDecision> decisions)
    {
        var strongest = decisions.Count == 0 ? GateVerdict.Pass : decisions.Max(d => d.Verdict);
        if (strongest == GateVerdict.Pass)
        {
            return GateDecision.Pass("gates");
        }

        var holding = decisions.Where(d => d.Verdict == strongest).ToList();
        return new GateDecision(
            strongest,
            string.Join(",", holding.Select(d => d.Gate)),
            string.Join("; ", holding.Select(d => $"{d.Gate}: {d.Reason}")),
            decisions.Where(d => d.Verdict != GateVerdict.Pass && d.RecheckAt is not null).Select(d => d.RecheckAt).Min());
    }
}

public static class RolloutGateRegistration
{
    /// <summary>Adds a gate; gates are asked in registration order and all of them are asked.</summary>
    public static IServiceCollection AddRolloutGate<TGate>(this IServiceCollection services)
        where TGate : class, IRolloutGate
    {
        services.AddSingleton<IRolloutGate, TGate>();
        return services;
    }

    public static IServiceCollection AddRolloutGates(this IServiceCollection services)
    {
        services.AddSingleton<RolloutGates>();
        return services;
    }
}
