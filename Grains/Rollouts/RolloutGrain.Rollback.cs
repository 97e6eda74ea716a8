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

/// <summary>Rollback: the planner's plan carried out (actions, then hosts), its deadline, quarantine and escalation.</summary>
public sealed partial class RolloutGrain
{
    public async Task<CommandResult<RolloutSnapshot>> Rollback(OperatorAction action)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Rollback);
        if (!transition.Allowed) return Refused(transition);

        if (S.Status == RolloutStatus.Succeeded)
        {
            var window = S.Strategy.RollbackWindowSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultRollbackWindow;
            var closes = S.FinishedAt!.Value + window;
            if (clock.GetUtcNow() > closes)
            {
                return CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition,
                    $"the rollback window of {window} closed at {closes:O}; roll forward with a new release instead");
            }
        }

        var plan = await PlanRollback();
        if (plan.Refused)
        {
            // Nothing changes: a rollback that could not end true is not started.
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition, $"cannot roll back: {plan.Refusal}");
        }

        _actingRole = action.Role;
        await BeginRollback(RollbackCause.Operator, Decisions.OperatorReason("rollback requested", action.Actor, action.Reason), action.Actor, RolloutTrigger.Rollback, stage: -1, plan);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    /// <summary>Stops the rollout; <paramref name="before"/> is announced first, once the abort is stored.</summary>
    private async Task AbortWith(RollbackCause cause, string reason, string actor, Transition transition, params Announcement[] before)
    {
        if (transition.Next == RolloutStatus.Aborted)
        {
            // Never admitted: no host was touched, so there is nothing to roll back.
            await Finish(RolloutStatus.Aborted, DecisionKind.Aborted, reason, actor, EventTypes.RolloutAborted, "failure", before: before);
            return;
        }

        await BeginRollback(cause, reason, actor, RolloutTrigger.Abort, stage: -1, await PlanRollback(), before);
    }

    /// <summary>The rollback's own deadline (<see cref="RollbackPlanner.Deadline"/>): strategy, else environment, else progress.</summary>
    private TimeSpan RollbackTimeout => RollbackPlanner.Deadline(Spec.Deadlines,
        S.EnvironmentRollbackTimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null);

    /// <summary>
    /// What a rollback of this rollout would do now (<see cref="RollbackPlanner"/>). A finished release is checked
    /// against what the environment records and runs now: one a newer release replaced is refused.
    /// </summary>
    private async Task<RollbackPlan> PlanRollback()
    {
        var afterSuccess = S.Status == RolloutStatus.Succeeded;
        ReleaseRef? current = null;
        IReadOnlyList<string> others = [];
        if (afterSuccess)
        {
            var environment = GrainFactory.Ref<IEnvironmentGrain>(S.Environment);
            current = (await environment.Get())?.Services.GetValueOrDefault(S.Service) is { } deployed
                ? new ReleaseRef(deployed.ReleaseId, deployed.Version)
                : null;
            others = (await environment.RolloutsOf(S.Service)).Where(r => !string.Equals(r, Id, StringComparison.Ordinal)).ToList();
        }

        var retireStep = S.Steps.FindIndex(s => s.Kind == PlanStepKind.Retire);
        return RollbackPlanner.Plan(new RollbackSituation(
            Spec.Kind,
            afterSuccess,
            new ReleaseRef(S.ReleaseId!, S.Version),
            clock.GetUtcNow(),
            Switched: S.PreviousSlot is not null,
            WarmUntil: S.WarmUntil,
            TrafficWeight: S.TrafficWeight,
            OldHostsRetired: retireStep >= 0 && retireStep <= S.CurrentStep,
            Previous: S.PreviousDeployed is { } previous ? new ReleaseRef(previous.ReleaseId, previous.Version) : null,
            Current: current,
            OtherRollouts: others));
    }

    /// <summary>
    /// Decides the rollback and persists it, then carries it out as <paramref name="plan"/> says (blue-green inside the
    /// warm window switches back; immutable retires the new hosts; otherwise the hosts this rollout changed, in the
    /// failing wave only when the policy says so, return). The rollback gets its own deadline: by then it has ended
    /// true, or it escalates. A plan the engine cannot carry out (it decided this rollback itself) still rolls back the
    /// hosts, each to what it ran before.
    /// </summary>
    private async Task BeginRollback(RollbackCause cause, string reason, string actor, RolloutTrigger trigger, int stage, RollbackPlan plan,
        params Announcement[] before)
    {
        var now = clock.GetUtcNow();
        List<Announcement> announced = [.. before];
        if (CurrentStep is { Kind: PlanStepKind.Deploy } interrupted && S.Status is RolloutStatus.Progressing or RolloutStatus.Paused)
        {
            // The hosts the interrupted step had already updated, before the rollback takes them back.
            announced.AddRange(HostOutcomes(interrupted, S.CurrentStep));
        }

        if (plan.Refused)
        {
            plan = new RollbackPlan([RollbackAction.ReturnHosts], RollbackMethod.Revert, $"{plan.Refusal}; every host returns to what it ran before");
        }

        S.RollbackAfterSuccess = S.Status == RolloutStatus.Succeeded;
        S.RollbackCause = cause;
        S.RollbackStage = stage;
        S.RollbackReason = reason;
        S.RollbackMethod = plan.Method;
        S.RollbackActions = plan.Actions.ToList();
        S.RollbackDeadline = now + RollbackTimeout;
        if (plan.Actions.Contains(RollbackAction.ReturnHosts))
        {
            var inScope = HostsOfStage(stage);
            foreach (var host in S.Hosts.Where(h => HostLedger.ReturnsOnRollback((TargetPhase)h.Value)
                         && (inScope is null || inScope.Contains(h.Key))).Select(h => h.Key).ToList())
            {
                SetPhase(host, HostPhase.RollingBack);
            }
        }

        var scope = stage < 0 ? string.Empty : $" (wave policy: only '{S.Stages.ElementAtOrDefault(stage)}' rolls back)";
        var why = reason + scope;

        // The reminder first (a rollback after success had none): a rollback in storage always has one driving it.
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        var returning = S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList();
        announced.Add(new Announcement(EventTypes.RolloutRollbackDecided, why, new Dictionary<string, string>
        {
            ["hosts"] = HostList(returning),
            ["actions"] = string.Join(',', S.RollbackActions),
            ["method"] = S.RollbackMethod.ToString(),
            ["plan"] = plan.Explanation,
            ["deadline"] = S.RollbackDeadline!.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        }, By: (actor, actor == Engine ? Engine : _actingRole)));

        // When returning the hosts is the whole plan (rolling, a canary without traffic), the decision's own write records
        // it done and the hosts get their commands once it is committed: no second whole-state write before the first
        // host moves. Otherwise the actions go first, in order (ContinueRollback).
        var returnsAtOnce = S.RollbackActions is [RollbackAction.ReturnHosts];
        if (returnsAtOnce)
        {
            S.RollbackActions.Clear();
        }

        await Commit([new Decision(DecisionKinds.ForRollback(cause == RollbackCause.Abort, cause == RollbackCause.Superseded), why, actor, trigger)], announced);
        LogRollback(logger, Id, why);
        if (returnsAtOnce)
        {
            DispatchRollback(returning);
        }

        await ContinueRollback(redeliver: !returnsAtOnce);
    }

    /// <summary>
    /// The rollback's reconcile: actions first, in order (one that fails is retried on the next tick); then the hosts,
    /// until each has answered. At the rollback's deadline whatever has not happened escalates: silent hosts are
    /// quarantined in the environment, the rollout fails with the reason, and the environment's queue moves on.
    /// </summary>
    private async Task ContinueRollback(bool redeliver)
    {
        var now = clock.GetUtcNow();
        if (S.RollbackDeadline is null)
        {
            // Decided before rollbacks had deadlines: it gets one now.
            S.RollbackDeadline = now + RollbackTimeout;
            await Commit(null);
        }

        while (S.RollbackActions.Count > 0)
        {
            if (now >= S.RollbackDeadline)
            {
                await Escalate($"rollback action {S.RollbackActions[0]} did not succeed by the rollback deadline {S.RollbackDeadline:O} ({S.StatusReason})");
                return;
            }

            if (!await CarryOut(S.RollbackActions[0]))
            {
                WakeAt(S.RollbackDeadline);
                return;
            }
        }

        // A quarantined host here was set aside by a tick whose quarantine or escalation did not finish: both are retried.
        if (Count(HostPhase.Quarantined) > 0 || (Count(HostPhase.RollingBack) > 0 && now >= S.RollbackDeadline))
        {
            await QuarantineSilentHosts();
            return;
        }

        if (Count(HostPhase.RollingBack) > 0)
        {
            if (redeliver)
            {
                DispatchRollback(S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList());
            }

            // Hosts are still returning; the deadline wakes the rollout if they stay silent.
            WakeAt(S.RollbackDeadline);
            return;
        }

        var reverted = Count(HostPhase.RolledBack);
        var returnedTo = S.RollbackMethod == RollbackMethod.Redeploy && S.PreviousDeployed is { } previous
            ? $"returned to {previous.Version}"
            : "returned to their previous artifact";
        var revertedHosts = HostAnnouncements(EventTypes.HostsReverted, "reverted",
            S.Hosts.Where(h => h.Value == HostPhase.RolledBack).Select(h => h.Key).Order(StringComparer.Ordinal).ToList(), returnedTo, "rollback");
        var rolledBackStage = HostsOfStage(S.RollbackStage);
        var stuck = S.Hosts.Count(h => h.Value == HostPhase.Failed && (rolledBackStage is null || rolledBackStage.Contains(h.Key)));
        var outcome = S.SwitchedBack
            ? $"switched back to slot '{S.ActiveSlot}'; 0 hosts redeployed"
            : Spec.Kind == StrategyKind.Immutable
                ? $"{S.Provisioned.Count} new hosts retired; the {S.OldHosts.Count} old hosts serve"
                : $"{reverted} hosts {returnedTo}" + (stuck > 0 ? $", {stuck} failed to revert" : string.Empty);
        if (S.RollbackStage >= 0 && Count(HostPhase.Updated) > 0)
        {
            outcome += $"; {Count(HostPhase.Updated)} hosts of earlier waves keep {S.Version}";
        }
        else
        {
            // No host serves the new version any more.
            S.TrafficWeight = 0;
        }

        var cause = S.RollbackReason ?? "rollback";
        if (S.RollbackCause is RollbackCause.Abort or RollbackCause.Superseded or RollbackCause.Deadline)
        {
            await Finish(RolloutStatus.Aborted, DecisionKind.Aborted, $"{cause}; {outcome}", Engine, EventTypes.ServiceRolledBack, "failure", before: revertedHosts);
        }
        else
        {
            await Finish(RolloutStatus.RolledBack, DecisionKind.RolledBack, $"rolled back ({cause}); {outcome}", Engine, EventTypes.ServiceRolledBack, "failure", before: revertedHosts);
        }
    }

    /// <summary>Hosts that did not acknowledge the rollback by its deadline are set aside; the rollout escalates.</summary>
    private async Task QuarantineSilentHosts()
    {
        var why = $"no acknowledgement of the rollback by its deadline {S.RollbackDeadline:O}";
        var newlySilent = S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList();
        foreach (var host in newlySilent)
        {
            SetPhase(host, (HostPhase)HostLedger.OnDeadline(TargetPhase.RollingBack));
            NoteFailure(host, why + "; quarantined");
        }

        // Stored before the environment sets them aside, so a retry after a failure (ContinueRollback finds hosts
        // quarantined and the rollout still rolling back) quarantines the same hosts.
        if (newlySilent.Count > 0)
        {
            await Commit(null);
        }

        var silent = S.Hosts.Where(h => h.Value == HostPhase.Quarantined).Select(h => h.Key).Order(StringComparer.Ordinal).ToList();
        await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).Quarantine(silent, Id, $"{why} (rollout '{Id}')");
        await Escalate($"{silent.Count} hosts sent {why} and are quarantined in '{S.Environment}' until an operator clears them: {HostList(silent)}; " +
            $"{Count(HostPhase.RolledBack)} hosts returned", silent);
    }

    /// <summary>The rollback did not end true by its deadline: the rollout fails with the reason (a person must look), and the slot goes to the next in line.</summary>
    private async Task Escalate(string reason, IReadOnlyList<string>? quarantined = null)
    {
        var why = $"rollback escalated ({S.RollbackReason ?? "rollback"}): {reason}";
        LogEscalated(logger, Id, why);
        await Finish(RolloutStatus.Failed, DecisionKind.Escalated, why, Engine, EventTypes.RolloutFailed, "failure", before:
        [
            new Announcement(EventTypes.RollbackEscalated, why, new Dictionary<string, string> { ["hosts"] = HostList(quarantined ?? []) }),
        ]);
    }

    /// <summary>A release that had been recorded as deployed was rolled back: the environment records the one before it again.</summary>
    private async Task RestoreEnvironmentRecord()
    {
        if (S.RollbackAfterSuccess || S.Decisions.Any(d => d.Kind == DecisionKind.Succeeded.Name()))
        {
            await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RestoreDeployed(S.Service, S.ReleaseId!, S.PreviousDeployed);
        }
    }

    private async Task<bool> CarryOut(RollbackAction action)
    {
        switch (action)
        {
            case RollbackAction.SwitchBack:
                var back = await ShiftTraffic(100, S.PreviousSlot);
                if (!back.Ok)
                {
                    await Commit(new Decision(DecisionKind.RollbackRetry,
                        $"traffic router failed to switch back to slot '{S.PreviousSlot}': {back.Error}; retrying until {S.RollbackDeadline:O}", Engine));
                    return false;
                }

                await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).SetActiveSlot(S.Service, S.PreviousSlot!);
                var switchedBack = new Decision(DecisionKind.SwitchedBack,
                    $"active slot '{S.ActiveSlot}' → '{S.PreviousSlot}' (inside the warm window; no host redeployed)", Engine);
                (S.ActiveSlot, S.PreviousSlot) = (S.PreviousSlot, S.ActiveSlot);
                S.WarmUntil = null;
                S.SwitchedBack = true;

                // The new release's slot serves nothing now.
                S.TrafficWeight = 0;
                await Done(switchedBack, new Announcement(EventTypes.SlotSwitched));
                return true;

            case RollbackAction.ResetTraffic:
                var reset = await ShiftTraffic(0, S.ActiveSlot);
                if (!reset.Ok)
                {
                    await Commit(new Decision(DecisionKind.RollbackRetry,
                        $"traffic router failed to take traffic off {S.Version}: {reset.Error}; retrying before hosts revert, until {S.RollbackDeadline:O}", Engine));
                    return false;
                }

                S.TrafficWeight = 0;
                await Done(null, new Announcement(EventTypes.TrafficShifted, $"0% of traffic to {S.Version}", new Dictionary<string, string> { ["weight"] = "0" }));
                return true;

            case RollbackAction.RetireNew:
            {
                // A surge window brings new hosts in step by step: only those registered so far are retired.
                var registered = (await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).GetHostIndex()).Select(h => h.HostId).ToHashSet(StringComparer.Ordinal);
                await Retire(S.Provisioned.Where(registered.Contains).ToList());
                await Done(null);
                return true;
            }

            case RollbackAction.RestoreOld:
                // Only the old hosts the window has retired come back; those still serving are left as they are.
                var serving = (await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).GetHostIndex()).Select(h => h.HostId).ToHashSet(StringComparer.Ordinal);
                var old = S.OldHosts.Where(h => !serving.Contains(h.Key)).Select(h => new HostEnrollment
                {
                    HostId = h.Key,
                    Registration = new HostRegistration { Environment = S.Environment, Labels = h.Value },
                }).ToList();
                await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RegisterHosts(old);
                foreach (var host in S.OldHosts.Keys)
                {
                    if (S.Hosts.ContainsKey(host))
                    {
                        SetPhase(host, HostPhase.Untouched);
                    }
                }

                await Done(null);
                return true;

            default:
                // ReturnHosts: the hosts were marked with the decision; they are sent their commands once the actions are done.
                await Done(null);
                return true;
        }

        // The action happened: it leaves the list in the same commit that records (and then announces) it.
        Task Done(Decision? decision, params Announcement[] events)
        {
            S.RollbackActions.RemoveAt(0);
            return Commit(decision, events);
        }
    }

    /// <summary>
    /// Sends the rollback's hosts their command: a revert (each returns to what it ran before), or the previous
    /// release's artifact as an apply of the rollback's own batch (a redeploy, true whatever the host's own record says).
    /// </summary>
    private void DispatchRollback(IReadOnlyList<string> hosts)
    {
        if (S.RollbackMethod != RollbackMethod.Redeploy || S.PreviousDeployed is not { } previous)
        {
            Dispatch(hosts, HostCommandKind.Revert);
            return;
        }

        var command = new HostCommand
        {
            RolloutId = Id,
            Kind = HostCommandKind.Apply,
            Batch = RollbackBatch,
            Artifact = previous.Artifact,
            Version = previous.Version,
            Service = S.Service,
            Release = previous.ReleaseId,
        };
        foreach (var host in hosts)
        {
            _ = GrainFactory.Ref<IHostGrain>(host).Dispatch(command);
        }
    }
}
