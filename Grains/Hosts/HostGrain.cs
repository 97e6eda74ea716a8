using Deploy.Engine.Domain.Fleet;
using Deploy.Engine.Domain.Hosts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Grains.Hosts;

/// <summary>
/// One target host, running several services side by side. Each service is a slot of its own: what it runs, what
/// it should run, what it ran before, and the one rollout command it is carrying out. A command is identified by
/// (rollout, kind, batch) within its service, so re-delivery after a failover returns the same status and changes
/// nothing; two services' rollouts on the same host never touch each other's slot.
/// Simulated hosts finish their command on a grain timer; if the activation is lost the rollout's reminder
/// re-delivers the command and the new activation (state Updating, from storage) starts the timer again.
/// Real agents learn their commands by long-poll (<see cref="WaitDesired"/>) and report with the command's nonce.
/// </summary>
public sealed partial class HostGrain(
    TimeProvider clock,
    HostReportRelay reports,
    ILogger<HostGrain> logger) : Grain, IHostGrain
{
    /// <summary>How many artifacts a service's history keeps (the targets of repeated rollbacks).</summary>
    public const int HistoryLength = 10;

    /// <summary>The slot of a host registered without naming a service; the first rollout to touch it names it.</summary>
    public const string Unnamed = "";

    private readonly Dictionary<string, IGrainTimer> _simulationTimers = new(StringComparer.Ordinal);
    private IGrainTimer? _sampleTimer;
    private TaskCompletionSource? _desiredChanged;

    private string HostId => this.GetPrimaryKeyString();

    // Written in the host's own turn (TurnState): a host's write is on every rollout's critical path, once per host.
    private TurnState<HostGrainState> _state = null!;

    private HostGrainState S => _state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _state = await TurnState<HostGrainState>.Load(ServiceProvider, this.GetGrainId(), "host", Stores.Table, logger);
        MoveLegacySlot();
    }

    public async Task<CommandResult<HostSnapshot>> Register(HostRegistration registration)
    {
        if (S.Environment is not null && !string.Equals(S.Environment, registration.Environment, StringComparison.Ordinal))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"host '{HostId}' is registered in environment '{S.Environment}'; deregistration is needed to move it");
        }

        var isNew = S.Environment is null;
        var ownership = HostOwnership.AfterRegistration(HostId, !isNew, S.Owner, registration.Owner, registration.ByOperator,
            registration.AdoptBy, registration.Simulation is not null);
        if (ownership.Refusal is not null)
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict, ownership.Refusal);
        }

        S.Environment = registration.Environment;
        S.Labels = new Dictionary<string, string>(registration.Labels, StringComparer.Ordinal);
        S.Simulation = registration.Simulation ?? S.Simulation;
        S.Owner = ownership.Owner;
        foreach (var slot in S.Services.Values.Where(s => s.State == HostState.Retired))
        {
            // Registered again (an immutable rollout rolled back brings its old hosts back): it serves again.
            slot.State = HostState.Ready;
        }

        // What the host says it runs is taken for services the engine knows nothing of yet; the engine's record of a
        // service it has commanded is not overwritten by a claim.
        if (isNew && registration.CurrentArtifact is not null)
        {
            Claim(registration.Service ?? Unnamed, registration.CurrentArtifact, registration.CurrentVersion);
        }

        foreach (var (service, running) in registration.Services)
        {
            if (running.Artifact is not null && !S.Services.ContainsKey(service))
            {
                Claim(service, running.Artifact, running.Version);
            }
        }

        S.LastHeartbeat = clock.GetUtcNow();
        S.UpdatedAt = clock.GetUtcNow();
        await _state.WriteStateAsync();
        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public Task<HostSnapshot?> Get() => Task.FromResult(S.Environment is null ? null : Snapshot());

    public async Task<CommandResult<HostSnapshot>> Heartbeat(bool healthy)
    {
        if (S.Environment is null)
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.NotFound, $"host '{HostId}' is not registered");
        }

        S.Healthy = healthy;
        S.LastHeartbeat = clock.GetUtcNow();
        await _state.WriteStateAsync();
        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public Task<DesiredState?> GetDesired() => Task.FromResult(Desired());

    public async Task<DesiredState?> WaitDesired(long after, TimeSpan wait)
    {
        if (S.Environment is null || S.Generation > after || wait <= TimeSpan.Zero)
        {
            return Desired();
        }

        _desiredChanged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var changed = _desiredChanged.Task;
        await Task.WhenAny(changed, Task.Delay(wait, clock));
        return Desired();
    }

    public async Task<HostCommandStatus> Execute(HostCommand command)
    {
        if (S.Environment is null)
        {
            return Status(command.Kind, CommandOutcome.Failed, $"host '{HostId}' is not registered");
        }

        var name = SlotFor(command);
        var slot = S.Services.GetValueOrDefault(name);
        if (slot?.State == HostState.Retired)
        {
            return Status(command.Kind, command.Kind == HostCommandKind.Revert ? CommandOutcome.Succeeded : CommandOutcome.Failed,
                "the host is retired");
        }

        if (slot?.Command is { } current && SameCommand(current, command))
        {
            // Re-delivery: report what happened, and make sure a simulated host is still working on it.
            if (slot.CommandOutcome == CommandOutcome.Pending)
            {
                EnsureSimulation(name);
            }

            return Status(current.Kind, slot.CommandOutcome, slot.LastError);
        }

        if (command.Kind == HostCommandKind.Apply && slot?.Command is { Kind: HostCommandKind.Revert } revert
            && string.Equals(revert.RolloutId, command.RolloutId, StringComparison.Ordinal))
        {
            // A late apply of a rollout this host already reverted for: the rollout has moved on; never re-apply.
            return Status(HostCommandKind.Apply, CommandOutcome.Failed, "the rollout is rolling back; apply refused");
        }

        if (command.Kind == HostCommandKind.Apply && slot is { CommandOutcome: CommandOutcome.Pending, Command: { } busy }
            && !string.Equals(busy.RolloutId, command.RolloutId, StringComparison.Ordinal))
        {
            // One command at a time per service: a service in the middle of another rollout's change is not taken over.
            return Status(command.Kind, CommandOutcome.Failed, $"service '{name}' on this host is busy with rollout '{busy.RolloutId}'");
        }

        return command.Kind == HostCommandKind.Apply ? await BeginApply(name, command) : await BeginRevert(name, command);
    }

    public async Task<CommandResult<HostSnapshot>> Report(HostOutcomeReport report)
    {
        if (S.Environment is null)
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.NotFound, $"host '{HostId}' is not registered");
        }

        // A report names its service; one that does not (an older agent) answers the service its rollout commanded.
        var slotName = report.Service
            ?? S.Services.FirstOrDefault(s => string.Equals(s.Value.Command?.RolloutId, report.RolloutId, StringComparison.Ordinal)).Key;
        if (slotName is null || !S.Services.TryGetValue(slotName, out var slot))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"host '{HostId}' has no pending command of rollout '{report.RolloutId}'{ForService(report.Service)}");
        }

        if (slot.Command is null || slot.CommandOutcome != CommandOutcome.Pending
            || !string.Equals(slot.Command.RolloutId, report.RolloutId, StringComparison.Ordinal)
            || !string.Equals(slot.DesiredArtifact, report.Artifact, StringComparison.Ordinal))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"host '{HostId}' has no pending command of rollout '{report.RolloutId}' for artifact '{report.Artifact}'{ForService(report.Service)}");
        }

        if (report.Nonce is not null && !string.Equals(slot.Nonce, report.Nonce, StringComparison.Ordinal))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"the report does not echo the nonce of the command host '{HostId}' was given{ForService(report.Service)}; it answers a command the host never received");
        }

        S.LastHeartbeat = clock.GetUtcNow();
        slot.LastSteps = report.Steps.ToList();
        slot.LastDurationMs = report.DurationMs;
        if (report.ComputedDigest is { } computed && !string.Equals(computed, report.Artifact, StringComparison.Ordinal))
        {
            // The agent verified its download and refused it: it still runs (and is as healthy as) its current artifact.
            await FailVerification(slotName, slot, computed);
            return CommandResult<HostSnapshot>.Success(Snapshot());
        }

        S.Healthy = report.Healthy;
        var succeeded = report.Succeeded && report.Healthy;
        var reason = succeeded ? null : report.Message ?? (report.Succeeded ? "host unhealthy after applying" : "agent reported failure");
        await Finish(slotName, slot, succeeded, reason);
        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public async Task Dispatch(HostCommand command)
    {
        var status = await Execute(command);
        if (status.Outcome != CommandOutcome.Pending)
        {
            // Final at once (already on the artifact, refused, untouched): tell the rollout like any later outcome.
            reports.Send(command.RolloutId, status);
            if (status.Outcome == CommandOutcome.Succeeded && command.Kind == HostCommandKind.Apply)
            {
                await SendSimulatedSample(command.RolloutId, SlotFor(command));
            }
        }
    }

    public async Task<CommandResult<HostSnapshot>> ReportMetrics(HostMetricsSample sample)
    {
        if (S.Environment is null)
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.NotFound, $"host '{HostId}' is not registered");
        }

        S.LastHeartbeat = clock.GetUtcNow();
        var name = sample.Service ?? S.Primary ?? S.Services.Keys.FirstOrDefault();
        if (name is null)
        {
            // A host that runs nothing yet: its health is the sample's.
            S.Healthy = sample.FailedHealthChecks == 0;
            return CommandResult<HostSnapshot>.Success(Snapshot());
        }

        if (!S.Services.TryGetValue(name, out var slot))
        {
            // Metrics of a service the host does not run feed nothing.
            return CommandResult<HostSnapshot>.Success(Snapshot());
        }

        // Kept in memory for the host view (metrics are observations, not decisions: no write per sample).
        slot.Metrics = new HostMetricsReading
        {
            ErrorRatePercent = sample.ErrorRatePercent,
            P99LatencyMs = sample.P99LatencyMs,
            FailedHealthChecks = sample.FailedHealthChecks,
            Requests = sample.Requests,
            At = clock.GetUtcNow(),
        };

        // Each service's health checks speak for that service: the host is healthy while none of its services' latest
        // readings fails, so one service's good sample never clears another's failing checks.
        S.Healthy = S.Services.Values.All(s => s.Metrics is not { FailedHealthChecks: > 0 });
        if (slot.Rollout is { } rollout)
        {
            await GrainFactory.Ref<IRolloutGrain>(rollout).OnHostSample(sample with
            {
                HostId = HostId, Service = name, Version = slot.CurrentVersion, Artifact = slot.CurrentArtifact,
            });
        }

        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public async Task Retire(string rolloutId)
    {
        if (S.Environment is null || S.Services.Count > 0 && S.Services.Values.All(s => s.State == HostState.Retired))
        {
            return;
        }

        foreach (var timer in _simulationTimers.Values)
        {
            timer.Dispose();
        }

        _simulationTimers.Clear();
        if (S.Services.Count == 0)
        {
            S.Services[Unnamed] = new ServiceSlot();
        }

        // The whole host leaves: every service on it stops serving.
        foreach (var slot in S.Services.Values)
        {
            slot.State = HostState.Retired;
            slot.CommandOutcome = CommandOutcome.Succeeded;
            slot.LastError = null;
            slot.UpdatedAt = clock.GetUtcNow();
        }

        S.UpdatedAt = clock.GetUtcNow();
        ChangedDesired();
        await _state.WriteStateAsync();
        var name = S.Services.FirstOrDefault(s => string.Equals(s.Value.Rollout, rolloutId, StringComparison.Ordinal)).Key ?? S.Primary ?? Unnamed;
        await Publish(EventTypes.HostRetired, name, S.Services[name], $"retired by rollout '{rolloutId}'");
    }

    public Task EmitSamples(string rolloutId, int count, int spacingMs) =>
        EmitServiceSamples(rolloutId, S.Services.FirstOrDefault(s => string.Equals(s.Value.Rollout, rolloutId, StringComparison.Ordinal)).Key
            ?? S.Primary ?? Unnamed, count, spacingMs);

    public async Task EmitServiceSamples(string rolloutId, string service, int count, int spacingMs)
    {
        var name = S.Services.ContainsKey(service) ? service : Unnamed;
        if (spacingMs <= 0)
        {
            for (var i = 1; i <= count; i++)
            {
                await SendSimulatedSample(rolloutId, name, i);
            }

            return;
        }

        // Spread over time like a real agent's pushes: a reading now, then one per spacing (in memory: samples are observations, not decisions).
        _sampleTimer?.Dispose();
        var sent = 0;
        _sampleTimer = this.RegisterGrainTimer(async _ =>
        {
            await SendSimulatedSample(rolloutId, name, ++sent);
            if (sent >= count)
            {
                _sampleTimer?.Dispose();
                _sampleTimer = null;
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(spacingMs)));
    }

    /// <summary>A simulated host that runs a version reports the metrics its profile gives that version (reading <paramref name="sequence"/>).</summary>
    private Task SendSimulatedSample(string rolloutId, string service, int sequence = 0)
    {
        if (S.Simulation is not { } profile || !S.Services.TryGetValue(service, out var slot) || slot.CurrentVersion is null)
        {
            return Task.CompletedTask;
        }

        var metrics = profile.MetricsByVersion.GetValueOrDefault(slot.CurrentVersion) ?? profile.DefaultMetrics;
        if (metrics is null)
        {
            return Task.CompletedTask;
        }

        double Read(string name, double value) => sequence == 0 ? value : SimulatedOutcome.Reading(HostId, name, sequence, value);
        return GrainFactory.Ref<IRolloutGrain>(rolloutId).OnHostSample(new HostMetricsSample
        {
            HostId = HostId,
            Service = service.Length == 0 ? null : service,
            Version = slot.CurrentVersion,
            Artifact = slot.CurrentArtifact,
            ErrorRatePercent = Read("errorRatePercent", metrics.ErrorRatePercent),
            P99LatencyMs = Read("p99LatencyMs", metrics.P99LatencyMs),
            FailedHealthChecks = metrics.FailedHealthChecks,
            Requests = 1000,
            Values = metrics.Values.ToDictionary(v => v.Key, v => Read(v.Key, v.Value), StringComparer.Ordinal),
        });
    }

    private async Task<HostCommandStatus> BeginApply(string name, HostCommand command)
    {
        if (command.Artifact is null)
        {
            return Status(HostCommandKind.Apply, CommandOutcome.Failed, "apply command without an artifact");
        }

        var slot = SlotNamed(name);

        // The rollback target is what the service ran before this rollout first touched it.
        if (!string.Equals(slot.Rollout, command.RolloutId, StringComparison.Ordinal))
        {
            slot.PreviousArtifact = slot.CurrentArtifact;
            slot.PreviousVersion = slot.CurrentVersion;
            slot.Rollout = command.RolloutId;
            if (!slot.Origins.Exists(o => string.Equals(o.RolloutId, command.RolloutId, StringComparison.Ordinal)))
            {
                slot.Origins.Insert(0, new RolloutOrigin { RolloutId = command.RolloutId, Artifact = slot.CurrentArtifact, Version = slot.CurrentVersion });
                if (slot.Origins.Count > HistoryLength) slot.Origins.RemoveRange(HistoryLength, slot.Origins.Count - HistoryLength);
            }
        }

        return await Begin(name, slot, command, command.Artifact, command.Version, HostState.Updating, "already running the artifact");
    }

    private async Task<HostCommandStatus> BeginRevert(string name, HostCommand command)
    {
        // A service this rollout never changed has nothing to undo.
        if (!S.Services.TryGetValue(name, out var slot))
        {
            return Status(HostCommandKind.Revert, CommandOutcome.Succeeded, "untouched by this rollout") with { Untouched = true };
        }

        // The revert target is what the service ran before this rollout first touched it, even when later rollouts
        // (or their rollbacks) changed it since: a second rollback returns to the right artifact, not to "previous".
        var origin = slot.Origins.Find(o => string.Equals(o.RolloutId, command.RolloutId, StringComparison.Ordinal));
        var (artifact, version) = string.Equals(slot.Rollout, command.RolloutId, StringComparison.Ordinal)
            ? (slot.PreviousArtifact, slot.PreviousVersion)
            : origin is not null ? (origin.Artifact, origin.Version) : (null, null);
        if (!string.Equals(slot.Rollout, command.RolloutId, StringComparison.Ordinal) && origin is null)
        {
            return Status(HostCommandKind.Revert, CommandOutcome.Succeeded, "untouched by this rollout") with { Untouched = true };
        }

        // Whatever the service was doing for this rollout is superseded by the revert.
        StopSimulation(name);
        return await Begin(name, slot, command, artifact, version, HostState.RollingBack, "already on the previous artifact");
    }

    /// <summary>
    /// Takes the command: the service moves to <paramref name="artifact"/>, at once when it already runs it,
    /// otherwise through <paramref name="moving"/> until the agent (or the simulation) reports. Moving is not
    /// published per host: the rollout's batch-started or rollback-decided event names the hosts it moves.
    /// </summary>
    private async Task<HostCommandStatus> Begin(
        string name, ServiceSlot slot, HostCommand command, string? artifact, string? version, HostState moving, string doneReason)
    {
        slot.Command = command;
        slot.LastError = null;
        slot.DesiredArtifact = artifact;
        slot.DesiredVersion = version;
        slot.Nonce = null;
        slot.UpdatedAt = clock.GetUtcNow();
        S.Primary = name;
        S.UpdatedAt = slot.UpdatedAt;

        if (string.Equals(slot.CurrentArtifact, artifact, StringComparison.Ordinal))
        {
            slot.State = HostState.Ready;
            slot.CommandOutcome = CommandOutcome.Succeeded;
            await _state.WriteStateAsync();
            return Status(command.Kind, CommandOutcome.Succeeded, doneReason);
        }

        if (S.Simulation is { StepLatencyMs: <= 0 } && !DownloadIsCorrupt(slot))
        {
            // A zero-latency simulated host has nothing to wait for: it finishes in the turn that takes the command,
            // with one write instead of two (Updating, then the outcome) and no timer turn. Dispatch tells the rollout.
            var (succeeded, reason) = SimulatedResult(slot);
            SetOutcome(slot, succeeded, reason);
            await _state.WriteStateAsync();
            if (!succeeded)
            {
                await Publish(EventTypes.HostFailed, name, slot, reason);
            }

            return Status(command.Kind, slot.CommandOutcome, reason);
        }

        // A command the host must carry out: the last one's step record gives way to this one's (an answer at once above
        // keeps it, so a failure's steps stay readable after the rollout's no-op revert).
        slot.LastSteps = [];
        slot.LastDurationMs = null;
        slot.State = moving;
        slot.CommandOutcome = CommandOutcome.Pending;

        // Only a command someone must carry out gets a nonce for the agent's report to echo; one answered in this turn
        // has no report to come (a random nonce for every command was 6 % of the engine grains' sampled time in a
        // 10,000-host rollout of simulated hosts).
        slot.Nonce = Guid.NewGuid().ToString("n");
        ChangedDesired();
        await _state.WriteStateAsync();
        EnsureSimulation(name);
        return Status(command.Kind, CommandOutcome.Pending, null);
    }

    private void SetOutcome(ServiceSlot slot, bool succeeded, string? reason)
    {
        if (succeeded)
        {
            slot.CurrentArtifact = slot.DesiredArtifact;
            slot.CurrentVersion = slot.DesiredVersion;
            slot.State = HostState.Ready;
            slot.CommandOutcome = CommandOutcome.Succeeded;
            Remember(slot, slot.CurrentArtifact, slot.CurrentVersion);
        }
        else
        {
            // The service keeps running what it ran; the desired artifact stays visible for diagnosis.
            slot.State = HostState.Failed;
            slot.CommandOutcome = CommandOutcome.Failed;
            slot.LastError = reason;
        }

        slot.UpdatedAt = clock.GetUtcNow();
        S.UpdatedAt = slot.UpdatedAt;
    }

    private async Task Finish(string name, ServiceSlot slot, bool succeeded, string? reason)
    {
        var command = slot.Command!;
        SetOutcome(slot, succeeded, reason);
        ChangedDesired();
        await _state.WriteStateAsync();

        // The rollout hears through this silo's relay (many answers per call; the host never waits on the rollout, and
        // a lost answer is recovered by its reminder re-delivering the command); the event follows.
        reports.Send(command.RolloutId, Status(command.Kind, slot.CommandOutcome, reason));
        if (succeeded && command.Kind == HostCommandKind.Apply)
        {
            await SendSimulatedSample(command.RolloutId, name);
        }

        // Successes are published by the rollout, many hosts per event (hosts.updated, hosts.reverted): one event per
        // host was the largest single cost of a large rollout. A failure is published here, with its reason.
        if (!succeeded)
        {
            await Publish(EventTypes.HostFailed, name, slot, reason);
        }
    }

    private void EnsureSimulation(string name)
    {
        if (S.Simulation is null || _simulationTimers.ContainsKey(name))
        {
            return;
        }

        var delay = TimeSpan.FromMilliseconds(Math.Max(0, S.Simulation.StepLatencyMs));
        _simulationTimers[name] = this.RegisterGrainTimer(_ => CompleteSimulatedStep(name),
            new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
    }

    private void StopSimulation(string name)
    {
        if (_simulationTimers.Remove(name, out var timer))
        {
            timer.Dispose();
        }
    }

    private async Task CompleteSimulatedStep(string name)
    {
        StopSimulation(name);
        if (!S.Services.TryGetValue(name, out var slot) || slot.CommandOutcome != CommandOutcome.Pending || slot.Command is null || S.Simulation is null)
        {
            return;
        }

        try
        {
            if (DownloadIsCorrupt(slot) && slot.DesiredArtifact is { } expected)
            {
                // The simulated download yields other bytes; their digest is what a verifying agent would compute.
                var got = Domain.Artifacts.ArtifactDigest.Prefix + Convert.ToHexStringLower(
                    System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"corrupt download of {expected} on {HostId}")));
                await FailVerification(name, slot, got);
                return;
            }

            var (succeeded, reason) = SimulatedResult(slot);
            await Finish(name, slot, succeeded, reason);
        }
        catch
        {
            // Storage refused the outcome: reload from storage; the rollout's re-delivery retries the step.
            this.DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Whether the simulated download of the desired version yields other bytes than its digest names.</summary>
    private bool DownloadIsCorrupt(ServiceSlot slot) =>
        slot.Command?.Kind == HostCommandKind.Apply && S.Simulation is { } profile && slot.DesiredVersion is { } version
        && profile.CorruptDownloadVersions.Contains(version, StringComparer.Ordinal);

    /// <summary>How the simulated host's current command ends: its profile decides, deterministically per host and artifact.</summary>
    private (bool Succeeded, string? Reason) SimulatedResult(ServiceSlot slot)
    {
        var fails = slot.Command!.Kind == HostCommandKind.Apply
            && SimulatedOutcome.Fails(HostId, slot.DesiredArtifact ?? string.Empty, FailureProbability(S.Simulation!, slot.DesiredVersion));
        if (!fails)
        {
            return (true, null);
        }

        LogSimulatedFailure(logger, HostId, slot.DesiredVersion);
        return (false, $"simulated failure applying version {slot.DesiredVersion}");
    }

    /// <summary>
    /// The downloaded bytes hash to <paramref name="computed"/>, not to the desired artifact: the host does not activate
    /// them, stays on its current artifact, fails the command with the reason, and the artifact records the incident.
    /// </summary>
    private async Task FailVerification(string name, ServiceSlot slot, string computed)
    {
        var expected = slot.DesiredArtifact ?? string.Empty;
        LogVerificationFailed(logger, HostId, expected, computed);

        // The artifact's record first: once the command is finished, the agent's retried report is answered from the
        // host's state and the incident would never be recorded if the call failed after it.
        await GrainFactory.Ref<IArtifactGrain>(expected).RecordVerificationFailure(computed, $"download by host '{HostId}'",
            new ArtifactActor { Name = "host/" + HostId, Role = "agent" });
        await Finish(name, slot, false, $"artifact verification failed: expected {expected}, got {computed}");
    }

    /// <summary>
    /// The slot a command addresses: its service's, or the unnamed slot, which the first named command adopts (a
    /// host registered with one artifact and no service runs that service).
    /// </summary>
    private string SlotFor(HostCommand command)
    {
        var service = command.Service ?? Unnamed;
        if (S.Services.ContainsKey(service))
        {
            return service;
        }

        if (service.Length > 0 && S.Services.Remove(Unnamed, out var unnamed))
        {
            S.Services[service] = unnamed;
            if (S.Primary == Unnamed)
            {
                S.Primary = service;
            }
        }
        else if (service.Length == 0 && S.Services.Count == 1)
        {
            return S.Services.Keys.First();
        }

        return service;
    }

    private ServiceSlot SlotNamed(string name)
    {
        if (!S.Services.TryGetValue(name, out var slot))
        {
            S.Services[name] = slot = new ServiceSlot();
        }

        return slot;
    }

    /// <summary>Records what the host says a service runs (registration): nothing to roll back to yet.</summary>
    private void Claim(string service, string artifact, string? version)
    {
        var slot = SlotNamed(service);
        slot.CurrentArtifact = slot.DesiredArtifact = artifact;
        slot.CurrentVersion = slot.DesiredVersion = version;
        slot.UpdatedAt = clock.GetUtcNow();
        Remember(slot, artifact, version);
        S.Primary ??= service;
    }

    private static void Remember(ServiceSlot slot, string? artifact, string? version)
    {
        if (artifact is null)
        {
            return;
        }

        slot.History.RemoveAll(h => string.Equals(h.Artifact, artifact, StringComparison.Ordinal));
        slot.History.Insert(0, new ServiceArtifact { Artifact = artifact, Version = version });
        if (slot.History.Count > HistoryLength)
        {
            slot.History.RemoveRange(HistoryLength, slot.History.Count - HistoryLength);
        }
    }

    /// <summary>A host stored before hosts ran several services kept its one service in top-level fields: they become the unnamed slot.</summary>
    private void MoveLegacySlot()
    {
        if (S.Services.Count > 0 || S.Environment is null || S.CurrentArtifact is null && S.Command is null && S.State == HostState.Ready)
        {
            return;
        }

        S.Services[Unnamed] = new ServiceSlot
        {
            State = S.State,
            CurrentArtifact = S.CurrentArtifact,
            CurrentVersion = S.CurrentVersion,
            DesiredArtifact = S.DesiredArtifact,
            DesiredVersion = S.DesiredVersion,
            PreviousArtifact = S.PreviousArtifact,
            PreviousVersion = S.PreviousVersion,
            Rollout = S.Rollout,
            Command = S.Command,
            CommandOutcome = S.CommandOutcome,
            LastError = S.LastError,
            UpdatedAt = S.UpdatedAt,
        };
        Remember(S.Services[Unnamed], S.CurrentArtifact, S.CurrentVersion);
        S.Primary = Unnamed;
        S.State = default;
        S.CurrentArtifact = S.CurrentVersion = S.DesiredArtifact = S.DesiredVersion = S.PreviousArtifact = S.PreviousVersion = null;
        S.Rollout = S.LastError = null;
        S.Command = null;
        S.CommandOutcome = default;
    }

    /// <summary>The desired state moved on: long-polls waiting on an older generation answer now.</summary>
    private void ChangedDesired()
    {
        S.Generation++;
        _desiredChanged?.TrySetResult();
        _desiredChanged = null;
    }

    private DesiredState? Desired()
    {
        if (S.Environment is null)
        {
            return null;
        }

        var primary = PrimarySlot();
        return new DesiredState
        {
            Artifact = primary?.DesiredArtifact,
            Version = primary?.DesiredVersion,
            Rollout = primary?.Rollout,
            State = primary?.State ?? HostState.Ready,
            Generation = S.Generation,
            Services = S.Services.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new DesiredService
            {
                Service = s.Key,
                Artifact = s.Value.DesiredArtifact,
                Version = s.Value.DesiredVersion,
                Release = s.Value.Command?.Release,
                Rollout = s.Value.Rollout,
                Kind = s.Value.Command?.Kind,
                Nonce = s.Value.Nonce,
                State = s.Value.State,
            }).ToList(),
        };
    }

    private ServiceSlot? PrimarySlot() =>
        S.Primary is { } p && S.Services.TryGetValue(p, out var slot) ? slot : S.Services.Values.FirstOrDefault();

    private static string ForService(string? service) => service is null ? string.Empty : $" for service '{service}'";

    private static double FailureProbability(SimulationProfile profile, string? version) =>
        version is not null && profile.FailureProbabilityByVersion.TryGetValue(version, out var p) ? p : profile.DefaultFailureProbability;

    private static bool SameCommand(HostCommand a, HostCommand b) =>
        a.Kind == b.Kind && a.Batch == b.Batch && string.Equals(a.RolloutId, b.RolloutId, StringComparison.Ordinal);

    /// <summary>The answer to a command of <paramref name="kind"/>: the rollout only applies an answer to the phase it asked about.</summary>
    private HostCommandStatus Status(HostCommandKind kind, CommandOutcome outcome, string? reason) =>
        new() { HostId = HostId, Kind = kind, Outcome = outcome, Reason = reason };

    private Task Publish(string type, string service, ServiceSlot slot, string? reason)
    {
        if (slot.Rollout is not { } rollout)
        {
            return Task.CompletedTask;
        }

        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.RolloutEvents(rollout), clock);
        return publisher.Publish(type, "host/" + HostId, reason, new Dictionary<string, string>
        {
            ["host"] = HostId,
            ["service"] = service,
            ["environment"] = S.Environment ?? string.Empty,
            ["rollout"] = rollout,
            ["artifact"] = slot.DesiredArtifact ?? string.Empty,
            ["version"] = slot.DesiredVersion ?? string.Empty,
            ["state"] = slot.State.ToString(),
        });
    }

    private HostSnapshot Snapshot()
    {
        var primary = PrimarySlot();
        return new HostSnapshot
        {
            Id = HostId,
            Environment = S.Environment!,
            Labels = new Dictionary<string, string>(S.Labels, StringComparer.Ordinal),
            State = primary?.State ?? HostState.Ready,
            CurrentArtifact = primary?.CurrentArtifact,
            CurrentVersion = primary?.CurrentVersion,
            DesiredArtifact = primary?.DesiredArtifact,
            DesiredVersion = primary?.DesiredVersion,
            PreviousArtifact = primary?.PreviousArtifact,
            PreviousVersion = primary?.PreviousVersion,
            Healthy = S.Healthy,
            LastHeartbeat = S.LastHeartbeat,
            Rollout = primary?.Rollout,
            LastError = primary?.LastError,
            Simulated = S.Simulation is not null,
            UpdatedAt = S.UpdatedAt,
            Simulation = S.Simulation,
            Owner = S.Owner,
            Services = S.Services.ToDictionary(s => s.Key, s => new HostServiceSnapshot
            {
                State = s.Value.State,
                CurrentArtifact = s.Value.CurrentArtifact,
                CurrentVersion = s.Value.CurrentVersion,
                DesiredArtifact = s.Value.DesiredArtifact,
                DesiredVersion = s.Value.DesiredVersion,
                PreviousArtifact = s.Value.PreviousArtifact,
                PreviousVersion = s.Value.PreviousVersion,
                Rollout = s.Value.Rollout,
                LastError = s.Value.LastError,
                History = s.Value.History.ToList(),
                LastSteps = s.Value.LastSteps.ToList(),
                LastDurationMs = s.Value.LastDurationMs,
                UpdatedAt = s.Value.UpdatedAt,
                Metrics = s.Value.Metrics,
            }, StringComparer.Ordinal),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId} refused its download of {Expected}: the bytes hash to {Computed}")]
    private static partial void LogVerificationFailed(ILogger logger, string hostId, string expected, string computed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Simulated host {HostId} failed to apply version {Version}")]
    private static partial void LogSimulatedFailure(ILogger logger, string hostId, string? version);
}
