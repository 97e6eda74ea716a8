using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Telemetry;
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
/// This file holds the commands, the reconcile loop and <c>Commit</c>,
/// the one decide → persist → publish path every transition takes; the rest is split by concern: <c>.Steps</c> (each step's
/// action), <c>.Rollback</c> (the Domain rollback plan carried out, its deadline and escalation), <c>.Gates</c>,
/// <c>.Ledger</c> (host answers) and <c>.Views</c> (snapshot and event payloads).
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
    private const string Engine = Decision.Engine;
    private const int MaxRecordedFailures = 50;

    /// <summary>The batch of a rollback's redeploy commands (deploy steps are 0.., a revert is -1).</summary>
    private const int RollbackBatch = -2;
    private static readonly TimeSpan DefaultRollbackWindow = TimeSpan.FromHours(24);

    private EventPublisher? _events;
    private StrategySpec? _spec;
    private IGrainTimer? _wakeTimer;

    /// <summary>The environment has heard of this activation's stored end (see <see cref="Settle"/>).</summary>
    private bool _settled;

    /// <summary>The rollouts this one supersedes have been told, by this activation (see <see cref="SupersedeOlder"/>).</summary>
    private bool _supersedeSent;

    /// <summary>The roles of the person whose command is being carried out (for the audit trail), until the next command.</summary>
    private string? _actingRole;

    /// <summary>The plan's step kinds, for the stepper (the plan is fixed once admitted).</summary>
    private List<PlanStepKind>? _kinds;

    /// <summary>Recent readings of the new version's hosts, in arrival order, for the rollback triggers' windows.</summary>
    private List<HostSample>? _readings;

    /// <summary>Hosts per phase, derived from <see cref="RolloutGrainState.Hosts"/> and kept current by <see cref="SetPhase"/>.</summary>
    private PhaseCounts? _counts;

    /// <summary>Per-stage host and failure counts, derived from the plan and the hosts' phases (see <see cref="PerStage"/>).</summary>
    private StageCounts? _stageCounts;

    /// <summary>See <see cref="Ahead"/>; null until first needed, and again whenever the current step changes.</summary>
    private HashSet<string>? _ahead;

    /// <summary>Where in the next step's hosts the next start ahead looks first (hosts start in plan order).</summary>
    private int _aheadCursor;

    /// <summary>A next step whose gates did not pass when asked to start it ahead: it waits for the boundary, as before.</summary>
    private int _aheadRefused = -1;

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

        if (S.Unannounced.Count > 0)
        {
            // Before anything else this activation announces (a commit publishes whatever is still unannounced first).
            this.RegisterGrainTimer(AnnounceOnTimer, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
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
        if (await environment.Get() is not { } environmentNow)
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

        // Asked to (the API does), the whole plan is checked against the environment's hosts before anything is stored: a
        // wave that matches no host, a blue-green environment with an empty slot, are refused now (422) rather than
        // failing at admission (which they still do, before any host changes, for a draft that does not ask).
        if (draft.RefuseUnplannable)
        {
            var targets = await TargetsNow(environment, environmentNow, draft.Selector);
            var feasibility = RolloutPlanner.Plan(parsed.Value!, new PlanInput
            {
                Hosts = targets,
                ActiveSlot = environmentNow.ActiveSlots.GetValueOrDefault(release.Service),
                // Immutable plans against stand-ins for the hosts it would provision (nothing is provisioned before admission).
                ProvisionedHosts = parsed.Value!.Kind == StrategyKind.Immutable ? targets.Select((_, i) => $"new-host-{i + 1}").ToList() : [],
            });
            if (feasibility.Plan is null)
            {
                return CommandResult<RolloutSnapshot>.Fail(ErrorKind.PolicyRefused, "The rollout cannot be planned against the environment's hosts.",
                    feasibility.Errors.ToDictionary(e => e.Key, e => e.Value));
            }
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
        S.EnvironmentRollbackTimeoutSeconds = (await GrainFactory.Ref<IEnvironmentDeclarationGrain>(draft.Environment).Get())?.Declaration.Rollback?.TimeoutSeconds;
        S.Status = RolloutStatus.Pending;
        List<Decision> decisions = [new(DecisionKind.Created,
            $"release {release.Service} {release.Version} submitted for '{draft.Environment}' ({Spec.Kind} strategy, {Spec.Scope.Kind} scope)", draft.SubmittedBy)];

        var inFlight = Spec.OnConflict == ConflictPolicy.Supersede
            ? (await environment.RolloutsOf(release.Service)).Where(r => r != Id).ToList()
            : [];
        if (inFlight.Count > 0)
        {
            S.Supersedes = string.Join(',', inFlight);
            decisions.Add(new(DecisionKind.Supersedes, $"supersedes {string.Join(", ", inFlight.Select(r => $"'{r}'"))} of the same service", draft.SubmittedBy));
        }

        // The reminder first: a rollout in storage always has one driving it. (A reminder whose rollout never
        // reached storage finds no state on its first tick and removes itself.) The release learns of the rollout
        // before it is stored: who deploys it is what separation of duties and the agents' artifact access read, so a
        // stored rollout the release did not know of would let its submitter approve it. (The other way round, a
        // failed store leaves the release listing a rollout that does not exist until the pipeline's retry stores it.)
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        await GrainFactory.Ref<IReleaseGrain>(release.Id).AddRollout(Id, draft.SubmittedBy);
        await Commit(decisions, [new Announcement(EventTypes.RolloutCreated, By: (draft.SubmittedBy, draft.SubmitterRole))]);

        await SupersedeOlder();
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
                PendingInStep, S.StepDeadline, Spec.Deadlines, clock.GetUtcNow());
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
        await AbortWith(RollbackCause.Abort, Decisions.OperatorReason("aborted", action.Actor, action.Reason), action.Actor, transition);
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
        await AbortWith(RollbackCause.Superseded, $"superseded by rollout '{byRollout}' (submitted by {actor})", actor, transition,
            new Announcement(EventTypes.RolloutSuperseded, $"superseded by rollout '{byRollout}'"));
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    /// <summary>
    /// Stops the older rollouts of the service this one supersedes (decided and stored by Start). Supersede changes
    /// nothing the second time, so a waiting rollout sends it again once per activation: a call that failed in Start
    /// (the older rollout's storage out, its silo gone) is not lost, and this rollout does not wait behind it for ever.
    /// </summary>
    private async Task SupersedeOlder()
    {
        if (_supersedeSent || string.IsNullOrEmpty(S.Supersedes))
        {
            return;
        }

        foreach (var older in S.Supersedes.Split(','))
        {
            await GrainFactory.Ref<IRolloutGrain>(older).Supersede(Id, S.SubmittedBy);
        }

        _supersedeSent = true;
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

    public Task OnHostReported(HostCommandStatus status) => OnHostsReported([status]);

    public async Task OnHostsReported(IReadOnlyList<HostCommandStatus> statuses)
    {
        // Every answer is recorded first, then the rollout decides once: a batch moves the phases as the same answers
        // one by one would (the ledger reads each host's phase as it stands), and the stepper sees where they leave it.
        var changed = false;
        foreach (var status in statuses)
        {
            changed |= S.Hosts.TryGetValue(status.HostId, out var phase) && Record(status.HostId, phase, status);
        }

        if (changed)
        {
            await Reconcile(redeliver: false);
        }
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
            await Commit(null);
        }

        // The triggers judge a window of readings per host (kept in memory: readings are observations, not decisions;
        // after a failover the window starts again from each host's latest reading, which is persisted).
        static HostSample Reading(HostMetricsSample s) => new(s.HostId, s.ErrorRatePercent, s.P99LatencyMs, s.FailedHealthChecks, s.Requests);
        _readings ??= first ? [] : S.Samples.Values.Where(s => s.HostId != sample.HostId).Select(Reading).ToList();
        _readings.Add(Reading(sample));
        var keep = Spec.Triggers.Max(t => t.EffectiveWindow.Samples);
        if (_readings.Count > keep * Math.Max(1, S.Samples.Count) * 2)
        {
            _readings = TriggerJudge.Window(_readings, keep).ToList();
        }

        var verdict = TriggerJudge.Evaluate(Spec.Triggers, _readings);
        if (verdict.Breached && S.Breach is null)
        {
            // The breach is evidence the stepper reads: stored before it is announced, then acted on.
            S.Breach = $"rollback trigger breached: {verdict.Reason}";
            await Commit(null, new Announcement(EventTypes.TriggerBreached, S.Breach));
            await Reconcile(redeliver: false);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Reconcile(redeliver: true);

    /// <summary>
    /// Publishes the events the stored state holds as unannounced (histories ignore the ids they hold, so events that did
    /// go out are recorded once) and stores that they went out, so a finished rollout does not announce them again at
    /// its next activation.
    /// </summary>
    private async Task AnnounceOnTimer(CancellationToken cancellationToken)
    {
        if (S.Unannounced.Count == 0)
        {
            return;
        }

        await Events.PublishInOrder(S.Unannounced);
        S.Unannounced = [];
        await state.WriteStateAsync(cancellationToken);
    }

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

    /// <summary>
    /// The reconcile loop: ask the stepper what to do, do it, persist, and ask again until it says wait.
    /// With <paramref name="redeliver"/> (reminder ticks, reactivation) commands of hosts that have not
    /// reported are sent again first.
    /// </summary>
    private async Task Reconcile(bool redeliver)
    {
        using var span = EngineTelemetry.Start("rollout.reconcile", rollout: Id, release: S.ReleaseId, environment: S.Environment, service: S.Service);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await ReconcileOnce(redeliver);
        }
        finally
        {
            EngineTelemetry.DecisionDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>(EngineTelemetry.EnvironmentTag, S.Environment));
        }
    }

    private async Task ReconcileOnce(bool redeliver)
    {
        if (S.ReleaseId is null)
        {
            await StopReminder();
            return;
        }

        switch (S.Status)
        {
            case RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval:
                await SupersedeOlder();
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
                // Terminal: nothing to drive any more; the environment may not have heard of the end yet.
                if (!_settled)
                {
                    await Settle();
                }

                return;
        }

        if (redeliver && CurrentStep is { Kind: PlanStepKind.Deploy } deploying)
        {
            Dispatch(deploying.Hosts.Where(h => S.Hosts[h] == HostPhase.Updating).ToList(), HostCommandKind.Apply);
            if (Ahead.Count > 0)
            {
                Dispatch([.. Ahead], HostCommandKind.Apply, S.CurrentStep + 1);
            }
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
            var progress = Progress();
            var decision = PlanStepper.Next(progress);
            switch (decision.Action)
            {
                case PlanAction.Wait:
                    if (decision.AwaitsOperator && S.Status == RolloutStatus.Progressing)
                    {
                        // Only a person ends this wait: the rollout says so (Paused), with the deadline it waits until.
                        await AwaitOperator(decision);
                    }
                    else if (S.Status == RolloutStatus.Progressing && CurrentStep is { Kind: PlanStepKind.Deploy })
                    {
                        await StartAhead(progress);
                    }

                    WakeAt(decision.WakeAt);
                    return;
                case PlanAction.ExpirePending:
                    foreach (var host in CurrentStep!.Hosts.Where(h => S.Hosts[h] == HostPhase.Updating).ToList())
                    {
                        SetPhase(host, (HostPhase)HostLedger.OnDeadline(TargetPhase.Updating));
                        NoteFailure(host, "no report before the progress deadline");
                    }

                    await Commit(new Decision(DecisionKind.Deadline, decision.Reason, Engine));
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

    /// <summary>
    /// Ends the rollout: one commit (the decisions that led here, the end, and the events announcing them), then the
    /// environment slot goes to the next in line.
    /// </summary>
    private async Task Finish(RolloutStatus outcome, DecisionKind kind, string reason, string actor, string eventType, string outcomeName,
        IReadOnlyList<Decision>? prior = null, IReadOnlyList<Announcement>? before = null)
    {
        var decisions = (prior ?? []).ToList();
        var from = decisions.Aggregate(S.Status, (status, d) => d.After(status));
        decisions.Add(Decisions.Finish(from, outcome, kind, reason, actor));
        S.FinishedAt = clock.GetUtcNow();
        if (outcome == RolloutStatus.RolledBack && S.Decisions.LastOrDefault(d => d.Kind == DecisionKind.Rollback.Name()) is { } decided)
        {
            EngineTelemetry.TimeToSafe.Record((S.FinishedAt.Value - decided.At).TotalSeconds,
                new KeyValuePair<string, object?>(EngineTelemetry.EnvironmentTag, S.Environment), new KeyValuePair<string, object?>(EngineTelemetry.ServiceTag, S.Service));
        }

        S.QueuePosition = 0;
        S.StepDeadline = S.HoldDeadline = null;
        await Commit(decisions, [
            .. before ?? [],
            new Announcement(eventType, reason, By: (actor, actor == Engine ? Engine : _actingRole)),
            new Announcement(EventTypes.PipelineRunFinished, reason, new Dictionary<string, string> { ["outcome"] = outcomeName }),
        ]);
        await Settle();
    }

    /// <summary>
    /// What the environment learns of a stored end: the service's deployed record first (so the next rollout of the
    /// service, admitted by the slot, reads it), then the slot for the next in line, and the reminder stops last.
    /// Each call is idempotent: while the reminder lives, its tick finds the rollout ended and settles it again, so a
    /// call that failed here (a silo died, storage was out) is retried rather than leaving the slot held for ever.
    /// </summary>
    private async Task Settle()
    {
        _settled = false;
        var environment = GrainFactory.Ref<IEnvironmentGrain>(S.Environment);
        if (S.Status == RolloutStatus.Succeeded)
        {
            await environment.RecordDeployed(S.Service, new DeployedVersion
            {
                Version = S.Version,
                Artifact = S.Artifact,
                ReleaseId = S.ReleaseId!,
                DeployedAt = S.FinishedAt!.Value,
            });
        }
        else if (S.Status == RolloutStatus.RolledBack || (S.Status == RolloutStatus.Failed && Count(HostPhase.Quarantined) > 0))
        {
            // Rolled back, or escalated with silent hosts quarantined: the hosts that serve run the previous release.
            await RestoreEnvironmentRecord();
        }

        await environment.ReleaseSlot(Id);
        await StopReminder();
        _settled = true;
    }

    private async Task<CommandResult<RolloutSnapshot>> Command(RolloutTrigger trigger, OperatorAction action, DecisionKind kind, string eventType, Action change)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, trigger);
        if (!transition.Allowed) return Refused(transition);

        change();
        await Commit(Decisions.ByOperator(kind, trigger, action.Actor, action.Reason), new Announcement(eventType, By: (action.Actor, action.Role)));
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

    /// <summary>
    /// The one decide → persist → publish path every transition takes: the decisions are applied to the state (status by
    /// the state machine, the decision log, the status reason), the state is written once, and only then are the events
    /// published, in order, so an acknowledged transition is in storage before anyone hears of it. A write that fails
    /// publishes nothing and drops this activation: the next call or reminder tick starts again from what storage holds
    /// and decides again. Commands a decision sends (a step's hosts, a rollback's) go after its commit, events included:
    /// sent between the write and the events, the hosts' thousands of storage writes came before the events' one queue
    /// message at the store, and the caller waited for them (a 10,000-host rollback call on Azurite returned after 3.9 s
    /// instead of 0.1 s).
    /// </summary>
    private async Task Commit(IReadOnlyList<Decision> decisions, IReadOnlyList<Announcement> events)
    {
        foreach (var decision in decisions)
        {
            Apply(decision);
        }

        // The events are stored with the decision (S.Unannounced, an outbox) and published once it is stored; what the
        // last publish left unannounced goes first.
        foreach (var announced in events)
        {
            var data = announced.By is { } by ? Actor(by.Actor, by.Role) : Describe();
            foreach (var (key, value) in announced.Extra ?? new Dictionary<string, string>())
            {
                data[key] = value;
            }

            S.Unannounced.Add(Events.Create(announced.Id, announced.Type, Subject, announced.Reason ?? S.StatusReason, data));
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            this.DeactivateOnIdle();
            throw;
        }

        // One stream message for the commit's events where they fit (a step boundary announces three or more): on Azure
        // queue streams each message is a storage round trip on the rollout's critical path. Once out, they are dropped
        // from the state (stored so with the next commit; an activation before that announces them again, harmlessly).
        if (S.Unannounced.Count > 0)
        {
            await Events.PublishInOrder(S.Unannounced);
            S.Unannounced = [];
        }
    }

    /// <summary>Commits one decision (or, with none, what changed in the state) and its events.</summary>
    private Task Commit(Decision? decision, params Announcement[] events) => Commit(decision is null ? [] : [decision], events);

    /// <summary>
    /// A decision applied to the state: the status the state machine gives, and the decision log. A step start names its
    /// step and kind, a hold its gates (the rollout's timing reads them).
    /// </summary>
    private void Apply(Decision decision)
    {
        S.Status = decision.After(S.Status);
        S.StatusReason = decision.Reason;
        var step = decision.Kind == DecisionKind.StepStarted && S.CurrentStep >= 0 && S.CurrentStep < S.Steps.Count ? S.Steps[S.CurrentStep] : null;
        S.Decisions.Add(new RolloutDecision
        {
            At = clock.GetUtcNow(),
            Kind = decision.Kind.Name(),
            Reason = decision.Reason,
            Actor = decision.Actor,
            Step = step is null ? null : S.CurrentStep + 1,
            StepKind = step is null ? null : step.Kind == PlanStepKind.Pause && step.Duration is null ? "PauseForPromote" : step.Kind.ToString(),
            Gates = decision.Gates,
        });
    }

    /// <summary>
    /// An event a commit publishes once the state is stored. Its data is the rollout's description at that moment (with
    /// who acted, when <paramref name="By"/> is set) plus <paramref name="Extra"/>; its reason, the status reason unless
    /// given; its id, fixed when given (a republished chunk is recorded once).
    /// </summary>
    private sealed record Announcement(
        string Type, string? Reason = null, IReadOnlyDictionary<string, string>? Extra = null, string? Id = null, (string Actor, string? Role)? By = null);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} rolling back: {Reason}")]
    private static partial void LogRollback(ILogger logger, string rolloutId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId} escalated: {Reason}")]
    private static partial void LogEscalated(ILogger logger, string rolloutId, string reason);
}
