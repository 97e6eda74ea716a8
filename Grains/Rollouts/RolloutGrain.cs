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

/// <summary>
/// The execution of one release in one environment, whatever the strategy: at admission the Domain planner
/// turns strategy × scope into a flat list of steps (deploy, traffic, pause, analysis, switch, keep-warm,
/// provision, retire, bake), and the reconcile loop asks <see cref="PlanStepper"/> what to do next.
/// Progress is event-driven (hosts report one-way) and re-driven by a reminder, so a rollout whose silo dies
/// continues on another: the reminder reactivates it, it re-sends the commands of hosts that have not
/// reported (hosts answer re-delivery idempotently from their own stored state) and carries on. The rollout
/// persists every decision before acting on it, and fans out one-way so no call waits on a whole fleet.
/// </summary>
public sealed partial class RolloutGrain(
    [PersistentState("rollout", Stores.Blob)] IPersistentState<RolloutGrainState> state,
    TimeProvider clock,
    IOptions<RolloutOptions> options,
    ITrafficRouter router,
    IHostProvisioner provisioner,
    RolloutGates gates,
    ILogger<RolloutGrain> logger) : Grain, IRolloutGrain, IRemindable
{
    private const string ReminderName = "reconcile";
    private const string Engine = "engine";
    private const int MaxRecordedFailures = 50;

    /// <summary>The batch of a rollback's redeploy commands (deploy steps are 0.., a revert is -1).</summary>
    private const int RollbackBatch = -2;
    private static readonly TimeSpan DefaultRollbackWindow = TimeSpan.FromHours(24);

    private EventPublisher? _events;
    private StrategySpec? _spec;
    private IGrainTimer? _wakeTimer;

    /// <summary>The roles of the person whose command is being carried out (for the audit trail), until the next command.</summary>
    private string? _actingRole;

    /// <summary>The plan's step kinds, for the stepper (the plan is fixed once admitted).</summary>
    private List<PlanStepKind>? _kinds;

    /// <summary>Hosts per phase, derived from <see cref="RolloutGrainState.Hosts"/> and kept current by <see cref="SetPhase"/>.</summary>
    private PhaseCounts? _counts;

    private RolloutGrainState S => state.State;

    private string Id => this.GetPrimaryKeyString();

    private EventPublisher Events => _events ??= new EventPublisher(
        this.GetStreamProvider(Stores.Events), GrainKeys.RolloutEvents(Id), clock);

    /// <summary>The stored strategy, parsed (it was valid when the rollout started).</summary>
    private StrategySpec Spec => _spec ??= StrategySpecParser.Parse(S.Strategy.ToInput()).Value
        ?? throw new InvalidOperationException($"rollout '{Id}' holds an invalid strategy");

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A live rollout that was reactivated (failover, restart) re-drives itself promptly instead of
        // waiting for the next reminder tick.
        if (S.PendingRollbackActions.Count > 0)
        {
            // Stored as strings before rollback actions were an enum; written with the next decision.
            S.RollbackActions = S.PendingRollbackActions.Select(a => a switch
            {
                "switch-back" => RollbackAction.SwitchBack,
                "reset-traffic" => RollbackAction.ResetTraffic,
                "retire-new" => RollbackAction.RetireNew,
                _ => RollbackAction.RestoreOld,
            }).ToList();
            S.PendingRollbackActions = [];
        }

        if (S.ReleaseId is not null && !S.Status.IsTerminal())
        {
            this.RegisterGrainTimer(ReconcileOnTimer, new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan));
        }

        return base.OnActivateAsync(cancellationToken);
    }

    public async Task<CommandResult<RolloutSnapshot>> Start(RolloutDraft draft)
    {
        if (S.ReleaseId is not null)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.Conflict,
                $"rollout '{Id}' already exists (status {S.Status}); a release rolls out once per environment");
        }

        var parsed = StrategySpecParser.Parse(draft.Strategy.ToInput());
        var judges = new Domain.Validation.ValidationErrors();
        JudgeMapping.ValidateJudges(draft.Strategy, judges);
        AnalysisRunMapping.ValidateRuns(draft.Strategy, judges);
        if (!parsed.IsValid || judges.Any)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.Validation, "the strategy is invalid",
                parsed.Errors.Concat(judges.ToDictionary()).ToDictionary(e => e.Key, e => e.Value));
        }

        var release = await GrainFactory.Ref<IReleaseGrain>(draft.ReleaseId).Get();
        if (release is null)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"release '{draft.ReleaseId}' does not exist");
        }

        var environment = GrainFactory.Ref<IEnvironmentGrain>(draft.Environment);
        if (await environment.Get() is null)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"environment '{draft.Environment}' does not exist");
        }

        // Policies that refuse outright (an unapproved change record, failed provenance, a promotion order not met)
        // refuse here, before anything is stored: a 422 that changes nothing.
        var submit = await gates.Check(GateContextFor(GatePoint.Submit, release, draft.Environment, draft.SubmittedBy, draft.Strategy, draft.Selector));
        if (submit.Verdict == GateVerdict.Refuse)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.PolicyRefused, submit.Reason);
        }

        _spec = parsed.Value;
        S.ReleaseId = release.Id;
        S.Environment = draft.Environment;
        S.Service = release.Service;
        S.Version = release.Version;
        S.Artifact = release.Artifact;
        S.Strategy = draft.Strategy;
        S.SubmittedBy = draft.SubmittedBy;
        S.Selector = new Dictionary<string, string>(draft.Selector, StringComparer.Ordinal);
        S.CreatedAt = clock.GetUtcNow();
        S.Status = RolloutStatus.Pending;
        Decide(DecisionKind.Created, $"release {release.Service} {release.Version} submitted for '{draft.Environment}' ({Spec.Kind} strategy, {Spec.Scope.Kind} scope)", draft.SubmittedBy);

        var inFlight = Spec.OnConflict == ConflictPolicy.Supersede
            ? (await environment.RolloutsOf(release.Service)).Where(r => r != Id).ToList()
            : [];
        if (inFlight.Count > 0)
        {
            S.Supersedes = string.Join(',', inFlight);
            Decide(DecisionKind.Supersedes, $"supersedes {string.Join(", ", inFlight.Select(r => $"'{r}'"))} of the same service", draft.SubmittedBy);
        }

        // The reminder first: a rollout in storage always has one driving it. (A reminder whose rollout never
        // reached storage finds no state on its first tick and removes itself.)
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        await state.WriteStateAsync();
        await GrainFactory.Ref<IReleaseGrain>(release.Id).AddRollout(Id);
        await Events.Publish(EventTypes.RolloutCreated, Subject, S.StatusReason, Actor(draft.SubmittedBy, draft.SubmitterRole));

        foreach (var older in inFlight)
        {
            await GrainFactory.Ref<IRolloutGrain>(older).Supersede(Id, draft.SubmittedBy);
        }

        await RequestSlot(environment);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    [ReadOnly]
    public Task<RolloutSnapshot?> Get() => Task.FromResult(S.ReleaseId is null ? null : Snapshot());

    public async Task<CommandResult<RolloutSnapshot>> Pause(OperatorAction action)
    {
        var result = await Command(RolloutTrigger.Pause, action, DecisionKind.Paused, EventTypes.RolloutPaused, () =>
            S.HoldDeadline = clock.GetUtcNow() + Spec.Deadlines.Approval);
        return result;
    }

    public async Task<CommandResult<RolloutSnapshot>> Resume(OperatorAction action)
    {
        var result = await Command(RolloutTrigger.Resume, action, DecisionKind.Resumed, EventTypes.RolloutResumed, () =>
        {
            // A gate that still holds pauses it again at the next step boundary; the wait it goes back to always has a deadline.
            S.HoldDeadline = null;
            S.HeldByGate = null;
            S.StepDeadline = PlanStepper.DeadlineOnResume(CurrentStep?.Kind, CurrentStep?.Duration,
                CurrentStep?.Kind == PlanStepKind.Deploy ? Count(HostPhase.Updating) : 0, S.StepDeadline, Spec.Deadlines, clock.GetUtcNow());
        });
        if (!result.Ok)
        {
            return result;
        }

        await Reconcile(redeliver: false);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    public async Task<CommandResult<RolloutSnapshot>> Promote(OperatorAction action)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Promote);
        if (!transition.Allowed) return Refused(transition);
        if (CurrentStep is not { Kind: PlanStepKind.Pause or PlanStepKind.Bake })
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition, CurrentStep is null
                ? "nothing to promote: the rollout has not started a step"
                : $"nothing to promote: step {S.CurrentStep + 1} is a {CurrentStep.Kind.ToString().ToLowerInvariant()}, not a pause or a bake");
        }

        var result = await Command(RolloutTrigger.Promote, action, DecisionKind.Promoted, EventTypes.RolloutPromoted, () =>
        {
            S.PromoteRequested = true;
            S.HoldDeadline = null;
        });
        if (result.Ok)
        {
            await Reconcile(redeliver: false);
            return CommandResult<RolloutSnapshot>.Success(Snapshot());
        }

        return result;
    }

    public async Task<CommandResult<RolloutSnapshot>> Abort(OperatorAction action)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Abort);
        if (!transition.Allowed) return Refused(transition);

        _actingRole = action.Role;
        await AbortWith(RollbackCause.Abort, OperatorReason("aborted", action), action.Actor, transition);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    public async Task<CommandResult<RolloutSnapshot>> Supersede(string byRollout, string actor)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Abort);
        if (!transition.Allowed)
        {
            // Already finished or already rolling back: nothing more to stop.
            return CommandResult<RolloutSnapshot>.Success(Snapshot());
        }

        S.SupersededBy = byRollout;
        await Events.Publish(EventTypes.RolloutSuperseded, Subject, $"superseded by rollout '{byRollout}'", Describe());
        await AbortWith(RollbackCause.Superseded, $"superseded by rollout '{byRollout}' (submitted by {actor})", actor, transition);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

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
        await BeginRollback(RollbackCause.Operator, OperatorReason("rollback requested", action), action.Actor, RolloutTrigger.Rollback, stage: -1, plan);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    public async Task OnAdmitted()
    {
        if (S.ReleaseId is null)
        {
            // Admitted but never stored (its creation failed after it asked for a slot): give the slot back
            // rather than hold it forever.
            if (GrainKeys.TryParseRollout(Id, out _, out var environment))
            {
                await GrainFactory.Ref<IEnvironmentGrain>(environment).ReleaseSlot(Id);
            }

            return;
        }

        if (S.Status is RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval)
        {
            await Admit();
        }
    }

    public async Task OnHostReported(HostCommandStatus status)
    {
        if (!S.Hosts.TryGetValue(status.HostId, out var phase) || !Record(status.HostId, phase, status))
        {
            return;
        }

        await Reconcile(redeliver: false);
    }

    public async Task OnHostSample(HostMetricsSample sample)
    {
        // Evidence about another service on the same hosts says nothing about this release.
        if (S.Status is not (RolloutStatus.Progressing or RolloutStatus.Paused) || !S.Hosts.ContainsKey(sample.HostId)
            || sample.Service is { } service && !string.Equals(service, S.Service, StringComparison.Ordinal))
        {
            return;
        }

        if (CurrentStep is { Kind: PlanStepKind.Analysis, Analyses: true } && !S.ConcludedAnalyses.Contains(S.CurrentStep))
        {
            // Both sides feed the canary analysis of this step.
            await GrainFactory.Ref<ICanaryAnalysisGrain>(GrainKeys.Analysis(Id, S.CurrentStep + 1)).Record(sample);
        }

        // The rollback triggers read only evidence about this rollout's version.
        if (Spec.Triggers.Count == 0 || !string.Equals(sample.Version, S.Version, StringComparison.Ordinal))
        {
            return;
        }

        var first = S.Samples.Count == 0;
        S.Samples[sample.HostId] = sample;
        if (first)
        {
            // The first evidence ends an analysis's wait for data: keep it across a failover.
            await state.WriteStateAsync();
        }

        var verdict = TriggerJudge.Evaluate(Spec.Triggers, S.Samples.Values
            .Select(s => new HostSample(s.HostId, s.ErrorRatePercent, s.P99LatencyMs, s.FailedHealthChecks, s.Requests))
            .ToList());
        if (verdict.Breached && S.Breach is null)
        {
            S.Breach = $"rollback trigger breached: {verdict.Reason}";
            await Events.Publish(EventTypes.TriggerBreached, Subject, S.Breach, Describe());
            await Reconcile(redeliver: false);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Reconcile(redeliver: true);

    private async Task ReconcileOnTimer(CancellationToken cancellationToken)
    {
        try
        {
            await Reconcile(redeliver: true);
        }
        catch
        {
            // Timers bypass call filters: drop the activation so the reminder's next tick starts from storage.
            this.DeactivateOnIdle();
            throw;
        }
    }

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
            var first = S.Status == RolloutStatus.Pending;
            if (first)
            {
                Transition(RolloutTrigger.Enqueue);
                Decide(DecisionKind.Queued, admission.Reason, Engine);
            }

            S.QueuePosition = admission.Position;
            await state.WriteStateAsync();
            if (first)
            {
                await Events.Publish(EventTypes.PipelineRunQueued, Subject, admission.Reason, Describe());
            }
        }
    }

    /// <summary>Holds a slot now: fix the plan from the environment's hosts (provisioning new ones for immutable) and start.</summary>
    private async Task Admit()
    {
        var environment = GrainFactory.Ref<IEnvironmentGrain>(S.Environment);
        var snapshot = await environment.Get();
        S.PreviousDeployed = snapshot?.Services.GetValueOrDefault(S.Service);

        // Quarantined hosts never acknowledged an earlier rollback: nothing is sent to them until an operator clears them.
        var quarantined = snapshot?.Quarantined.Select(q => q.HostId).ToHashSet(StringComparer.Ordinal) ?? [];
        var hosts = (await environment.GetHostIndex())
            .Where(h => !quarantined.Contains(h.HostId))
            .Where(h => S.Selector.All(s => h.Labels.TryGetValue(s.Key, out var v) && string.Equals(v, s.Value, StringComparison.Ordinal)))
            .ToList();
        var targets = (S.Selector.Count == 0 ? "every host" : "hosts labelled " + string.Join(", ", S.Selector.Select(s => s.Key + "=" + s.Value)))
            + (quarantined.Count == 0 ? string.Empty : $" except {quarantined.Count} quarantined");

        Transition(RolloutTrigger.Admit);
        S.QueuePosition = 0;
        S.StartedAt = clock.GetUtcNow();

        IReadOnlyList<string> provisioned = [];
        if (Spec.Kind == StrategyKind.Immutable && hosts.Count > 0)
        {
            provisioned = await provisioner.Provision(
                new ProvisionRequest(Id, S.Environment, S.Service, hosts.Count, new Dictionary<string, string>(S.Selector)), CancellationToken.None);
            S.ProvisionProfile = (await GrainFactory.Ref<IHostGrain>(hosts[0].HostId).Get())?.Simulation;
        }

        var activeSlot = snapshot?.ActiveSlots.GetValueOrDefault(S.Service);
        var result = RolloutPlanner.Plan(Spec, new PlanInput
        {
            Hosts = hosts.Select(h => new PlanHost(h.HostId, h.Labels)).ToList(),
            ActiveSlot = activeSlot,
            ProvisionedHosts = provisioned,
        });
        Decide(DecisionKind.Admitted, $"admitted to '{S.Environment}', targeting {targets}" + (result.Plan is null ? string.Empty : "; " + result.Plan.Explanation), Engine);
        await Events.Publish(EventTypes.PipelineRunStarted, Subject, S.StatusReason, Describe());

        if (result.Plan is not { } plan)
        {
            // The plan cannot run (the fleet changed since the request was checked): fail before any host changes.
            var why = string.Join("; ", result.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
            await Finish(RolloutStatus.Failed, DecisionKind.PlanInfeasible, why, Engine, EventTypes.RolloutFailed, "failure");
            return;
        }

        S.Stages = plan.Stages.Select(s => s.Name).ToList();
        S.Steps = plan.Steps.Select(Store).ToList();
        _kinds = null;
        AttachJudges();
        S.Hosts = new Dictionary<string, HostPhase>(StringComparer.Ordinal);
        foreach (var stage in plan.Stages)
        {
            foreach (var host in stage.Hosts)
            {
                S.Hosts[host] = HostPhase.Untouched;
            }
        }

        foreach (var step in S.Steps.Where(s => s.Kind is PlanStepKind.Deploy or PlanStepKind.Provision))
        {
            foreach (var host in step.Hosts)
            {
                S.Hosts.TryAdd(host, HostPhase.Untouched);
            }
        }

        if (Spec.Kind == StrategyKind.Immutable)
        {
            S.Provisioned = provisioned.ToList();
            S.OldHosts = hosts.ToDictionary(h => h.HostId, h => new Dictionary<string, string>(h.Labels, StringComparer.Ordinal), StringComparer.Ordinal);
        }

        S.ActiveSlot = activeSlot ?? S.Steps.FirstOrDefault(s => s.Kind == PlanStepKind.Switch)?.FromSlot;
        var deployed = S.Steps.Where(s => s.Kind == PlanStepKind.Deploy).Sum(s => s.Hosts.Count);
        S.AllowedFailures = RollingPlanner.Plan(Spec.Rolling, deployed).AllowedFailures;
        _counts = null;
        await state.WriteStateAsync();
        await Reconcile(redeliver: false);
    }

    /// <summary>
    /// The reconcile loop: ask the stepper what to do, do it, persist, and ask again until it says wait.
    /// With <paramref name="redeliver"/> (reminder ticks, reactivation) commands of hosts that have not
    /// reported are sent again first.
    /// </summary>
    private async Task Reconcile(bool redeliver)
    {
        if (S.ReleaseId is null)
        {
            await StopReminder();
            return;
        }

        switch (S.Status)
        {
            case RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval:
                await RequestSlot(GrainFactory.Ref<IEnvironmentGrain>(S.Environment));
                return;
            case RolloutStatus.RollingBack:
                await ContinueRollback(redeliver);
                return;
            case RolloutStatus.Paused when S.HeldByGate is not null:
                // Held by a gate, not by a person: it goes on by itself once the gates pass.
                if (!await ReleaseGateHold())
                {
                    return;
                }

                break;
            case RolloutStatus.Progressing or RolloutStatus.Paused:
                break;
            default:
                // Terminal: nothing to drive any more.
                await StopReminder();
                return;
        }

        if (redeliver && CurrentStep is { Kind: PlanStepKind.Deploy } deploying)
        {
            Dispatch(deploying.Hosts.Where(h => S.Hosts[h] == HostPhase.Updating).ToList(), HostCommandKind.Apply);
        }

        // A run whose threshold metrics already failed ends the analysis now (the verdict rolls back).
        if (S.Status == RolloutStatus.Progressing && CurrentStep is { Kind: PlanStepKind.Analysis, Metrics.Count: > 0 }
            && !S.ConcludedAnalyses.Contains(S.CurrentStep)
            && await GrainFactory.Ref<ICanaryAnalysisGrain>(GrainKeys.Analysis(Id, S.CurrentStep + 1)).HasFailedEarly()
            && !await ConcludeAnalysis())
        {
            return;
        }

        for (var guard = 0; guard <= S.Steps.Count + 4; guard++)
        {
            var decision = PlanStepper.Next(Progress());
            switch (decision.Action)
            {
                case PlanAction.Wait:
                    if (decision.AwaitsOperator && S.Status == RolloutStatus.Progressing)
                    {
                        // Only a person ends this wait: the rollout says so (Paused), with the deadline it waits until.
                        await AwaitOperator(decision);
                    }

                    WakeAt(decision.WakeAt);
                    return;
                case PlanAction.ExpirePending:
                    foreach (var host in CurrentStep!.Hosts.Where(h => S.Hosts[h] == HostPhase.Updating).ToList())
                    {
                        SetPhase(host, (HostPhase)HostLedger.OnDeadline(TargetPhase.Updating));
                        NoteFailure(host, "no report before the progress deadline");
                    }

                    Decide(DecisionKind.Deadline, decision.Reason, Engine);
                    await state.WriteStateAsync();
                    continue;
                case PlanAction.DeadlineExpired:
                    await OnDeadline(decision.Reason);
                    return;
                case PlanAction.RollBack:
                    var cause = S.Breach is not null ? RollbackCause.Trigger : RollbackCause.FailureBudget;
                    var stage = Spec.Scope.OnFailure == WaveFailurePolicy.RollBackWave && CurrentStep is { } failing ? failing.Stage : -1;
                    await BeginRollback(cause, decision.Reason, Engine, RolloutTrigger.DecideRollback, stage, await PlanRollback());
                    return;
                case PlanAction.Complete:
                    if (!await ConcludeAnalysis())
                    {
                        return;
                    }

                    await Complete(decision.Reason);
                    return;
                case PlanAction.StartStep:
                    if (decision.Step != S.CurrentStep && !await ConcludeAnalysis())
                    {
                        return;
                    }

                    // Why: a freeze, an incident or an exhausted budget holds the rollout between steps, never inside one.
                    if (decision.Step != S.CurrentStep && !await PassStepGates(decision.Step))
                    {
                        return;
                    }

                    if (!await StartStep(decision.Step, decision.Reason))
                    {
                        return;
                    }

                    continue;
            }
        }
    }

    /// <summary>Starts a step (or carries out its action again); false when the rollout cannot go on (it paused).</summary>
    private async Task<bool> StartStep(int index, string reason)
    {
        var now = clock.GetUtcNow();
        if (index != S.CurrentStep)
        {
            if (CurrentStep is { Kind: PlanStepKind.Deploy } finished)
            {
                await PublishHostOutcomes(finished, S.CurrentStep);
                await Events.Publish(EventTypes.RolloutBatchCompleted, Subject, $"step {S.CurrentStep + 1} done", Describe());
            }

            S.CurrentStep = index;
            S.StepStartedAt = now;
            S.StepActionDone = false;
            S.PromoteRequested = false;
            S.StepDeadline = null;
        }

        var step = S.Steps[index];
        var stageName = S.Stages.ElementAtOrDefault(step.Stage) ?? "all hosts";
        var why = $"{reason}: {step.Description} [{stageName}]";
        switch (step.Kind)
        {
            case PlanStepKind.Deploy:
                S.StepActionDone = true;
                S.StepDeadline = now + Spec.Deadlines.Progress;
                foreach (var host in step.Hosts)
                {
                    SetPhase(host, HostPhase.Updating);
                }

                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.RolloutBatchStarted, Subject, why, new Dictionary<string, string>(Describe())
                {
                    ["hosts"] = HostList(step.Hosts),
                    ["step"] = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["stage"] = stageName,
                });
                Dispatch(step.Hosts, HostCommandKind.Apply);
                return true;

            case PlanStepKind.Traffic:
                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                var traffic = await ShiftTraffic(step.Weight, S.ActiveSlot);
                if (!traffic.Ok)
                {
                    await HoldForHuman($"traffic router failed to set weight {step.Weight}%: {traffic.Error}; the weight stays at {S.TrafficWeight}%; resume to retry");
                    return false;
                }

                S.TrafficWeight = step.Weight;
                S.StepActionDone = true;
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.TrafficShifted, Subject, $"{step.Weight}% of traffic to {S.Version}", Describe());
                return true;

            case PlanStepKind.Switch:
                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                var switched = await ShiftTraffic(100, step.ToSlot);
                if (!switched.Ok)
                {
                    await HoldForHuman($"traffic router failed to switch to slot '{step.ToSlot}': {switched.Error}; slot '{S.ActiveSlot}' still serves; resume to retry");
                    return false;
                }

                await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).SetActiveSlot(S.Service, step.ToSlot!);
                S.PreviousSlot = step.FromSlot;
                S.ActiveSlot = step.ToSlot;
                S.TrafficWeight = 100;
                S.WarmUntil = now + (S.Steps.ElementAtOrDefault(index + 1) is { Kind: PlanStepKind.KeepWarm } warm ? warm.Duration ?? TimeSpan.Zero : TimeSpan.Zero);
                S.StepActionDone = true;
                Decide(DecisionKind.Switched, $"active slot '{step.FromSlot}' → '{step.ToSlot}'; '{step.FromSlot}' stays warm until {S.WarmUntil:O}", Engine);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.SlotSwitched, Subject, S.StatusReason, Describe());
                return true;

            case PlanStepKind.Provision:
                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                var enrolled = await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RegisterHosts(step.Hosts.Select((id, i) => new HostEnrollment
                {
                    HostId = id,
                    Registration = new HostRegistration
                    {
                        Environment = S.Environment,
                        Labels = ProvisionedLabels(i),
                        CurrentArtifact = null,
                        Simulation = S.ProvisionProfile,
                    },
                }).ToList());
                var refused = enrolled.Where(r => !r.Ok).ToList();
                if (refused.Count > 0)
                {
                    await HoldForHuman($"provisioning failed for {refused.Count} hosts: {refused[0].Error}; resume to retry");
                    return false;
                }

                S.StepActionDone = true;
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.HostsProvisioned, Subject, $"{step.Hosts.Count} hosts provisioned", new Dictionary<string, string>(Describe())
                {
                    ["hosts"] = HostList(step.Hosts),
                });
                return true;

            case PlanStepKind.Retire:
                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                await Retire(step.Hosts);
                S.StepActionDone = true;
                await state.WriteStateAsync();
                return true;

            case PlanStepKind.Pause when step.Duration is null:
                S.StepDeadline = now + Spec.Deadlines.Approval;
                Decide(DecisionKind.StepStarted, $"{why}; waiting for an operator to promote by {S.StepDeadline:O}", Engine);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.RolloutStepStarted, Subject, S.StatusReason, Describe());
                return true;

            case PlanStepKind.Analysis:
                // Bounded by its duration, and by the analysis deadline while no sample has arrived.
                S.StepDeadline = now + Spec.Deadlines.Analysis;
                if (step.Analyses)
                {
                    var analysisId = GrainKeys.Analysis(Id, index + 1);
                    if (!S.Analyses.Contains(analysisId))
                    {
                        S.Analyses.Add(analysisId);
                    }

                    await GrainFactory.Ref<ICanaryAnalysisGrain>(analysisId).Start(new AnalysisStart
                    {
                        RolloutId = Id,
                        Step = index + 1,
                        CanaryVersion = S.Version,
                        BaselineVersion = S.PreviousDeployed?.Version,
                        Judge = step.Judge,
                        Metrics = step.Metrics,
                        DurationSeconds = (int)(step.Duration ?? TimeSpan.Zero).TotalSeconds,
                        Service = S.Service,
                        Environment = S.Environment,
                    });
                    why += $"; canary analysis '{analysisId}' of {S.Version} against the hosts not yet changed";
                }

                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.RolloutStepStarted, Subject, why, Describe());
                if (step.Analyses)
                {
                    AskForSamples(step.Duration ?? TimeSpan.Zero);
                }

                return true;

            default:
                // Pause with a duration, bake, keep-warm: time passes; triggers keep being watched.
                Decide(DecisionKind.StepStarted, why, Engine);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.RolloutStepStarted, Subject, why, Describe());
                return true;
        }
    }

    /// <summary>
    /// Leaving an analysis step: its analysis decides. Pass goes on; Hold (a marginal score, an inconclusive run, or
    /// no data at all, which is never a silent pass) pauses the rollout for a human with the reason; Fail (the judge,
    /// or a run that failed or errored) rolls back, naming the analysis. Returns whether the rollout may go on now.
    /// </summary>
    private async Task<bool> ConcludeAnalysis()
    {
        if (CurrentStep is not { Kind: PlanStepKind.Analysis, Analyses: true } || S.ConcludedAnalyses.Contains(S.CurrentStep))
        {
            return true;
        }

        var analysisId = GrainKeys.Analysis(Id, S.CurrentStep + 1);
        var analysis = await GrainFactory.Ref<ICanaryAnalysisGrain>(analysisId).Conclude();
        S.ConcludedAnalyses.Add(S.CurrentStep);
        var summary = $"canary analysis '{analysisId}': {analysis.Outcome} ({analysis.Reason})";
        switch (analysis.StepVerdict)
        {
            case StepVerdict.Pass:
                Decide(DecisionKind.AnalysisPassed, summary, Engine);
                await state.WriteStateAsync();
                return true;
            case StepVerdict.Hold:
                await HoldForHuman($"{summary}; not a pass: resume to go on, or abort");
                return false;
            default:
                await BeginRollback(RollbackCause.Analysis, summary, Engine, RolloutTrigger.DecideRollback,
                    Spec.Scope.OnFailure == WaveFailurePolicy.RollBackWave ? CurrentStep.Stage : -1, await PlanRollback());
                return false;
        }
    }

    /// <summary>
    /// A canary analysis needs readings from both sides over the whole step: simulated hosts are asked for ten,
    /// spread over the step; real agents push theirs.
    /// </summary>
    private void AskForSamples(TimeSpan duration)
    {
        const int perSide = 50, readings = 10;
        var spacing = (int)Math.Max(0, duration.TotalMilliseconds / readings);
        var canary = S.Hosts.Where(h => h.Value == HostPhase.Updated).Select(h => h.Key).Take(perSide);
        var baseline = S.Hosts.Where(h => h.Value == HostPhase.Untouched).Select(h => h.Key).Take(perSide);
        foreach (var host in canary.Concat(baseline))
        {
            _ = GrainFactory.Ref<IHostGrain>(host).EmitServiceSamples(Id, S.Service, readings, spacing);
        }
    }

    /// <summary>The k-th analysis step of each stage carries the k-th declared analysis's judge (canary steps repeat per stage).</summary>
    private void AttachJudges()
    {
        var declared = (S.Strategy.Steps ?? []).Where(s => s?.Analysis is not null).Select(s => s!.Analysis!).ToList();
        var stage = -1;
        var k = 0;
        foreach (var step in S.Steps.Where(s => s.Kind == PlanStepKind.Analysis))
        {
            if (step.Stage != stage)
            {
                (stage, k) = (step.Stage, 0);
            }

            if (Spec.Kind == StrategyKind.Canary && k < declared.Count)
            {
                step.Judge = declared[k].Judge;
                step.Metrics = declared[k].Metrics?.Where(m => m is not null).ToList() ?? [];
            }

            k++;
        }
    }

    private async Task OnDeadline(string reason)
    {
        await Events.Publish(EventTypes.DeadlineExpired, Subject, reason, Describe());
        if (Spec.Deadlines.OnExpiry == DeadlineAction.Abort)
        {
            var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Abort);
            await AbortWith(RollbackCause.Deadline, $"deadline expired: {reason}; the spec says abort", Engine, transition);
            return;
        }

        // The spec says a human decides: hold, with no further deadline (the spec chose that).
        if (S.Status == RolloutStatus.Progressing)
        {
            Transition(RolloutTrigger.Pause);
        }

        S.HoldDeadline = null;
        S.StepDeadline = null;
        Decide(DecisionKind.Deadline, $"deadline expired: {reason}; the spec says hold for a human (resume, promote or abort)", Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutPaused, Subject, S.StatusReason, Describe());
    }

    /// <summary>A step only a person ends (a pause for a promote): the rollout shows Paused, held until the step's deadline.</summary>
    private async Task AwaitOperator(PlanDecision decision)
    {
        Transition(RolloutTrigger.Pause);
        S.HoldDeadline = decision.WakeAt;
        var by = decision.WakeAt is { } deadline ? $" by {deadline:O}" : string.Empty;
        Decide(DecisionKind.AwaitingPromote, $"step {S.CurrentStep + 1} waits for an operator to promote{by} (promote goes on; abort stops)", Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutPaused, Subject, S.StatusReason, Describe());
    }

    /// <summary>An action the rollout cannot take on its own failed: pause with the reason; resume retries it.</summary>
    private async Task HoldForHuman(string reason)
    {
        if (S.Status == RolloutStatus.Progressing)
        {
            Transition(RolloutTrigger.Pause);
        }

        S.HoldDeadline = clock.GetUtcNow() + Spec.Deadlines.Approval;
        Decide(DecisionKind.Paused, reason, Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutPaused, Subject, reason, Describe());
    }

    private async Task AbortWith(RollbackCause cause, string reason, string actor, Transition transition)
    {
        if (transition.Next == RolloutStatus.Aborted)
        {
            // Never admitted: no host was touched, so there is nothing to roll back.
            await Finish(RolloutStatus.Aborted, DecisionKind.Aborted, reason, actor, EventTypes.RolloutAborted, "failure");
            return;
        }

        await BeginRollback(cause, reason, actor, RolloutTrigger.Abort, stage: -1, await PlanRollback());
    }

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
    private async Task BeginRollback(RollbackCause cause, string reason, string actor, RolloutTrigger trigger, int stage, RollbackPlan plan)
    {
        var now = clock.GetUtcNow();
        if (CurrentStep is { Kind: PlanStepKind.Deploy } interrupted && S.Status is RolloutStatus.Progressing or RolloutStatus.Paused)
        {
            // The hosts the interrupted step had already updated, before the rollback takes them back.
            await PublishHostOutcomes(interrupted, S.CurrentStep);
        }

        if (plan.Refused)
        {
            plan = new RollbackPlan([RollbackAction.ReturnHosts], RollbackMethod.Revert, $"{plan.Refusal}; every host returns to what it ran before");
        }

        S.RollbackAfterSuccess = S.Status == RolloutStatus.Succeeded;
        Transition(trigger);
        S.RollbackCause = cause;
        S.RollbackStage = stage;
        S.RollbackReason = reason;
        S.RollbackMethod = plan.Method;
        S.RollbackActions = plan.Actions.ToList();
        S.RollbackDeadline = now + Spec.Deadlines.Progress;
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
        Decide(DecisionKinds.ForRollback(cause == RollbackCause.Abort, cause == RollbackCause.Superseded), why, actor);
        await state.WriteStateAsync();
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        LogRollback(logger, Id, why);
        await Events.Publish(EventTypes.RolloutRollbackDecided, Subject, why, new Dictionary<string, string>(Actor(actor, actor == Engine ? Engine : _actingRole))
        {
            ["hosts"] = HostList(S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList()),
            ["actions"] = string.Join(',', S.RollbackActions),
            ["method"] = S.RollbackMethod.ToString(),
            ["plan"] = plan.Explanation,
            ["deadline"] = S.RollbackDeadline!.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        });
        await ContinueRollback(redeliver: true);
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
            S.RollbackDeadline = now + Spec.Deadlines.Progress;
            await state.WriteStateAsync();
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

            S.RollbackActions.RemoveAt(0);
            await state.WriteStateAsync();
        }

        if (Count(HostPhase.RollingBack) > 0)
        {
            if (now >= S.RollbackDeadline)
            {
                await QuarantineSilentHosts();
                return;
            }

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
        await PublishHosts(EventTypes.HostsReverted, "reverted", S.Hosts.Where(h => h.Value == HostPhase.RolledBack).Select(h => h.Key).Order(StringComparer.Ordinal).ToList(),
            returnedTo, data => data["step"] = "rollback");
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
            await Finish(RolloutStatus.Aborted, DecisionKind.Aborted, $"{cause}; {outcome}", Engine, EventTypes.ServiceRolledBack, "failure");
        }
        else
        {
            await Finish(RolloutStatus.RolledBack, DecisionKind.RolledBack, $"rolled back ({cause}); {outcome}", Engine, EventTypes.ServiceRolledBack, "failure");
            await RestoreEnvironmentRecord();
        }
    }

    /// <summary>Hosts that did not acknowledge the rollback by its deadline are set aside; the rollout escalates.</summary>
    private async Task QuarantineSilentHosts()
    {
        var silent = S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).Order(StringComparer.Ordinal).ToList();
        var why = $"no acknowledgement of the rollback by its deadline {S.RollbackDeadline:O}";
        foreach (var host in silent)
        {
            SetPhase(host, (HostPhase)HostLedger.OnDeadline(TargetPhase.RollingBack));
            NoteFailure(host, why + "; quarantined");
        }

        await state.WriteStateAsync();
        await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).Quarantine(silent, Id, $"{why} (rollout '{Id}')");
        await Escalate($"{silent.Count} hosts sent {why} and are quarantined in '{S.Environment}' until an operator clears them: {HostList(silent)}; " +
            $"{Count(HostPhase.RolledBack)} hosts returned", silent);
    }

    /// <summary>The rollback did not end true by its deadline: the rollout fails with the reason (a person must look), and the slot goes to the next in line.</summary>
    private async Task Escalate(string reason, IReadOnlyList<string>? quarantined = null)
    {
        var why = $"rollback escalated ({S.RollbackReason ?? "rollback"}): {reason}";
        LogEscalated(logger, Id, why);
        await Events.Publish(EventTypes.RollbackEscalated, Subject, why, new Dictionary<string, string>(Describe())
        {
            ["hosts"] = HostList(quarantined ?? []),
        });
        await Finish(RolloutStatus.Failed, DecisionKind.Escalated, why, Engine, EventTypes.RolloutFailed, "failure");
        if (quarantined is not null)
        {
            // The hosts that still serve run the previous release: that is what the environment records.
            await RestoreEnvironmentRecord();
        }
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
                    Decide(DecisionKind.RollbackRetry, $"traffic router failed to switch back to slot '{S.PreviousSlot}': {back.Error}; retrying until {S.RollbackDeadline:O}", Engine);
                    await state.WriteStateAsync();
                    return false;
                }

                await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).SetActiveSlot(S.Service, S.PreviousSlot!);
                Decide(DecisionKind.SwitchedBack, $"active slot '{S.ActiveSlot}' → '{S.PreviousSlot}' (inside the warm window; no host redeployed)", Engine);
                (S.ActiveSlot, S.PreviousSlot) = (S.PreviousSlot, S.ActiveSlot);
                S.WarmUntil = null;
                S.SwitchedBack = true;

                // The new release's slot serves nothing now.
                S.TrafficWeight = 0;
                await Events.Publish(EventTypes.SlotSwitched, Subject, S.StatusReason, Describe());
                return true;

            case RollbackAction.ResetTraffic:
                var reset = await ShiftTraffic(0, S.ActiveSlot);
                if (!reset.Ok)
                {
                    Decide(DecisionKind.RollbackRetry, $"traffic router failed to take traffic off {S.Version}: {reset.Error}; retrying before hosts revert, until {S.RollbackDeadline:O}", Engine);
                    await state.WriteStateAsync();
                    return false;
                }

                S.TrafficWeight = 0;
                await Events.Publish(EventTypes.TrafficShifted, Subject, $"0% of traffic to {S.Version}", Describe());
                return true;

            case RollbackAction.RetireNew:
                await Retire(S.Provisioned);
                return true;

            case RollbackAction.RestoreOld:
                var old = S.OldHosts.Select(h => new HostEnrollment
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

                return true;

            default:
                // ReturnHosts: the hosts were marked with the decision; they are sent their commands once the actions are done.
                return true;
        }
    }

    private async Task Retire(IReadOnlyList<string> hosts)
    {
        const int chunk = 500;
        for (var i = 0; i < hosts.Count; i += chunk)
        {
            await Task.WhenAll(hosts.Skip(i).Take(chunk).Select(h => GrainFactory.Ref<IHostGrain>(h).Retire(Id)));
        }

        await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RemoveHosts(hosts);
        foreach (var host in hosts)
        {
            if (S.Hosts.ContainsKey(host))
            {
                SetPhase(host, HostPhase.Retired);
            }
        }

        await provisioner.Retire(S.Environment, hosts, CancellationToken.None);
    }

    private async Task<TrafficResult> ShiftTraffic(int weight, string? slot)
    {
        if (string.IsNullOrEmpty(S.Strategy.TrafficRouter))
        {
            // No router: the weight is the share of hosts on the new version, which the deploy steps already set.
            return new TrafficResult(true, null);
        }

        return await router.Apply(new TrafficChange(Id, S.Environment, S.Service, S.Version, S.PreviousDeployed?.Version, weight, slot,
            S.Strategy.TrafficRouter), CancellationToken.None);
    }

    /// <summary>Sends the command to every host one-way: the rollout never waits on a fleet; answers come back as reports.</summary>
    private void Dispatch(IReadOnlyList<string> hosts, HostCommandKind kind)
    {
        var command = new HostCommand
        {
            RolloutId = Id,
            Kind = kind,
            Batch = kind == HostCommandKind.Apply ? S.CurrentStep : -1,
            Artifact = kind == HostCommandKind.Apply ? S.Artifact : null,
            Version = kind == HostCommandKind.Apply ? S.Version : null,
            Service = S.Service,
            Release = S.ReleaseId,
        };
        foreach (var host in hosts)
        {
            _ = GrainFactory.Ref<IHostGrain>(host).Dispatch(command);
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

    private async Task Complete(string reason)
    {
        if (CurrentStep is { Kind: PlanStepKind.Deploy } last)
        {
            await PublishHostOutcomes(last, S.CurrentStep);
        }

        await Finish(RolloutStatus.Succeeded, DecisionKind.Succeeded, reason, Engine, EventTypes.ServiceDeployed, "success");
        await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RecordDeployed(S.Service, new DeployedVersion
        {
            Version = S.Version,
            Artifact = S.Artifact,
            ReleaseId = S.ReleaseId!,
            DeployedAt = S.FinishedAt!.Value,
        });
    }

    /// <summary>Ends the rollout: persist, publish, then give the environment slot to the next in line.</summary>
    private async Task Finish(RolloutStatus status, DecisionKind kind, string reason, string actor, string eventType, string outcome)
    {
        Transition(status switch
        {
            RolloutStatus.Succeeded => RolloutTrigger.Complete,
            RolloutStatus.RolledBack => RolloutTrigger.CompleteRollback,
            RolloutStatus.Aborted when S.Status == RolloutStatus.RollingBack => RolloutTrigger.CompleteAbort,
            RolloutStatus.Aborted => RolloutTrigger.Abort,
            _ => RolloutTrigger.Fail,
        });
        S.FinishedAt = clock.GetUtcNow();
        S.QueuePosition = 0;
        S.StepDeadline = S.HoldDeadline = null;
        Decide(kind, reason, actor);
        await state.WriteStateAsync();
        await Events.Publish(eventType, Subject, reason, Actor(actor, actor == Engine ? Engine : _actingRole));
        await Events.Publish(EventTypes.PipelineRunFinished, Subject, reason, new Dictionary<string, string>(Describe()) { ["outcome"] = outcome });
        await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).ReleaseSlot(Id);
        await StopReminder();
    }

    private async Task<CommandResult<RolloutSnapshot>> Command(RolloutTrigger trigger, OperatorAction action, DecisionKind kind, string eventType, Action change)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, trigger);
        if (!transition.Allowed) return Refused(transition);

        S.Status = transition.Next;
        change();
        var reason = OperatorReason(kind, action);
        Decide(kind, reason, action.Actor);
        await state.WriteStateAsync();
        await Events.Publish(eventType, Subject, reason, Actor(action.Actor, action.Role));
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    /// <summary>Wakes the rollout when a timed step ends, sooner than the reminder would (the reminder stays the backstop).</summary>
    private void WakeAt(DateTimeOffset? at)
    {
        _wakeTimer?.Dispose();
        _wakeTimer = null;
        if (at is not { } when)
        {
            return;
        }

        var due = when - clock.GetUtcNow();
        if (due > options.Value.ReconcileInterval || due < TimeSpan.Zero)
        {
            return;
        }

        _wakeTimer = this.RegisterGrainTimer(ReconcileOnTimer, new GrainTimerCreationOptions(due + TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan));
    }

    private void Transition(RolloutTrigger trigger)
    {
        var transition = RolloutTransitions.Apply(S.Status, trigger);
        if (!transition.Allowed)
        {
            throw new InvalidOperationException($"rollout '{Id}': {transition.Refusal}");
        }

        S.Status = transition.Next;
    }

    private void Decide(DecisionKind kind, string reason, string actor)
    {
        S.StatusReason = reason;
        S.Decisions.Add(new RolloutDecision { At = clock.GetUtcNow(), Kind = kind.Name(), Reason = reason, Actor = actor });
    }

    private void NoteFailure(string host, string reason)
    {
        if (S.Failures.Count < MaxRecordedFailures)
        {
            S.Failures[host] = reason;
        }
    }

    private async Task StopReminder()
    {
        _wakeTimer?.Dispose();
        _wakeTimer = null;
        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>The hosts a stage deploys to (from the plan, so no per-host stage map is stored); null for every stage.</summary>
    private HashSet<string>? HostsOfStage(int stage) => stage < 0
        ? null
        : S.Steps.Where(s => s.Stage == stage && s.Kind == PlanStepKind.Deploy).SelectMany(s => s.Hosts).ToHashSet(StringComparer.Ordinal);

    private StoredStep? CurrentStep => S.CurrentStep >= 0 && S.CurrentStep < S.Steps.Count ? S.Steps[S.CurrentStep] : null;

    private Dictionary<string, string> ProvisionedLabels(int index)
    {
        var old = S.OldHosts.Values.ElementAtOrDefault(index);
        var labels = old is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(old, StringComparer.Ordinal);
        foreach (var selector in S.Selector)
        {
            labels[selector.Key] = selector.Value;
        }

        return labels;
    }

    /// <summary>The Domain step as stored: its kind and stage, and whichever of hosts, weight, duration and slots it has.</summary>
    private static StoredStep Store(PlanStep step)
    {
        var stored = new StoredStep { Kind = step.Kind, Stage = step.Stage, Description = step.Description };
        switch (step)
        {
            case DeployStep d: stored.Hosts = d.Hosts.ToList(); break;
            case ProvisionStep p: stored.Hosts = p.Hosts.ToList(); break;
            case RetireStep r: stored.Hosts = r.Hosts.ToList(); break;
            case TrafficStep t: stored.Weight = t.Weight; break;
            case PausePlanStep p: stored.Duration = p.Duration; break;
            case AnalysisPlanStep a: stored.Duration = a.Duration; break;
            case BakeStep b: stored.Duration = b.Duration; break;
            case KeepWarmStep k: (stored.Duration, stored.FromSlot) = (k.Duration, k.Slot); break;
            case SwitchStep w: (stored.FromSlot, stored.ToSlot) = (w.FromSlot, w.ToSlot); break;
        }

        return stored;
    }

    private PhaseCounts Counts => _counts ??= new PhaseCounts(S.Hosts.Values.Select(p => (TargetPhase)p));

    private int Count(HostPhase phase) => Counts[(TargetPhase)phase];

    /// <summary>Every phase change goes through here, so the per-phase counts never need a scan of the fleet.</summary>
    private void SetPhase(string host, HostPhase next)
    {
        Counts.Move((TargetPhase)S.Hosts[host], (TargetPhase)next);
        S.Hosts[host] = next;
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
                Decide(DecisionKind.GatesPassed, "every gate passed; asking the environment for a slot", Engine);
                await state.WriteStateAsync();
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
            Transition(status == RolloutStatus.AwaitingApproval ? RolloutTrigger.AwaitApproval : RolloutTrigger.Enqueue);
            S.AdmissionHold = decision.Reason;
            Decide(status == RolloutStatus.AwaitingApproval ? DecisionKind.AwaitingApproval : DecisionKind.Held, decision.Reason, Engine);
            await state.WriteStateAsync();
            await Events.Publish(first ? EventTypes.PipelineRunQueued : EventTypes.RolloutHeld, Subject, decision.Reason, Describe());
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

        Transition(RolloutTrigger.Pause);
        S.HeldByGate = decision.Reason;
        S.HoldDeadline = null;
        Decide(DecisionKind.Held, $"held before step {nextStep + 1}: {decision.Reason}", Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutPaused, Subject, S.StatusReason, Describe());
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
                Decide(DecisionKind.Held, $"still held: {decision.Reason}", Engine);
                await state.WriteStateAsync();
            }

            WakeAt(decision.RecheckAt);
            return false;
        }

        Transition(RolloutTrigger.Resume);
        var was = S.HeldByGate;
        S.HeldByGate = null;
        Decide(DecisionKind.Resumed, $"the gates that held the rollout passed ({was}); going on", Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutResumed, Subject, S.StatusReason, Describe());
        return true;
    }

    private PlanProgress Progress()
    {
        var step = CurrentStep;
        // Only the current step's hosts can be updating: a deploy step ends when none of its hosts is.
        var pending = step?.Kind == PlanStepKind.Deploy ? Count(HostPhase.Updating) : 0;
        var deadline = pending > 0 || S.Status != RolloutStatus.Paused ? S.StepDeadline : S.HoldDeadline;
        return new PlanProgress(
            S.Status,
            _kinds ??= S.Steps.Select(s => s.Kind).ToList(),
            S.CurrentStep,
            step?.Duration,
            S.StepStartedAt,
            S.StepActionDone,
            pending,
            Count(HostPhase.Failed),
            S.AllowedFailures,
            deadline,
            S.PromoteRequested,
            S.Breach,
            clock.GetUtcNow(),
            AwaitingEvidence: Spec.Triggers.Count > 0 && S.Samples.Count == 0);
    }

    private string Subject => "rollout/" + Id;

    /// <summary>The hosts an event moves, named up to a bound so an event stays small on a large fleet.</summary>
    private static string HostList(IReadOnlyList<string> hosts)
    {
        const int named = 50;
        return hosts.Count <= named
            ? string.Join(',', hosts)
            : string.Join(',', hosts.Take(named)) + $",… (+{hosts.Count - named} more)";
    }

    private static string OperatorReason(DecisionKind kind, OperatorAction action) => OperatorReason(kind.Name(), action);

    private static string OperatorReason(string kind, OperatorAction action) =>
        string.IsNullOrWhiteSpace(action.Reason) ? $"{kind} by {action.Actor}" : $"{kind} by {action.Actor}: {action.Reason}";

    private Dictionary<string, string> Describe() => new(StringComparer.Ordinal)
    {
        ["rollout"] = Id,
        ["release"] = S.ReleaseId ?? string.Empty,
        ["environment"] = S.Environment,
        ["service"] = S.Service,
        ["version"] = S.Version,
        ["artifact"] = S.Artifact,
        ["status"] = S.Status.ToString(),
    };

    /// <summary>
    /// The hosts a finished (or interrupted) deploy step moved to the new version, as a few events of up to
    /// <see cref="EventTypes.HostsPerEvent"/> hosts each instead of one event per host: a 10,000-host rollout appends
    /// tens of events to its history, not ten thousand. Ids are fixed by rollout, step and chunk, so publishing again
    /// after a failover records nothing twice. A failed host is published by the host itself, with its reason.
    /// </summary>
    private Task PublishHostOutcomes(StoredStep step, int index) =>
        PublishHosts(EventTypes.HostsUpdated, "updated-" + (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            step.Hosts.Where(h => S.Hosts.GetValueOrDefault(h) == HostPhase.Updated).ToList(),
            $"updated to {S.Version}", data => data["step"] = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

    private async Task PublishHosts(string type, string key, IReadOnlyList<string> hosts, string what, Action<Dictionary<string, string>> describe)
    {
        var chunks = hosts.Chunk(EventTypes.HostsPerEvent).ToList();
        for (var i = 0; i < chunks.Count; i++)
        {
            var data = new Dictionary<string, string>(Describe(), StringComparer.Ordinal)
            {
                ["hosts"] = string.Join(',', chunks[i]),
                ["count"] = chunks[i].Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            describe(data);
            var id = $"{Id}:{key}:{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            await Events.Publish(id, type, Subject, $"{chunks[i].Length} hosts {what}", data);
        }
    }

    /// <summary>The event data of an action someone took: what <see cref="Describe"/> says, plus who and with which roles.</summary>
    private Dictionary<string, string> Actor(string actor, string? role) => new(Describe(), StringComparer.Ordinal)
    {
        [AuditFields.Actor] = actor,
        [AuditFields.Role] = role ?? "unknown",
    };

    private CommandResult<RolloutSnapshot> NotFound() =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"rollout '{Id}' does not exist");

    private static CommandResult<RolloutSnapshot> Refused(Transition transition) =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition, transition.Refusal!);

    private RolloutSnapshot Snapshot()
    {
        var counts = Counts;
        var deploys = S.Steps.Select((s, i) => (s, i)).Where(x => x.s.Kind == PlanStepKind.Deploy).ToList();
        var previous = S.PreviousDeployed?.Version ?? "previous";
        var perVersion = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string key, int n)
        {
            if (n > 0) perVersion[key] = perVersion.GetValueOrDefault(key) + n;
        }

        Add(S.Version, counts[TargetPhase.Updated]);
        Add(previous, counts[TargetPhase.Untouched] + counts[TargetPhase.RolledBack]);
        Add("updating", counts[TargetPhase.Updating]);
        Add("rolling back", counts[TargetPhase.RollingBack]);
        Add("failed", counts[TargetPhase.Failed]);
        Add("retired", counts[TargetPhase.Retired]);
        Add("quarantined", counts[TargetPhase.Quarantined]);

        return new RolloutSnapshot
        {
            Id = Id,
            ReleaseId = S.ReleaseId!,
            Environment = S.Environment,
            Service = S.Service,
            Version = S.Version,
            Artifact = S.Artifact,
            Status = S.Status,
            StatusReason = S.StatusReason,
            Strategy = S.Strategy,
            Batches = deploys.Select(d => d.s.Hosts.Count).ToList(),
            CurrentBatch = deploys.Count(d => d.i <= S.CurrentStep),
            Hosts = new HostCounts
            {
                Targets = S.Hosts.Count,
                Untouched = counts[TargetPhase.Untouched],
                Updating = counts[TargetPhase.Updating],
                Updated = counts[TargetPhase.Updated],
                Failed = counts[TargetPhase.Failed],
                RollingBack = counts[TargetPhase.RollingBack],
                RolledBack = counts[TargetPhase.RolledBack],
                Quarantined = counts[TargetPhase.Quarantined],
            },
            AllowedFailures = S.AllowedFailures,
            Decisions = S.Decisions.ToList(),
            CreatedAt = S.CreatedAt,
            StartedAt = S.StartedAt,
            FinishedAt = S.FinishedAt,
            QueuePosition = S.QueuePosition,
            SubmittedBy = S.SubmittedBy,
            Selector = new Dictionary<string, string>(S.Selector, StringComparer.Ordinal),
            Silo = RuntimeIdentity,
            Failures = new Dictionary<string, string>(S.Failures, StringComparer.Ordinal),
            Steps = S.Steps.Select((s, i) => new PlanStepView
            {
                Kind = s.Kind.ToString(),
                Stage = S.Stages.ElementAtOrDefault(s.Stage) ?? "all hosts",
                Description = s.Description,
                Hosts = s.Hosts.Count,
                State = i < S.CurrentStep || (i == S.CurrentStep && S.Status == RolloutStatus.Succeeded) ? "done"
                    : i == S.CurrentStep ? "running" : "pending",
            }).ToList(),
            CurrentStep = S.CurrentStep + 1,
            CurrentStage = CurrentStep is { } current ? S.Stages.ElementAtOrDefault(current.Stage) : null,
            TrafficWeight = S.TrafficWeight,
            ActiveSlot = S.ActiveSlot,
            HostsPerVersion = perVersion,
            Supersedes = S.Supersedes,
            SupersededBy = S.SupersededBy,
            Analyses = S.Analyses.ToList(),
            HeldBy = S.HeldByGate ?? (S.Status is RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval ? S.AdmissionHold : null),
            Deadline = S.Status switch
            {
                RolloutStatus.RollingBack => S.RollbackDeadline,
                RolloutStatus.Progressing or RolloutStatus.Paused => Progress().Deadline,
                _ => null,
            },
            Quarantined = counts[TargetPhase.Quarantined] == 0
                ? []
                : S.Hosts.Where(h => h.Value == HostPhase.Quarantined).Select(h => h.Key).Order(StringComparer.Ordinal).ToList(),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} rolling back: {Reason}")]
    private static partial void LogRollback(ILogger logger, string rolloutId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId} escalated: {Reason}")]
    private static partial void LogEscalated(ILogger logger, string rolloutId, string reason);
}
