using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("TrainMemberState")]
public sealed class TrainMemberState
{
    [Id(0)] public string ReleaseId { get; set; } = string.Empty;

    [Id(1)] public string Service { get; set; } = string.Empty;

    [Id(2)] public string Version { get; set; } = string.Empty;

    [Id(3)] public bool Started { get; set; }
}

[GenerateSerializer]
[Alias("ReleaseTrainGrainState")]
public sealed class ReleaseTrainGrainState
{
    [Id(0)] public string? Environment { get; set; }

    /// <summary>In rollout order: every member after the services it depends on.</summary>
    [Id(1)] public List<TrainMemberState> Members { get; set; } = [];

    [Id(2)] public string Status { get; set; } = "running";

    [Id(3)] public string? Reason { get; set; }

    [Id(4)] public RolloutStrategySpec Strategy { get; set; } = new();

    [Id(5)] public string SubmittedBy { get; set; } = string.Empty;

    [Id(6)] public string? SubmitterRole { get; set; }

    [Id(7)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Aborted, and not every started member has been told to stop yet: the reminder's tick tells them again.</summary>
    [Id(8)] public bool StoppingMembers { get; set; }
}

/// <summary>
/// A release train: members roll out one after another in dependency order (the next starts when the previous
/// succeeded), and if one fails, rolls back or is aborted the train aborts together: running members are aborted,
/// members that already succeeded are rolled back, and members not started never start. The train watches its
/// members from a reminder (and a short timer while its activation lives); it never waits on a whole rollout.
/// </summary>
public sealed partial class ReleaseTrainGrain(
    [PersistentState("train", Stores.Blob)] IPersistentState<ReleaseTrainGrainState> state,
    TimeProvider clock,
    IOptions<RolloutOptions> options,
    ILogger<ReleaseTrainGrain> logger) : Grain, IReleaseTrainGrain, IRemindable
{
    private const string ReminderName = "train";

    private IGrainTimer? _timer;

    private ReleaseTrainGrainState S => state.State;

    private string Name => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Environment is not null && (S.Status == "running" || S.StoppingMembers)) StartTimer();
        return base.OnActivateAsync(cancellationToken);
    }

    public async Task<CommandResult<TrainSnapshot>> Create(TrainDraft draft)
    {
        if (S.Environment is not null)
        {
            return S.Members.Select(m => m.ReleaseId).Order(StringComparer.Ordinal).SequenceEqual(draft.Releases.Order(StringComparer.Ordinal))
                && S.Environment == draft.Environment
                ? CommandResult<TrainSnapshot>.Success(await Snapshot())
                : CommandResult<TrainSnapshot>.Fail(ErrorKind.Conflict, $"train '{Name}' already exists with other releases or another environment");
        }

        if (await GrainFactory.Ref<IEnvironmentGrain>(draft.Environment).Get() is null)
        {
            return CommandResult<TrainSnapshot>.Fail(ErrorKind.NotFound, $"environment '{draft.Environment}' does not exist");
        }

        var releases = new List<ReleaseSnapshot>();
        foreach (var id in draft.Releases)
        {
            if (await GrainFactory.Ref<IReleaseGrain>(id).Get() is not { } release)
            {
                return CommandResult<TrainSnapshot>.Fail(ErrorKind.NotFound, $"release '{id}' does not exist");
            }

            releases.Add(release);
        }

        var twice = releases.GroupBy(r => r.Service).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            return CommandResult<TrainSnapshot>.Fail(ErrorKind.Validation, $"a train carries one release per service; {twice.Key} appears {twice.Count()} times",
                new Dictionary<string, string[]> { ["releases"] = [$"service '{twice.Key}' appears more than once"] });
        }

        var dependsOn = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var release in releases)
        {
            var declared = await GrainFactory.Ref<IServiceDependenciesGrain>(release.Service).Get();
            dependsOn[release.Service] = declared.For(draft.Environment).Select(d => d.Service).ToList();
        }

        var (order, cycle) = DependencyRules.Order(releases.Select(r => r.Service).ToList(), dependsOn);
        if (order is null)
        {
            return CommandResult<TrainSnapshot>.Fail(ErrorKind.PolicyRefused, $"the train's services depend on each other in a cycle ({cycle}); no order can satisfy them");
        }

        S.Environment = draft.Environment;
        S.Members = order.Select(service => releases.Single(r => r.Service == service))
            .Select(r => new TrainMemberState { ReleaseId = r.Id, Service = r.Service, Version = r.Version }).ToList();
        S.Strategy = draft.Strategy;
        S.SubmittedBy = draft.SubmittedBy;
        S.SubmitterRole = draft.SubmitterRole;
        S.CreatedAt = clock.GetUtcNow();
        S.Status = "running";
        S.Reason = "rolling out in dependency order: " + string.Join(" → ", S.Members.Select(m => $"{m.Service} {m.Version}"));
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReconcileInterval, options.Value.ReconcileInterval);
        await state.WriteStateAsync();
        await Publish(EventTypes.TrainCreated, S.Reason, draft.SubmittedBy, draft.SubmitterRole);
        StartTimer();
        await Drive();
        return CommandResult<TrainSnapshot>.Success(await Snapshot());
    }

    [ReadOnly]
    public async Task<TrainSnapshot?> Get() => S.Environment is null ? null : await Snapshot();

    public Task ReceiveReminder(string reminderName, TickStatus status) => Drive();

    private void StartTimer()
    {
        _timer ??= this.RegisterGrainTimer(_ => Drive(), new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500)));
    }

    /// <summary>Looks at the members in order: abort together on a failure, start the next when the previous succeeded.</summary>
    private async Task Drive()
    {
        if (S.StoppingMembers)
        {
            await StopMembers();
            return;
        }

        if (S.Environment is null || S.Status != "running")
        {
            await Stop();
            return;
        }

        var succeeded = 0;
        foreach (var member in S.Members)
        {
            var rolloutId = GrainKeys.Rollout(member.ReleaseId, S.Environment);
            if (!member.Started)
            {
                // Why: the previous member succeeded (or this is the first); the next one starts only after this one.
                var started = await GrainFactory.Ref<IRolloutGrain>(rolloutId).Start(new RolloutDraft
                {
                    ReleaseId = member.ReleaseId,
                    Environment = S.Environment,
                    Strategy = S.Strategy,
                    SubmittedBy = S.SubmittedBy,
                    SubmitterRole = S.SubmitterRole,
                });
                if (!started.Ok && started.Error != ErrorKind.Conflict)
                {
                    await AbortTogether($"{member.Service} {member.Version} could not start: {started.Detail}");
                    return;
                }

                member.Started = true;
                await state.WriteStateAsync();
                return;
            }

            var snapshot = await GrainFactory.Ref<IRolloutGrain>(rolloutId).Get();
            switch (snapshot?.Status)
            {
                case RolloutStatus.Succeeded:
                    succeeded++;
                    continue;
                case RolloutStatus.Failed or RolloutStatus.RolledBack or RolloutStatus.Aborted or RolloutStatus.RollingBack:
                    await AbortTogether($"{member.Service} {member.Version} {snapshot.Status.ToString().ToLowerInvariant()}: {snapshot.StatusReason}");
                    return;
                default:
                    // Why: this member is still on its way; later members wait for it.
                    return;
            }
        }

        if (succeeded == S.Members.Count)
        {
            S.Status = "succeeded";
            S.Reason = $"every member succeeded in '{S.Environment}'";
            await state.WriteStateAsync();
            await Publish(EventTypes.TrainSucceeded, S.Reason, "engine", "engine");
            await Stop();
        }
    }

    private async Task AbortTogether(string cause)
    {
        S.Status = "aborted";
        S.Reason = $"train '{Name}' aborted together: {cause}";
        S.StoppingMembers = true;
        await state.WriteStateAsync();
        await StopMembers();
    }

    /// <summary>
    /// Stops every started member: rolls back those that succeeded, aborts those still running. Each is idempotent
    /// (a member already rolling back or ended is left), so when one call fails (its storage out, its silo gone) the
    /// next tick starts again from the first; the train is announced aborted once every member was told.
    /// </summary>
    private async Task StopMembers()
    {
        var action = new OperatorAction { Actor = "train:" + Name, Reason = S.Reason, Role = "engine" };
        foreach (var member in S.Members.Where(m => m.Started))
        {
            var rollout = GrainFactory.Ref<IRolloutGrain>(GrainKeys.Rollout(member.ReleaseId, S.Environment!));
            var snapshot = await rollout.Get();
            var result = snapshot?.Status switch
            {
                RolloutStatus.Succeeded => await rollout.Rollback(action),
                { } status when !status.IsTerminal() && status != RolloutStatus.RollingBack => await rollout.Abort(action),
                _ => null,
            };
            if (result is { Ok: false })
            {
                LogMemberNotStopped(logger, Name, member.ReleaseId, result.Detail ?? string.Empty);
            }
        }

        S.StoppingMembers = false;
        await state.WriteStateAsync();
        await Publish(EventTypes.TrainAborted, S.Reason ?? $"train '{Name}' aborted together", "engine", "engine");
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

    private async Task<TrainSnapshot> Snapshot()
    {
        var members = new List<TrainMember>();
        foreach (var m in S.Members)
        {
            var rolloutId = GrainKeys.Rollout(m.ReleaseId, S.Environment!);
            var status = m.Started ? (await GrainFactory.Ref<IRolloutGrain>(rolloutId).Get())?.Status.ToString() ?? "starting"
                : S.Status == "running" ? "waiting" : "not started";
            members.Add(new TrainMember { ReleaseId = m.ReleaseId, Service = m.Service, Version = m.Version, RolloutId = rolloutId, Status = status });
        }

        return new TrainSnapshot
        {
            Name = Name,
            Environment = S.Environment!,
            Members = members,
            Status = S.Status,
            Reason = S.Reason,
            CreatedAt = S.CreatedAt,
            SubmittedBy = S.SubmittedBy,
        };
    }

    private Task Publish(string type, string reason, string actor, string? role) =>
        new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.TrainEvents(Name), clock).Publish(type, "train/" + Name, reason,
            new Dictionary<string, string>
            {
                [AuditFields.Actor] = actor,
                [AuditFields.Role] = role ?? "unknown",
                ["train"] = Name,
                ["environment"] = S.Environment ?? string.Empty,
                ["releases"] = string.Join(',', S.Members.Select(m => m.ReleaseId)),
            });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Train {Train}: member {ReleaseId} could not be stopped: {Detail}")]
    private static partial void LogMemberNotStopped(ILogger logger, string train, string releaseId, string detail);
}
