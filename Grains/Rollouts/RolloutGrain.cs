using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Rollouts;

/// <summary>
/// The execution of one release in one environment. Progress is event-driven (hosts report one-way) and
/// re-driven by a reminder, so a rollout whose silo dies continues on another: the reminder reactivates it,
/// it re-delivers the commands of hosts that have not reported (hosts answer re-delivery idempotently from
/// their own stored state) and carries on. The rollout persists at every decision, before acting on it.
/// </summary>
public sealed partial class RolloutGrain(
    [PersistentState("rollout", Stores.Blob)] IPersistentState<RolloutGrainState> state,
    TimeProvider clock,
    IOptions<RolloutOptions> options,
    ILogger<RolloutGrain> logger) : Grain, IRolloutGrain, IRemindable
{
    private const string ReminderName = "reconcile";
    private const string Engine = "engine";
    private const int MaxRecordedFailures = 50;

    private EventPublisher? _events;

    /// <summary>Hosts per phase, derived from <see cref="RolloutGrainState.Hosts"/> and kept current by <see cref="SetPhase"/>.</summary>
    private int[]? _counts;

    private RolloutGrainState S => state.State;

    private string Id => this.GetPrimaryKeyString();

    private EventPublisher Events => _events ??= new EventPublisher(
        this.GetStreamProvider(Stores.Events), GrainKeys.RolloutEvents(Id), clock);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A live rollout that was reactivated (failover, restart) re-drives itself promptly instead of
        // waiting for the next reminder tick.
        if (S.ReleaseId is not null && IsLive(S.Status))
        {
            this.RegisterGrainTimer(ReconcileAfterActivation, new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan));
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

        var spec = ParseSpec(draft.Strategy);
        if (!spec.IsValid)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.Validation, "the rolling strategy is invalid", spec.Errors);
        }

        var release = await GrainFactory.GetGrain<IReleaseGrain>(draft.ReleaseId).Get();
        if (release is null)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"release '{draft.ReleaseId}' does not exist");
        }

        var environment = GrainFactory.GetGrain<IEnvironmentGrain>(draft.Environment);
        if (await environment.Get() is null)
        {
            return CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"environment '{draft.Environment}' does not exist");
        }

        S.ReleaseId = release.Id;
        S.Environment = draft.Environment;
        S.Service = release.Service;
        S.Version = release.Version;
        S.Artifact = release.Artifact;
        S.Strategy = draft.Strategy;
        S.SubmittedBy = draft.SubmittedBy;
        S.Selector = new Dictionary<string, string>(draft.Selector, StringComparer.Ordinal);
        S.ProgressDeadlineSeconds = draft.Strategy.ProgressDeadlineSeconds ?? options.Value.DefaultProgressDeadlineSeconds;
        S.CreatedAt = clock.GetUtcNow();
        S.Status = RolloutStatus.Pending;
        Decide("created", $"release {release.Service} {release.Version} submitted for '{draft.Environment}'", draft.SubmittedBy);

        // The reminder first: a rollout in storage always has one driving it. (A reminder whose rollout never
        // reached storage finds no state on its first tick and removes itself.)
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IReleaseGrain>(release.Id).AddRollout(Id);
        await Events.Publish(EventTypes.RolloutCreated, Subject, S.StatusReason, Describe());

        await RequestSlot(environment);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    [ReadOnly]
    public Task<RolloutSnapshot?> Get() => Task.FromResult(S.ReleaseId is null ? null : Snapshot());

    public Task<CommandResult<RolloutSnapshot>> Pause(OperatorAction action) =>
        Command(RolloutTrigger.Pause, action, "paused", EventTypes.RolloutPaused);

    public async Task<CommandResult<RolloutSnapshot>> Resume(OperatorAction action)
    {
        var result = await Command(RolloutTrigger.Resume, action, "resumed", EventTypes.RolloutResumed);
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

        var reason = OperatorReason("aborted", action);
        if (transition.Next == RolloutStatus.Aborted)
        {
            // Never admitted: no host was touched, so there is nothing to roll back.
            await Finish(RolloutStatus.Aborted, "aborted", reason, action.Actor, EventTypes.RolloutAborted, "failure");
            return CommandResult<RolloutSnapshot>.Success(Snapshot());
        }

        await BeginRollback(RollbackCause.Abort, reason, action.Actor, RolloutTrigger.Abort);
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
    }

    public async Task<CommandResult<RolloutSnapshot>> Rollback(OperatorAction action)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Rollback);
        if (!transition.Allowed) return Refused(transition);

        await BeginRollback(RollbackCause.Operator, OperatorReason("rollback requested", action), action.Actor, RolloutTrigger.Rollback);
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
                await GrainFactory.GetGrain<IEnvironmentGrain>(environment).ReleaseSlot(Id);
            }

            return;
        }

        if (S.Status is RolloutStatus.Pending or RolloutStatus.Queued)
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

    public Task ReceiveReminder(string reminderName, TickStatus status) => Reconcile(redeliver: true);

    private async Task ReconcileAfterActivation(CancellationToken cancellationToken)
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
                Decide("queued", admission.Reason, Engine);
            }

            S.QueuePosition = admission.Position;
            await state.WriteStateAsync();
            if (first)
            {
                await Events.Publish(EventTypes.PipelineRunQueued, Subject, admission.Reason, Describe());
            }
        }
    }

    /// <summary>Holds a slot now: fix the plan from the environment's hosts and start the first batch.</summary>
    private async Task Admit()
    {
        var environment = GrainFactory.GetGrain<IEnvironmentGrain>(S.Environment);
        S.PreviousDeployed = (await environment.Get())?.Services.GetValueOrDefault(S.Service);
        var hosts = (await environment.GetHostIndex())
            .Where(h => S.Selector.All(s => h.Labels.TryGetValue(s.Key, out var v) && string.Equals(v, s.Value, StringComparison.Ordinal)))
            .ToList();
        var plan = RollingPlanner.Plan(ParseSpec(S.Strategy).Value!, hosts.Count);
        var targets = S.Selector.Count == 0 ? "every host" : "hosts labelled " + string.Join(", ", S.Selector.Select(s => s.Key + "=" + s.Value));

        Transition(RolloutTrigger.Admit);
        S.QueuePosition = 0;
        S.StartedAt = clock.GetUtcNow();
        Decide("admitted", $"admitted to '{S.Environment}', targeting {targets}; {plan.Explanation}", Engine);
        await Events.Publish(EventTypes.PipelineRunStarted, Subject, S.StatusReason, Describe());

        if (!plan.IsFeasible)
        {
            // The plan cannot run: fail before any host changes.
            await Finish(RolloutStatus.Failed, "plan-infeasible", plan.Infeasible!, Engine, EventTypes.RolloutFailed, "failure");
            return;
        }

        var ids = hosts.Select(h => h.HostId).ToList();
        S.Batches = [];
        var offset = 0;
        foreach (var size in plan.Batches)
        {
            S.Batches.Add(ids.GetRange(offset, size));
            offset += size;
        }

        S.AllowedFailures = plan.AllowedFailures;
        S.Hosts = ids.ToDictionary(id => id, _ => HostPhase.Untouched, StringComparer.Ordinal);
        _counts = null;
        await state.WriteStateAsync();
        await Reconcile(redeliver: false);
    }

    /// <summary>
    /// The reconcile loop: ask the stepper what to do, do it, persist, and ask again until it says wait.
    /// With <paramref name="redeliver"/> (reminder ticks, reactivation) commands of hosts that have not
    /// reported are delivered again first.
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
            case RolloutStatus.Pending or RolloutStatus.Queued:
                await RequestSlot(GrainFactory.GetGrain<IEnvironmentGrain>(S.Environment));
                return;
            case RolloutStatus.RollingBack:
                await ContinueRollback(redeliver);
                return;
            case RolloutStatus.Progressing or RolloutStatus.Paused:
                break;
            default:
                // Terminal: nothing to drive any more.
                await StopReminder();
                return;
        }

        if (redeliver && S.CurrentBatch >= 0)
        {
            await Deliver(S.Batches[S.CurrentBatch].Where(h => S.Hosts[h] == HostPhase.Updating).ToList(), HostCommandKind.Apply);
        }

        for (var guard = 0; guard <= S.Batches.Count + 2; guard++)
        {
            var decision = RollingStepper.Next(Progress());
            switch (decision.Action)
            {
                case StepAction.Wait:
                    return;
                case StepAction.ExpirePending:
                    foreach (var host in S.Batches[S.CurrentBatch].Where(h => S.Hosts[h] == HostPhase.Updating))
                    {
                        SetPhase(host, HostPhase.Failed);
                        NoteFailure(host, "no report before the progress deadline");
                    }

                    Decide("deadline", decision.Reason, Engine);
                    await state.WriteStateAsync();
                    continue;
                case StepAction.RollBack:
                    await BeginRollback(RollbackCause.FailureBudget, decision.Reason, Engine, RolloutTrigger.DecideRollback);
                    return;
                case StepAction.Complete:
                    await Complete(decision.Reason);
                    return;
                case StepAction.StartBatch:
                    await StartBatch(decision.Batch, decision.Reason);
                    continue;
            }
        }
    }

    private async Task StartBatch(int batch, string reason)
    {
        if (S.CurrentBatch >= 0)
        {
            await Events.Publish(EventTypes.RolloutBatchCompleted, Subject, $"batch {S.CurrentBatch + 1} done", Describe());
        }

        S.CurrentBatch = batch;
        S.BatchDeadline = clock.GetUtcNow().AddSeconds(S.ProgressDeadlineSeconds);
        var hosts = S.Batches[batch];
        foreach (var host in hosts)
        {
            SetPhase(host, HostPhase.Updating);
        }

        Decide("batch-started", reason, Engine);
        await state.WriteStateAsync();
        await Events.Publish(EventTypes.RolloutBatchStarted, Subject, reason, new Dictionary<string, string>(Describe())
        {
            ["hosts"] = HostList(hosts),
        });
        await Deliver(hosts, HostCommandKind.Apply);
    }

    private async Task BeginRollback(RollbackCause cause, string reason, string actor, RolloutTrigger trigger)
    {
        Transition(trigger);
        S.RollbackCause = cause;
        foreach (var host in S.Hosts.Where(h => h.Value is HostPhase.Updating or HostPhase.Updated or HostPhase.Failed).Select(h => h.Key).ToList())
        {
            SetPhase(host, HostPhase.RollingBack);
        }

        Decide(cause == RollbackCause.Abort ? "abort" : "rollback", reason, actor);
        await state.WriteStateAsync();
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        LogRollback(logger, Id, reason);
        await Events.Publish(EventTypes.RolloutRollbackDecided, Subject, reason, new Dictionary<string, string>(Describe())
        {
            ["hosts"] = HostList(S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList()),
        });
        await ContinueRollback(redeliver: true);
    }

    private async Task ContinueRollback(bool redeliver)
    {
        if (redeliver && Count(HostPhase.RollingBack) > 0)
        {
            await Deliver(S.Hosts.Where(h => h.Value == HostPhase.RollingBack).Select(h => h.Key).ToList(), HostCommandKind.Revert);
        }

        if (Count(HostPhase.RollingBack) > 0)
        {
            // Hosts are still returning to their previous artifact.
            return;
        }

        var reverted = Count(HostPhase.RolledBack);
        var stuck = Count(HostPhase.Failed);
        var cause = S.Decisions.LastOrDefault(d => d.Kind is "rollback" or "abort")?.Reason ?? "rollback";
        var outcome = $"{reverted} hosts returned to their previous artifact" + (stuck > 0 ? $", {stuck} failed to revert" : string.Empty);
        if (S.RollbackCause == RollbackCause.Abort)
        {
            await Finish(RolloutStatus.Aborted, "aborted", $"{cause}; {outcome}", Engine, EventTypes.ServiceRolledBack, "failure");
        }
        else
        {
            var hadSucceeded = S.Decisions.Any(d => d.Kind == "succeeded");
            await Finish(RolloutStatus.RolledBack, "rolled-back", $"rolled back ({cause}); {outcome}", Engine, EventTypes.ServiceRolledBack, "failure");
            if (hadSucceeded)
            {
                await GrainFactory.GetGrain<IEnvironmentGrain>(S.Environment).RestoreDeployed(S.Service, S.ReleaseId!, S.PreviousDeployed);
            }
        }
    }

    /// <summary>Sends the command to every host at once and records the answers that are already final.</summary>
    private async Task Deliver(IReadOnlyList<string> hosts, HostCommandKind kind)
    {
        if (hosts.Count == 0)
        {
            return;
        }

        var statuses = await Task.WhenAll(hosts.Select(h => GrainFactory.GetGrain<IHostGrain>(h).Execute(new HostCommand
        {
            RolloutId = Id,
            Kind = kind,
            Batch = kind == HostCommandKind.Apply ? S.CurrentBatch : -1,
            Artifact = kind == HostCommandKind.Apply ? S.Artifact : null,
            Version = kind == HostCommandKind.Apply ? S.Version : null,
        })));

        foreach (var status in statuses)
        {
            Record(status.HostId, S.Hosts[status.HostId], status);
        }
    }

    /// <summary>Applies a host's answer to its phase; returns false when it changes nothing (stale or pending).</summary>
    private bool Record(string host, HostPhase phase, HostCommandStatus status)
    {
        if (status.Outcome == CommandOutcome.Pending)
        {
            return false;
        }

        // An answer counts only for the command the phase is waiting on: an apply that finishes after the
        // rollout decided to roll back is not the host's revert.
        var next = (phase, status.Kind, status.Outcome) switch
        {
            (HostPhase.Updating, HostCommandKind.Apply, CommandOutcome.Succeeded) => HostPhase.Updated,
            (HostPhase.Updating, HostCommandKind.Apply, CommandOutcome.Failed) => HostPhase.Failed,
            (HostPhase.RollingBack, HostCommandKind.Revert, CommandOutcome.Succeeded) => HostPhase.RolledBack,
            (HostPhase.RollingBack, HostCommandKind.Revert, CommandOutcome.Failed) => HostPhase.Failed,
            _ => phase,
        };
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
        await Finish(RolloutStatus.Succeeded, "succeeded", reason, Engine, EventTypes.ServiceDeployed, "success");
        await GrainFactory.GetGrain<IEnvironmentGrain>(S.Environment).RecordDeployed(S.Service, new DeployedVersion
        {
            Version = S.Version,
            Artifact = S.Artifact,
            ReleaseId = S.ReleaseId!,
            DeployedAt = S.FinishedAt!.Value,
        });
    }

    /// <summary>Ends the rollout: persist, publish, then give the environment slot to the next in line.</summary>
    private async Task Finish(RolloutStatus status, string kind, string reason, string actor, string eventType, string outcome)
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
        Decide(kind, reason, actor);
        await state.WriteStateAsync();
        await Events.Publish(eventType, Subject, reason, Describe());
        await Events.Publish(EventTypes.PipelineRunFinished, Subject, reason, new Dictionary<string, string>(Describe()) { ["outcome"] = outcome });
        await GrainFactory.GetGrain<IEnvironmentGrain>(S.Environment).ReleaseSlot(Id);
        await StopReminder();
    }

    private async Task<CommandResult<RolloutSnapshot>> Command(RolloutTrigger trigger, OperatorAction action, string kind, string eventType)
    {
        if (S.ReleaseId is null) return NotFound();
        var transition = RolloutTransitions.Apply(S.Status, trigger);
        if (!transition.Allowed) return Refused(transition);

        S.Status = transition.Next;
        var reason = OperatorReason(kind, action);
        Decide(kind, reason, action.Actor);
        await state.WriteStateAsync();
        await Events.Publish(eventType, Subject, reason, Describe());
        return CommandResult<RolloutSnapshot>.Success(Snapshot());
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

    private void Decide(string kind, string reason, string actor)
    {
        S.StatusReason = reason;
        S.Decisions.Add(new RolloutDecision { At = clock.GetUtcNow(), Kind = kind, Reason = reason, Actor = actor });
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
        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private int[] Counts
    {
        get
        {
            if (_counts is null)
            {
                _counts = new int[Enum.GetValues<HostPhase>().Length];
                foreach (var phase in S.Hosts.Values)
                {
                    _counts[(int)phase]++;
                }
            }

            return _counts;
        }
    }

    private int Count(HostPhase phase) => Counts[(int)phase];

    /// <summary>Every phase change goes through here, so the per-phase counts never need a scan of the fleet.</summary>
    private void SetPhase(string host, HostPhase next)
    {
        var counts = Counts;
        counts[(int)S.Hosts[host]]--;
        counts[(int)next]++;
        S.Hosts[host] = next;
    }

    private RollingProgress Progress() => new(
        S.Status,
        S.Batches.Select(b => b.Count).ToList(),
        S.CurrentBatch,
        // Only the current batch's hosts can be updating: a batch ends when none of its hosts is.
        Count(HostPhase.Updating),
        Count(HostPhase.Failed),
        S.AllowedFailures,
        S.BatchDeadline,
        clock.GetUtcNow());

    private static Domain.Validation.Validated<RollingSpec> ParseSpec(RollingStrategySpec s) => RollingSpecParser.Parse(
        s.MaxSurge, s.MaxUnavailable, s.MinimumHealthyHosts?.Type, s.MinimumHealthyHosts?.Value, s.Preset, s.MaxFailures, "strategy.");

    private static bool IsLive(RolloutStatus status) => !status.IsTerminal();

    private string Subject => "rollout/" + Id;

    /// <summary>The hosts an event moves, named up to a bound so an event stays small on a large fleet.</summary>
    private static string HostList(IReadOnlyList<string> hosts)
    {
        const int named = 50;
        return hosts.Count <= named
            ? string.Join(',', hosts)
            : string.Join(',', hosts.Take(named)) + $",… (+{hosts.Count - named} more)";
    }

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

    private CommandResult<RolloutSnapshot> NotFound() =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"rollout '{Id}' does not exist");

    private static CommandResult<RolloutSnapshot> Refused(Transition transition) =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition, transition.Refusal!);

    private RolloutSnapshot Snapshot()
    {
        var counts = Counts;
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
            Batches = S.Batches.Select(b => b.Count).ToList(),
            CurrentBatch = S.CurrentBatch + 1,
            Hosts = new HostCounts
            {
                Targets = S.Hosts.Count,
                Untouched = counts[(int)HostPhase.Untouched],
                Updating = counts[(int)HostPhase.Updating],
                Updated = counts[(int)HostPhase.Updated],
                Failed = counts[(int)HostPhase.Failed],
                RollingBack = counts[(int)HostPhase.RollingBack],
                RolledBack = counts[(int)HostPhase.RolledBack],
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
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} rolling back: {Reason}")]
    private static partial void LogRollback(ILogger logger, string rolloutId, string reason);
}
