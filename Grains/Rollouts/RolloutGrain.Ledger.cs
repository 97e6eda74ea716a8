using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Provisioning;
using Deploy.Engine.Grains.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Rollouts;

/// <summary>Ledger: host answers through the Domain host ledger, and the per-phase counts.</summary>
public sealed partial class RolloutGrain
{
    /// <summary>Applies a host's answer to its phase (<see cref="HostLedger"/>); returns false when it changes nothing (stale or pending).</summary>
    private bool Record(string host, HostPhase phase, HostCommandStatus status)
    {
        if (status.Outcome == CommandOutcome.Pending)
        {
            return false;
        }

        var answer = (status.Kind, status.Outcome) switch
        {
            (HostCommandKind.Apply, CommandOutcome.Succeeded) => TargetAnswer.ApplySucceeded,
            (HostCommandKind.Apply, _) => TargetAnswer.ApplyFailed,
            (_, CommandOutcome.Succeeded) => TargetAnswer.RevertSucceeded,
            _ => TargetAnswer.RevertFailed,
        };
        var next = (HostPhase)HostLedger.Next((TargetPhase)phase, answer, S.RollbackMethod);
        if (next == phase)
        {
            return false;
        }

        SetPhase(host, next);
        if (next == HostPhase.Failed)
        {
            NoteFailure(host, status.Reason ?? "failed");
        }

        return true;
    }

    private PhaseCounts Counts => _counts ??= new PhaseCounts(S.Hosts.Values.Select(p => (TargetPhase)p));

    private int Count(HostPhase phase) => Counts[(TargetPhase)phase];

    /// <summary>Deploy hosts and failed hosts per stage, built once from the plan and kept current by <see cref="SetPhase"/>.</summary>
    private StageCounts PerStage => _stageCounts ??= new StageCounts(
        S.Steps.Where(s => s.Kind == PlanStepKind.Deploy).Select(s => (s.Stage, (IEnumerable<string>)s.Hosts)),
        h => (TargetPhase)S.Hosts.GetValueOrDefault(h));

    /// <summary>Every phase change goes through here, so the per-phase counts never need a scan of the fleet.</summary>
    private void SetPhase(string host, HostPhase next)
    {
        var previous = S.Hosts[host];
        Counts.Move((TargetPhase)previous, (TargetPhase)next);
        _stageCounts?.Move(host, (TargetPhase)previous, (TargetPhase)next);
        S.Hosts[host] = next;
        if (previous == HostPhase.Updating && next != HostPhase.Updating)
        {
            _ahead?.Remove(host);
        }
    }

    /// <summary>
    /// Hosts of the next deploy step started ahead of it (<see cref="StartAhead"/>) and still updating: derived from the
    /// stored phases (the next step's updating hosts) and kept current by <see cref="SetPhase"/>.
    /// </summary>
    private HashSet<string> Ahead => _ahead ??= S.CurrentStep + 1 is var next && next > 0 && next < S.Steps.Count && S.Steps[next].Kind == PlanStepKind.Deploy
        ? S.Steps[next].Hosts.Where(h => S.Hosts.GetValueOrDefault(h) == HostPhase.Updating).ToHashSet(StringComparer.Ordinal)
        : new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Hosts of the current deploy step that have not reported (the updating hosts not started ahead).</summary>
    private int PendingInStep => CurrentStep?.Kind == PlanStepKind.Deploy ? Count(HostPhase.Updating) - Ahead.Count : 0;
}
