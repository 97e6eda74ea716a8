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

/// <summary>Gates: admission and step-boundary gates, and the environment slot.</summary>
public sealed partial class RolloutGrain
{
    private async Task RequestSlot(IEnvironmentGrain environment)
    {
        if (!await PassAdmissionGates())
        {
            return;
        }

        var admission = await environment.RequestSlot(Id, S.Service);
        if (admission.Status == AdmissionStatus.Admitted)
        {
            await Admit();
            return;
        }

        if (S.Status == RolloutStatus.Pending || S.QueuePosition != admission.Position)
        {
            S.QueuePosition = admission.Position;
            if (S.Status == RolloutStatus.Pending)
            {
                await Commit(new Decision(DecisionKind.Queued, admission.Reason, Engine, RolloutTrigger.Enqueue), new Announcement(EventTypes.PipelineRunQueued));
            }
            else
            {
                // Only the place in the queue moved: stored, announced by the environment.
                await Commit(null);
            }
        }
    }

    private GateContext GateContextFor(GatePoint point, ReleaseSnapshot release, string environment, string submittedBy,
        RolloutStrategySpec strategy, IReadOnlyDictionary<string, string> selector, int? nextStep = null) => new()
    {
        Point = point,
        RolloutId = Id,
        Release = release,
        Environment = environment,
        SubmittedBy = submittedBy,
        Strategy = strategy,
        Selector = selector,
        Now = clock.GetUtcNow(),
        NextStep = nextStep,
        NextStepKind = nextStep is { } n ? S.Steps[n].Kind.ToString() : null,
        NextStepHosts = nextStep is { } m && S.Steps[m].Kind is PlanStepKind.Deploy ? S.Steps[m].Hosts : [],
    };

    private async Task<GateContext?> StoredGateContext(GatePoint point, int? nextStep = null)
    {
        if (!gates.Any) return null;
        var release = await GrainFactory.Ref<IReleaseGrain>(S.ReleaseId!).Get();
        return release is null ? null : GateContextFor(point, release, S.Environment, S.SubmittedBy, S.Strategy, S.Selector, nextStep);
    }

    /// <summary>
    /// Admission gates, asked before the rollout asks its environment for a slot. Wait keeps it Queued with the
    /// reason, AwaitApproval shows AwaitingApproval, Refuse aborts it (nothing was deployed). Only a changed reason
    /// is written, so a rollout waiting days for a freeze to end does not write on every tick.
    /// </summary>
    private async Task<bool> PassAdmissionGates()
    {
        if (await StoredGateContext(GatePoint.Admission) is not { } context) return true;
        var decision = await gates.Check(context);
        if (decision.Passed)
        {
            if (S.AdmissionHold is not null)
            {
                S.AdmissionHold = null;
                await Commit(new Decision(DecisionKind.GatesPassed, "every gate passed; asking the environment for a slot", Engine));
            }

            return true;
        }

        if (decision.Verdict == GateVerdict.Refuse)
        {
            S.AdmissionHold = null;
            var abort = RolloutTransitions.Apply(S.Status, RolloutTrigger.Abort);
            await AbortWith(RollbackCause.Abort, $"refused by policy: {decision.Reason}", Engine, abort);
            return false;
        }

        var status = decision.Verdict == GateVerdict.AwaitApproval ? RolloutStatus.AwaitingApproval : RolloutStatus.Queued;
        if (S.AdmissionHold != decision.Reason || S.Status != status)
        {
            var first = S.Status == RolloutStatus.Pending;
            S.AdmissionHold = decision.Reason;
            await Commit(status == RolloutStatus.AwaitingApproval
                    ? new Decision(DecisionKind.AwaitingApproval, decision.Reason, Engine, RolloutTrigger.AwaitApproval, decision.Gate)
                    : new Decision(DecisionKind.Held, decision.Reason, Engine, RolloutTrigger.Enqueue, decision.Gate),
                new Announcement(first ? EventTypes.PipelineRunQueued : EventTypes.RolloutHeld));
        }

        WakeAt(decision.RecheckAt);
        return false;
    }

    /// <summary>Step-boundary gates: not passing pauses the rollout with the reason (rollback steps are never asked).</summary>
    private async Task<bool> PassStepGates(int nextStep)
    {
        if (await StoredGateContext(GatePoint.StepBoundary, nextStep) is not { } context) return true;
        var decision = await gates.Check(context);
        if (decision.Passed) return true;

        S.HeldByGate = decision.Reason;
        S.HoldDeadline = null;
        await Commit(new Decision(DecisionKind.Held, $"held before step {nextStep + 1}: {decision.Reason}", Engine, RolloutTrigger.Pause, decision.Gate),
            new Announcement(EventTypes.RolloutPaused));
        WakeAt(decision.RecheckAt);
        return false;
    }

    /// <summary>A rollout a gate paused resumes by itself when the gates pass; false while they still hold.</summary>
    private async Task<bool> ReleaseGateHold()
    {
        var next = Math.Min(S.CurrentStep + 1, S.Steps.Count - 1);
        var context = await StoredGateContext(GatePoint.StepBoundary, next < 0 ? null : next);
        var decision = context is null ? GateDecision.Pass("gates") : await gates.Check(context);
        if (!decision.Passed)
        {
            if (decision.Reason != S.HeldByGate)
            {
                S.HeldByGate = decision.Reason;
                await Commit(new Decision(DecisionKind.Held, $"still held: {decision.Reason}", Engine, Gates: decision.Gate));
            }

            WakeAt(decision.RecheckAt);
            return false;
        }

        var was = S.HeldByGate;
        S.HeldByGate = null;
        await Commit(new Decision(DecisionKind.Resumed, $"the gates that held the rollout passed ({was}); going on", Engine, RolloutTrigger.Resume),
            new Announcement(EventTypes.RolloutResumed));
        return true;
    }
}
