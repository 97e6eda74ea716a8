using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Rollouts;

[GenerateSerializer]
[Alias("RollbackDrillsState")]
public sealed class RollbackDrillsState
{
    /// <summary>Newest first, at most <see cref="RollbackDrillsGrain.Kept"/>.</summary>
    [Id(0)] public List<RollbackDrill> Drills { get; set; } = [];

    [Id(1)] public long Sequence { get; set; }

    /// <summary>The drill in flight (at most one per environment), or null.</summary>
    [Id(2)] public string? Active { get; set; }
}

/// <summary>
/// Rollback drills of one environment. A drill rolls a copy of a release forward with the requested strategy, through
/// the same rollout and host grains as any release (queue, gates, plan), rolls it back as soon as it succeeded, and
/// measures time-to-safe from the rollout's own record: the rollback decision's time to the moment the rollout ended
/// RolledBack (every host acknowledged the previous artifact). The copy has its own release id
/// (<see cref="GrainKeys.NewDrillRelease"/>), so the drilled release's own rollout in the environment is untouched, and it
/// names the drilled release as the release it re-applies (promotion rules read it as that release).
/// A timer drives the drill while the activation lives; a reminder brings it back after a restart.
/// </summary>
public sealed class RollbackDrillsGrain(
    [PersistentState("rollback-drills", Stores.Blob)] IPersistentState<RollbackDrillsState> state,
    TimeProvider clock,
    IOptions<RolloutOptions> options) : Grain, IRollbackDrillsGrain, IRemindable
{
    public const int Kept = 100;

    /// <summary>A drill that has not finished by then fails (its rollout is aborted): a drill never holds the environment for ever.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromHours(1);

    private const string ReminderName = "drill";
    private const string MetadataKey = "drill";

    private IGrainTimer? _timer;

    private RollbackDrillsState S => state.State;

    private string Name => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Active is not null) StartTimer();
        return base.OnActivateAsync(cancellationToken);
    }

    public async Task<CommandResult<RollbackDrill>> Start(DrillCommand command)
    {
        if (S.Active is { } running)
        {
            return CommandResult<RollbackDrill>.Fail(ErrorKind.Conflict, $"drill '{running}' is running in '{Name}'; one drill at a time per environment");
        }

        var declared = await GrainFactory.Ref<IEnvironmentDeclarationGrain>(Name).Get();
        if (declared is null || declared.TornDownAt is not null)
        {
            return CommandResult<RollbackDrill>.Fail(ErrorKind.PolicyRefused,
                $"environment '{Name}' is not declared (or was torn down): drills run in a declared non-production environment");
        }

        if (declared.Declaration.Tier == EnvironmentTier.Production)
        {
            return CommandResult<RollbackDrill>.Fail(ErrorKind.PolicyRefused,
                $"environment '{Name}' is production: a drill rolls a release back on purpose, so it runs in a non-production environment");
        }

        if (await GrainFactory.Ref<IReleaseGrain>(command.ReleaseId).Get() is not { } release)
        {
            return CommandResult<RollbackDrill>.Fail(ErrorKind.NotFound, $"release '{command.ReleaseId}' does not exist");
        }

        if (StrategySpecParser.Parse(command.Strategy.ToInput()).Value is not { } spec)
        {
            return CommandResult<RollbackDrill>.Fail(ErrorKind.Validation, "the strategy is not valid");
        }

        var strategy = StrategyNames.Of(spec.Kind);
        var rtoOf = command.Target ?? Name;
        var objectives = rtoOf == Name ? declared.Declaration.Rollback : (await GrainFactory.Ref<IEnvironmentDeclarationGrain>(rtoOf).Get())?.Declaration.Rollback;
        long? rto = objectives?.RtoSeconds.TryGetValue(strategy, out var seconds) == true ? seconds : null;

        var id = "drill-" + (S.Sequence + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var copyId = GrainKeys.NewDrillRelease();
        var copy = await GrainFactory.Ref<IReleaseGrain>(copyId).Create(new ReleaseDraft
        {
            Service = release.Service,
            Version = release.Version,
            Artifact = release.Artifact,
            Commit = release.Commit,
            Metadata = new Dictionary<string, string>(release.Metadata)
            {
                [EnvironmentMetadataKeys.Reconciles] = release.Id,
                [MetadataKey] = $"{Name}/{id}",
            },
            SubmittedBy = command.Actor,
            Class = release.Class,
            Risk = release.Risk,
            ChangeRecord = release.ChangeRecord,
            KnownIssues = release.KnownIssues,
            Schema = release.Schema,
        });
        if (!copy.Ok)
        {
            return CommandResult<RollbackDrill>.Fail(copy.Error, copy.Detail ?? "the drill's release could not be created");
        }

        var rolloutId = GrainKeys.Rollout(copyId, Name);
        var started = await GrainFactory.Ref<IRolloutGrain>(rolloutId).Start(new RolloutDraft
        {
            ReleaseId = copyId,
            Environment = Name,
            Strategy = command.Strategy,
            SubmittedBy = command.Actor,
            SubmitterRole = command.Roles,
            RefuseUnplannable = true,
        });
        if (!started.Ok)
        {
            // Nothing runs: the copy goes again, and the refusal (gates, plan) is the drill's answer.
            await GrainFactory.Ref<IReleaseGrain>(copyId).Withdraw();
            return CommandResult<RollbackDrill>.Fail(started.Error, $"the drill's rollout was refused: {started.Detail}", started.Errors);
        }

        var drill = new RollbackDrill
        {
            Id = id,
            Environment = Name,
            Service = release.Service,
            ReleaseId = release.Id,
            Version = release.Version,
            RolloutId = rolloutId,
            Strategy = strategy,
            Status = DrillStatus.RollingForward,
            Reason = $"rolling {release.Service} {release.Version} forward with {strategy}" + (command.Reason is { } why ? $" ({why})" : string.Empty),
            RequestedBy = command.Actor,
            StartedAt = clock.GetUtcNow(),
            RtoOf = rtoOf,
            RtoSeconds = rto,
            Hosts = started.Value!.Hosts.Targets,
        };
        S.Sequence++;
        S.Active = id;
        S.Drills.Insert(0, drill);
        if (S.Drills.Count > Kept) S.Drills.RemoveRange(Kept, S.Drills.Count - Kept);
        await state.WriteStateAsync();
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        StartTimer();
        return CommandResult<RollbackDrill>.Success(drill);
    }

    [ReadOnly]
    public Task<IReadOnlyList<RollbackDrill>> List() => Task.FromResult<IReadOnlyList<RollbackDrill>>(S.Drills.ToList());

    [ReadOnly]
    public Task<RollbackDrill?> Get(string drillId) => Task.FromResult(S.Drills.FirstOrDefault(d => d.Id == drillId));

    public Task ReceiveReminder(string reminderName, TickStatus status) => Drive();

    private void StartTimer() =>
        _timer ??= this.RegisterGrainTimer(DriveOnTimer, new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250)));

    private async Task DriveOnTimer(CancellationToken cancellationToken)
    {
        try
        {
            await Drive();
        }
        catch
        {
            // Timers bypass call filters: a failed write left the state changed in memory only, so the activation goes
            // and the reminder's next tick starts from storage.
            this.DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Moves the drill in flight on: roll back once the rollout succeeded, measure once it rolled back.</summary>
    private async Task Drive()
    {
        var index = S.Drills.FindIndex(d => d.Id == S.Active);
        if (index < 0)
        {
            await Stop();
            return;
        }

        var drill = S.Drills[index];
        var rollout = GrainFactory.Ref<IRolloutGrain>(drill.RolloutId);
        var snapshot = await rollout.Get();
        if (snapshot is null)
        {
            await Finish(index, drill with { Status = DrillStatus.Failed, Reason = "the drill's rollout is gone", MetRto = false });
            return;
        }

        if (clock.GetUtcNow() > drill.StartedAt + Deadline)
        {
            await rollout.Abort(new OperatorAction { Actor = drill.RequestedBy, Reason = $"rollback drill {drill.Id} ran past its deadline" });
            await Finish(index, drill with { Status = DrillStatus.Failed, Reason = $"the drill did not finish within {Deadline} (the rollout was {snapshot.Status}: {snapshot.StatusReason})", MetRto = false });
            return;
        }

        switch (drill.Status, snapshot.Status)
        {
            case (DrillStatus.RollingForward, RolloutStatus.Succeeded):
                var back = await rollout.Rollback(new OperatorAction { Actor = drill.RequestedBy, Reason = DrillRollbackReason(drill) });
                if (!back.Ok)
                {
                    await Finish(index, drill with { Status = DrillStatus.Failed, Reason = $"the rollback could not start: {back.Detail}", MetRto = false });
                    return;
                }

                S.Drills[index] = drill with
                {
                    Status = DrillStatus.RollingBack,
                    RollbackDecidedAt = RollbackDecidedAt(back.Value!),
                    Reason = $"rolled forward; rolling back ({back.Value!.StatusReason})",
                };
                await state.WriteStateAsync();
                return;

            case (DrillStatus.RollingForward, RolloutStatus.RollingBack or RolloutStatus.RolledBack) when RolledBackByDrill(snapshot, drill):
                // This drill asked for the rollback, and the write saying so failed after the call: it is rolling back.
                S.Drills[index] = drill with
                {
                    Status = DrillStatus.RollingBack,
                    RollbackDecidedAt = RollbackDecidedAt(snapshot),
                    Reason = $"rolled forward; rolling back ({snapshot.StatusReason})",
                };
                await state.WriteStateAsync();
                return;

            case (DrillStatus.RollingForward, RolloutStatus.RolledBack or RolloutStatus.Failed or RolloutStatus.Aborted or RolloutStatus.RollingBack):
                await Finish(index, drill with
                {
                    Status = DrillStatus.Failed,
                    Reason = $"the rollout forward did not succeed ({snapshot.Status}): {snapshot.StatusReason}",
                    MetRto = false,
                });
                return;

            case (DrillStatus.RollingBack, RolloutStatus.RolledBack):
                var decided = RollbackDecidedAt(snapshot) ?? drill.RollbackDecidedAt ?? snapshot.FinishedAt!.Value;
                var safe = snapshot.Decisions.LastOrDefault(d => d.Kind == DecisionKind.RolledBack.Name())?.At ?? snapshot.FinishedAt ?? clock.GetUtcNow();
                var timeToSafe = safe - decided;
                var met = RollbackReadiness.MeetsRto(timeToSafe, drill.RtoSeconds is { } rto ? TimeSpan.FromSeconds(rto) : null);
                await Finish(index, drill with
                {
                    Status = DrillStatus.Succeeded,
                    RollbackDecidedAt = decided,
                    SafeAt = safe,
                    TimeToSafeSeconds = Math.Round(timeToSafe.TotalSeconds, 3),
                    MetRto = met,
                    Reason = $"every host back on the previous artifact {RollbackReadiness.Describe(timeToSafe)} after the rollback decision"
                        + (drill.RtoSeconds is { } limit ? $"; RTO of {drill.RtoOf} for {drill.Strategy}: {RollbackReadiness.Describe(TimeSpan.FromSeconds(limit))} ({(met ? "met" : "exceeded")})" : $"; no RTO declared in {drill.RtoOf} for {drill.Strategy}"),
                });
                return;

            case (DrillStatus.RollingBack, RolloutStatus.Failed or RolloutStatus.Aborted):
                await Finish(index, drill with
                {
                    Status = DrillStatus.Failed,
                    RollbackDecidedAt = RollbackDecidedAt(snapshot) ?? drill.RollbackDecidedAt,
                    Reason = $"the rollback did not end with every host back ({snapshot.Status}): {snapshot.StatusReason}",
                    MetRto = false,
                });
                return;

            default:
                // Why: the rollout is still queued, held, rolling forward or rolling back; look again on the next tick.
                return;
        }
    }

    /// <summary>Whether the rollout's rollback is the one this drill asked for (in the drill's requester's name, with the reason it gave).</summary>
    private static bool RolledBackByDrill(RolloutSnapshot snapshot, RollbackDrill drill) =>
        snapshot.Decisions.Any(d => d.Kind == DecisionKind.Rollback.Name() && string.Equals(d.Actor, drill.RequestedBy, StringComparison.Ordinal)
            && d.Reason.EndsWith(": " + DrillRollbackReason(drill), StringComparison.Ordinal));

    private static string DrillRollbackReason(RollbackDrill drill) => $"rollback drill {drill.Id}";

    /// <summary>The time of the rollout's (last) rollback decision: the start of the measured time.</summary>
    private static DateTimeOffset? RollbackDecidedAt(RolloutSnapshot snapshot) =>
        snapshot.Decisions.LastOrDefault(d => d.Kind == DecisionKind.Rollback.Name())?.At;

    private async Task Finish(int index, RollbackDrill finished)
    {
        S.Drills[index] = finished with { FinishedAt = clock.GetUtcNow() };
        S.Active = null;
        await state.WriteStateAsync();
        await Stop();
    }

    private async Task Stop()
    {
        _timer?.Dispose();
        _timer = null;
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }
}
