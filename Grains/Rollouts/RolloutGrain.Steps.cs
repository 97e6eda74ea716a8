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

/// <summary>Steps: admission into the plan, each step's action, analysis conclusions, deadlines and waits for a person.</summary>
public sealed partial class RolloutGrain
{
    /// <summary>The environment's hosts a rollout with this selector targets now, in plan order; quarantined hosts are never targets.</summary>
    private static async Task<IReadOnlyList<PlanHost>> TargetsNow(
        IEnvironmentGrain environment, EnvironmentSnapshot? snapshot, IReadOnlyDictionary<string, string> selector)
    {
        var quarantined = snapshot?.Quarantined.Select(q => q.HostId).ToHashSet(StringComparer.Ordinal) ?? [];
        return (await environment.GetHostIndex())
            .Where(h => !quarantined.Contains(h.HostId))
            .Where(h => selector.All(s => h.Labels.TryGetValue(s.Key, out var v) && string.Equals(v, s.Value, StringComparison.Ordinal)))
            .Select(h => new PlanHost(h.HostId, h.Labels))
            .ToList();
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
        var admitted = new Decision(DecisionKind.Admitted,
            $"admitted to '{S.Environment}', targeting {targets}" + (result.Plan is null ? string.Empty : "; " + result.Plan.Explanation), Engine, RolloutTrigger.Admit);
        var started = new Announcement(EventTypes.PipelineRunStarted, admitted.Reason);

        if (result.Plan is not { } plan)
        {
            // The plan cannot run (the fleet changed since the request was checked): fail before any host changes.
            var why = string.Join("; ", result.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
            await Finish(RolloutStatus.Failed, DecisionKind.PlanInfeasible, why, Engine, EventTypes.RolloutFailed, "failure", [admitted], [started]);
            return;
        }

        S.Stages = plan.Stages.Select(s => s.Name).ToList();
        S.Steps = plan.Steps.Select(Store).ToList();
        _kinds = null;
        AttachJudges();
        S.Hosts = [];
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
        _stageCounts = null;
        await Commit(admitted, started);
        await Reconcile(redeliver: false);
    }

    /// <summary>Starts a step (or carries out its action again); false when the rollout cannot go on (it paused).</summary>
    private async Task<bool> StartStep(int index, string reason)
    {
        var now = clock.GetUtcNow();

        // Announced with the step's start, once it is stored: the hosts the finished deploy step moved.
        List<Announcement> done = [];
        // A deploy step right after a deploy step may have started its first hosts already (StartAhead): a prefix of its list.
        var startedAhead = index == S.CurrentStep + 1 && CurrentStep is { Kind: PlanStepKind.Deploy } && S.Steps[index].Kind == PlanStepKind.Deploy
            ? StartedFrom(S.Steps[index].Hosts, 0)
            : 0;

        if (index != S.CurrentStep)
        {
            if (CurrentStep is { Kind: PlanStepKind.Deploy } finished)
            {
                done.AddRange(HostOutcomes(finished, S.CurrentStep));
                done.Add(new Announcement(EventTypes.RolloutBatchCompleted, $"step {S.CurrentStep + 1} done"));
            }

            S.CurrentStep = index;
            (_ahead, _aheadCursor, _aheadRefused) = (null, 0, -1);
            S.StepStartedAt = now;
            S.StepActionDone = false;
            S.PromoteRequested = false;
            S.StepDeadline = null;
        }

        var step = S.Steps[index];
        var stageName = S.Stages.ElementAtOrDefault(step.Stage) ?? "all hosts";
        var why = $"{reason}: {step.Description} [{stageName}]";
        var stepStarted = new Decision(DecisionKind.StepStarted, why, Engine);
        switch (step.Kind)
        {
            case PlanStepKind.Deploy:
                S.StepActionDone = true;
                S.StepDeadline = now + Spec.Deadlines.Progress;
                var starting = startedAhead == 0 ? step.Hosts : step.Hosts.Skip(startedAhead).ToList();
                foreach (var host in starting)
                {
                    SetPhase(host, HostPhase.Updating);
                }

                if (startedAhead > 0)
                {
                    stepStarted = stepStarted with
                    {
                        Reason = $"{why}; {startedAhead} of its {step.Hosts.Count} hosts started ahead, as hosts of step {index} finished (at most {step.Hosts.Count} changing at once)",
                    };
                }

                await Commit([stepStarted], [.. done, new Announcement(EventTypes.RolloutBatchStarted, why, new Dictionary<string, string>
                {
                    ["hosts"] = HostList(step.Hosts),
                    ["step"] = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["stage"] = stageName,
                })]);
                Dispatch(starting, HostCommandKind.Apply);
                return true;

            case PlanStepKind.Traffic:
                await Commit(stepStarted, [.. done]);
                var traffic = await ShiftTraffic(step.Weight, S.ActiveSlot);
                if (!traffic.Ok)
                {
                    await HoldForHuman($"traffic router failed to set weight {step.Weight}%: {traffic.Error}; the weight stays at {S.TrafficWeight}%; resume to retry");
                    return false;
                }

                S.TrafficWeight = step.Weight;
                S.StepActionDone = true;
                await Commit(null, new Announcement(EventTypes.TrafficShifted, $"{step.Weight}% of traffic to {S.Version}",
                    new Dictionary<string, string> { ["weight"] = step.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
                return true;

            case PlanStepKind.Switch:
                await Commit(stepStarted, [.. done]);
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
                await Commit(new Decision(DecisionKind.Switched, $"active slot '{step.FromSlot}' → '{step.ToSlot}'; '{step.FromSlot}' stays warm until {S.WarmUntil:O}", Engine),
                    new Announcement(EventTypes.SlotSwitched));
                return true;

            case PlanStepKind.Provision:
                await Commit(stepStarted, [.. done]);
                var enrolled = await GrainFactory.Ref<IEnvironmentGrain>(S.Environment).RegisterHosts(step.Hosts.Select(id => new HostEnrollment
                {
                    HostId = id,
                    Registration = new HostRegistration
                    {
                        Environment = S.Environment,
                        // Why the index in the whole provisioned list: a surge window provisions in several steps.
                        Labels = ProvisionedLabels(S.Provisioned.IndexOf(id)),
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
                await Commit(null, new Announcement(EventTypes.HostsProvisioned, $"{step.Hosts.Count} hosts provisioned", new Dictionary<string, string>
                {
                    ["hosts"] = HostList(step.Hosts),
                }));
                return true;

            case PlanStepKind.Retire:
                await Commit(stepStarted, [.. done]);
                await Retire([.. step.Hosts]); // a plain list: the environment grain's call carries it
                S.StepActionDone = true;
                await Commit(null);
                return true;

            case PlanStepKind.Pause when step.Duration is null:
                S.StepDeadline = now + Spec.Deadlines.Approval;
                await Commit(stepStarted with { Reason = $"{why}; waiting for an operator to promote by {S.StepDeadline:O}" },
                    [.. done, new Announcement(EventTypes.RolloutStepStarted)]);
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
                        DryRun = step.DryRun,
                        DurationSeconds = (int)(step.Duration ?? TimeSpan.Zero).TotalSeconds,
                        Service = S.Service,
                        Environment = S.Environment,
                    });
                    why += $"; canary analysis '{analysisId}' of {S.Version} against the hosts not yet changed";
                }

                await Commit(stepStarted with { Reason = why }, [.. done, new Announcement(EventTypes.RolloutStepStarted, why)]);
                if (step.Analyses)
                {
                    AskForSamples(step.Duration ?? TimeSpan.Zero);
                }

                return true;

            default:
                // Pause with a duration, bake, keep-warm: time passes; triggers keep being watched.
                await Commit(stepStarted, [.. done, new Announcement(EventTypes.RolloutStepStarted, why)]);
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
        Telemetry.EngineTelemetry.AnalysisVerdicts.Add(1, new KeyValuePair<string, object?>("verdict", analysis.StepVerdict.ToString()),
            new KeyValuePair<string, object?>(Telemetry.EngineTelemetry.EnvironmentTag, S.Environment));
        var summary = $"canary analysis '{analysisId}': {analysis.Outcome} ({analysis.Reason})";
        switch (analysis.StepVerdict)
        {
            case StepVerdict.Pass:
                await Commit(new Decision(DecisionKind.AnalysisPassed, summary, Engine));
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
                step.DryRun = declared[k].DryRun?.Select(r => r?.MetricName ?? string.Empty).ToList() ?? [];
            }

            k++;
        }
    }

    private async Task OnDeadline(string reason)
    {
        var expired = new Announcement(EventTypes.DeadlineExpired, reason);
        if (Spec.Deadlines.OnExpiry == DeadlineAction.Abort)
        {
            var transition = RolloutTransitions.Apply(S.Status, RolloutTrigger.Abort);
            await AbortWith(RollbackCause.Deadline, $"deadline expired: {reason}; the spec says abort", Engine, transition, expired);
            return;
        }

        // The spec says a human decides: hold, with no further deadline (the spec chose that).
        S.HoldDeadline = null;
        S.StepDeadline = null;
        await Commit(Decisions.HoldOnExpiry(S.Status, reason), expired, new Announcement(EventTypes.RolloutPaused));
    }

    /// <summary>A step only a person ends (a pause for a promote): the rollout shows Paused, held until the step's deadline.</summary>
    private async Task AwaitOperator(PlanDecision decision)
    {
        S.HoldDeadline = decision.WakeAt;
        await Commit(Decisions.AwaitPromote(S.CurrentStep, decision.WakeAt), new Announcement(EventTypes.RolloutPaused));
    }

    /// <summary>An action the rollout cannot take on its own failed: pause with the reason; resume retries it.</summary>
    private async Task HoldForHuman(string reason)
    {
        S.HoldDeadline = clock.GetUtcNow() + Spec.Deadlines.Approval;
        await Commit(Decisions.HoldForHuman(S.Status, reason), new Announcement(EventTypes.RolloutPaused, reason));
    }

    private async Task Retire(List<string> hosts)
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

    /// <summary>
    /// The rolling window (<see cref="PlanStepper.StartAhead"/>): while the current deploy step's last hosts are still
    /// working, hosts of the next deploy step start as soon as half the window is free, instead of all of them waiting for
    /// the slowest host of the step. The step-boundary gates are asked first, as before the step itself (a freeze, an
    /// incident or a change record that holds the next step holds these hosts too; they then wait for the boundary, which
    /// pauses the rollout with the reason as before). Never where a gate leases each step's hosts (a blast-radius budget
    /// over hosts of the environment), whose new lease would free hosts still changing. The hosts are marked updating and
    /// stored before their commands go (a silo lost now finds them updating and sends again; the same command twice
    /// changes nothing).
    /// </summary>
    private async Task StartAhead(PlanProgress progress)
    {
        var next = S.CurrentStep + 1;
        if (next >= S.Steps.Count || S.Steps[next].Kind != PlanStepKind.Deploy || _aheadRefused == next)
        {
            return;
        }

        var hosts = S.Steps[next].Hosts;
        _aheadCursor = StartedFrom(hosts, _aheadCursor);

        // Failed hosts stay out of service: they hold their place in the window as updating ones do.
        var count = PlanStepper.StartAhead(progress, Count(HostPhase.Updating) + Count(HostPhase.Failed), hosts.Count - _aheadCursor);
        if (count == 0)
        {
            return;
        }

        if (await StoredGateContext(GatePoint.StepBoundary, next) is { } context
            && (await gates.LeasesStepHosts(context) || !(await gates.Check(context)).Passed))
        {
            _aheadRefused = next;
            return;
        }

        var starting = hosts.GetRange(_aheadCursor, count);
        _aheadCursor += count;
        foreach (var host in starting)
        {
            SetPhase(host, HostPhase.Updating);
            Ahead.Add(host);
        }

        await Commit(null);
        Dispatch(starting, HostCommandKind.Apply, next);
    }

    /// <summary>The end of the prefix of <paramref name="hosts"/> that has started, looking from <paramref name="from"/> (hosts start in plan order).</summary>
    private int StartedFrom(HostIds hosts, int from)
    {
        while (from < hosts.Count && S.Hosts[hosts[from]] != HostPhase.Untouched)
        {
            from++;
        }

        return from;
    }

    /// <summary>Sends the command to every host one-way: the rollout never waits on a fleet; answers come back as reports.</summary>
    private void Dispatch(IReadOnlyList<string> hosts, HostCommandKind kind, int? batch = null)
    {
        var command = new HostCommand
        {
            RolloutId = Id,
            Kind = kind,
            Batch = kind == HostCommandKind.Apply ? batch ?? S.CurrentStep : -1,
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

    private async Task Complete(string reason)
    {
        var updated = CurrentStep is { Kind: PlanStepKind.Deploy } last ? HostOutcomes(last, S.CurrentStep) : [];
        await Finish(RolloutStatus.Succeeded, DecisionKind.Succeeded, reason, Engine, EventTypes.ServiceDeployed, "success", before: updated);
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
            case DeployStep d: stored.Hosts = new HostIds(d.Hosts); break;
            case ProvisionStep p: stored.Hosts = new HostIds(p.Hosts); break;
            case RetireStep r: stored.Hosts = new HostIds(r.Hosts); break;
            case TrafficStep t: stored.Weight = t.Weight; break;
            case PausePlanStep p: stored.Duration = p.Duration; break;
            case AnalysisPlanStep a: stored.Duration = a.Duration; break;
            case BakeStep b: stored.Duration = b.Duration; break;
            case KeepWarmStep k: (stored.Duration, stored.FromSlot) = (k.Duration, k.Slot); break;
            case SwitchStep w: (stored.FromSlot, stored.ToSlot) = (w.FromSlot, w.ToSlot); break;
        }

        return stored;
    }

    private PlanProgress Progress()
    {
        var step = CurrentStep;
        // A deploy step ends when none of its hosts is updating (hosts of the next step started ahead are not its own).
        var pending = PendingInStep;
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
            AwaitingEvidence: Spec.Triggers.Count > 0 && S.Samples.Count == 0,
            Minimum: StageMinimum(step),
            StepHosts: step is null ? null : S.Steps.Select(s => s.Kind == PlanStepKind.Deploy && s.Stage == step.Stage ? s.Hosts.Count : 0).ToList());
    }

    /// <summary>
    /// A declared CodeDeploy minimum, resolved over the hosts of the current stage (each wave or pilot group is judged as
    /// CodeDeploy judges a deployment; without waves the stage is the whole rollout), with the stage's failed hosts.
    /// </summary>
    private CodeDeployMinimum? StageMinimum(StoredStep? step)
    {
        if (Spec.Rolling.MinimumHealthy is not { } minimum || step is null) return null;
        var hosts = PerStage.Hosts(step.Stage);
        return new CodeDeployMinimum(hosts, minimum.Resolve(hosts), PerStage.Failed(step.Stage));
    }
}
