using Deploy.Engine.Domain.Fleet;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Grains.Hosts;

/// <summary>
/// One target host. It carries out one rollout command at a time; a command is identified by
/// (rollout, kind, batch), so re-delivery after a failover returns the same status and changes nothing.
/// Simulated hosts finish their command on a grain timer; if the activation is lost the rollout's reminder
/// re-delivers the command and the new activation (state Updating, from storage) starts the timer again.
/// </summary>
public sealed partial class HostGrain(
    [PersistentState("host", Stores.Table)] IPersistentState<HostGrainState> state,
    TimeProvider clock,
    ILogger<HostGrain> logger) : Grain, IHostGrain
{
    private IGrainTimer? _simulationTimer;
    private IGrainTimer? _sampleTimer;

    private string HostId => this.GetPrimaryKeyString();

    private HostGrainState S => state.State;

    public async Task<CommandResult<HostSnapshot>> Register(HostRegistration registration)
    {
        if (S.Environment is not null && !string.Equals(S.Environment, registration.Environment, StringComparison.Ordinal))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"host '{HostId}' is registered in environment '{S.Environment}'; deregistration is needed to move it");
        }

        var isNew = S.Environment is null;
        S.Environment = registration.Environment;
        S.Labels = new Dictionary<string, string>(registration.Labels, StringComparer.Ordinal);
        S.Simulation = registration.Simulation ?? S.Simulation;
        if (S.State == HostState.Retired)
        {
            // Registered again (an immutable rollout rolled back brings its old hosts back): it serves again.
            S.State = HostState.Ready;
        }

        if (isNew && registration.CurrentArtifact is not null)
        {
            S.CurrentArtifact = S.DesiredArtifact = registration.CurrentArtifact;
            S.CurrentVersion = S.DesiredVersion = registration.CurrentVersion;
        }

        S.LastHeartbeat = clock.GetUtcNow();
        S.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
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
        await state.WriteStateAsync();
        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public Task<DesiredState?> GetDesired() => Task.FromResult(S.Environment is null
        ? null
        : new DesiredState { Artifact = S.DesiredArtifact, Version = S.DesiredVersion, Rollout = S.Rollout, State = S.State });

    public async Task<HostCommandStatus> Execute(HostCommand command)
    {
        if (S.Environment is null)
        {
            return Status(command.Kind, CommandOutcome.Failed, $"host '{HostId}' is not registered");
        }

        if (S.State == HostState.Retired)
        {
            return Status(command.Kind, command.Kind == HostCommandKind.Revert ? CommandOutcome.Succeeded : CommandOutcome.Failed,
                "the host is retired");
        }

        if (S.Command is { } current && SameCommand(current, command))
        {
            // Re-delivery: report what happened, and make sure a simulated host is still working on it.
            if (S.CommandOutcome == CommandOutcome.Pending)
            {
                EnsureSimulation();
            }

            return Status(current.Kind, S.CommandOutcome, S.LastError);
        }

        if (command.Kind == HostCommandKind.Apply && S.Command is { Kind: HostCommandKind.Revert } revert
            && string.Equals(revert.RolloutId, command.RolloutId, StringComparison.Ordinal))
        {
            // A late apply of a rollout this host already reverted for: the rollout has moved on; never re-apply.
            return Status(HostCommandKind.Apply, CommandOutcome.Failed, "the rollout is rolling back; apply refused");
        }

        if (command.Kind == HostCommandKind.Apply && S.CommandOutcome == CommandOutcome.Pending && S.Command is { } busy
            && !string.Equals(busy.RolloutId, command.RolloutId, StringComparison.Ordinal))
        {
            // One command at a time: a host in the middle of another rollout's change is not taken over.
            return Status(command.Kind, CommandOutcome.Failed, $"host is busy with rollout '{busy.RolloutId}'");
        }

        return command.Kind == HostCommandKind.Apply ? await BeginApply(command) : await BeginRevert(command);
    }

    public async Task<CommandResult<HostSnapshot>> Report(HostOutcomeReport report)
    {
        if (S.Environment is null)
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.NotFound, $"host '{HostId}' is not registered");
        }

        if (S.Command is null || S.CommandOutcome != CommandOutcome.Pending
            || !string.Equals(S.Command.RolloutId, report.RolloutId, StringComparison.Ordinal)
            || !string.Equals(S.DesiredArtifact, report.Artifact, StringComparison.Ordinal))
        {
            return CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict,
                $"host '{HostId}' has no pending command of rollout '{report.RolloutId}' for artifact '{report.Artifact}'");
        }

        S.LastHeartbeat = clock.GetUtcNow();
        if (report.ComputedDigest is { } computed && !string.Equals(computed, report.Artifact, StringComparison.Ordinal))
        {
            // The agent verified its download and refused it: it still runs (and is as healthy as) its current artifact.
            await FailVerification(computed);
            return CommandResult<HostSnapshot>.Success(Snapshot());
        }

        S.Healthy = report.Healthy;
        var succeeded = report.Succeeded && report.Healthy;
        var reason = succeeded ? null : report.Message ?? (report.Succeeded ? "host unhealthy after applying" : "agent reported failure");
        await Finish(succeeded, reason);
        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public async Task Dispatch(HostCommand command)
    {
        var status = await Execute(command);
        if (status.Outcome != CommandOutcome.Pending)
        {
            // Final at once (already on the artifact, refused, untouched): tell the rollout like any later outcome.
            await GrainFactory.Ref<IRolloutGrain>(command.RolloutId).OnHostReported(status);
            if (status.Outcome == CommandOutcome.Succeeded && command.Kind == HostCommandKind.Apply)
            {
                await SendSimulatedSample(command.RolloutId);
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
        S.Healthy = sample.FailedHealthChecks == 0;
        if (S.Rollout is { } rollout)
        {
            await GrainFactory.Ref<IRolloutGrain>(rollout).OnHostSample(sample with { HostId = HostId, Version = S.CurrentVersion, Artifact = S.CurrentArtifact });
        }

        return CommandResult<HostSnapshot>.Success(Snapshot());
    }

    public async Task Retire(string rolloutId)
    {
        if (S.Environment is null || S.State == HostState.Retired)
        {
            return;
        }

        _simulationTimer?.Dispose();
        _simulationTimer = null;
        S.State = HostState.Retired;
        S.CommandOutcome = CommandOutcome.Succeeded;
        S.LastError = null;
        S.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        await Publish(EventTypes.HostRetired, $"retired by rollout '{rolloutId}'");
    }

    public async Task EmitSamples(string rolloutId, int count, int spacingMs)
    {
        if (spacingMs <= 0)
        {
            for (var i = 1; i <= count; i++)
            {
                await SendSimulatedSample(rolloutId, i);
            }

            return;
        }

        // Spread over time like a real agent's pushes: a reading now, then one per spacing (in memory: samples are observations, not decisions).
        _sampleTimer?.Dispose();
        var sent = 0;
        _sampleTimer = this.RegisterGrainTimer(async _ =>
        {
            await SendSimulatedSample(rolloutId, ++sent);
            if (sent >= count)
            {
                _sampleTimer?.Dispose();
                _sampleTimer = null;
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(spacingMs)));
    }

    /// <summary>A simulated host that runs a version reports the metrics its profile gives that version (reading <paramref name="sequence"/>).</summary>
    private Task SendSimulatedSample(string rolloutId, int sequence = 0)
    {
        if (S.Simulation is not { } profile || S.CurrentVersion is null)
        {
            return Task.CompletedTask;
        }

        var metrics = profile.MetricsByVersion.GetValueOrDefault(S.CurrentVersion) ?? profile.DefaultMetrics;
        if (metrics is null)
        {
            return Task.CompletedTask;
        }

        double Read(string name, double value) => sequence == 0 ? value : SimulatedOutcome.Reading(HostId, name, sequence, value);
        return GrainFactory.Ref<IRolloutGrain>(rolloutId).OnHostSample(new HostMetricsSample
        {
            HostId = HostId,
            Version = S.CurrentVersion,
            Artifact = S.CurrentArtifact,
            ErrorRatePercent = Read("errorRatePercent", metrics.ErrorRatePercent),
            P99LatencyMs = Read("p99LatencyMs", metrics.P99LatencyMs),
            FailedHealthChecks = metrics.FailedHealthChecks,
            Requests = 1000,
            Values = metrics.Values.ToDictionary(v => v.Key, v => Read(v.Key, v.Value), StringComparer.Ordinal),
        });
    }

    private async Task<HostCommandStatus> BeginApply(HostCommand command)
    {
        if (command.Artifact is null)
        {
            return Status(HostCommandKind.Apply, CommandOutcome.Failed, "apply command without an artifact");
        }

        // The rollback target is what the host ran before this rollout first touched it.
        if (!string.Equals(S.Rollout, command.RolloutId, StringComparison.Ordinal))
        {
            S.PreviousArtifact = S.CurrentArtifact;
            S.PreviousVersion = S.CurrentVersion;
            S.Rollout = command.RolloutId;
        }

        return await Begin(command, command.Artifact, command.Version, HostState.Updating, "already running the artifact");
    }

    private async Task<HostCommandStatus> BeginRevert(HostCommand command)
    {
        // A host this rollout never changed has nothing to undo.
        if (!string.Equals(S.Rollout, command.RolloutId, StringComparison.Ordinal))
        {
            return Status(HostCommandKind.Revert, CommandOutcome.Succeeded, "untouched by this rollout") with { Untouched = true };
        }

        // Whatever the host was doing for this rollout is superseded by the revert.
        _simulationTimer?.Dispose();
        _simulationTimer = null;
        return await Begin(command, S.PreviousArtifact, S.PreviousVersion, HostState.RollingBack, "already on the previous artifact");
    }

    /// <summary>
    /// Takes the command: the host moves to <paramref name="artifact"/>, at once when it already runs it,
    /// otherwise through <paramref name="moving"/> until the agent (or the simulation) reports. Moving is not
    /// published per host: the rollout's batch-started or rollback-decided event names the hosts it moves.
    /// </summary>
    private async Task<HostCommandStatus> Begin(
        HostCommand command, string? artifact, string? version, HostState moving, string doneReason)
    {
        S.Command = command;
        S.LastError = null;
        S.DesiredArtifact = artifact;
        S.DesiredVersion = version;
        S.UpdatedAt = clock.GetUtcNow();

        if (string.Equals(S.CurrentArtifact, artifact, StringComparison.Ordinal))
        {
            S.State = HostState.Ready;
            S.CommandOutcome = CommandOutcome.Succeeded;
            await state.WriteStateAsync();
            return Status(command.Kind, CommandOutcome.Succeeded, doneReason);
        }

        if (S.Simulation is { StepLatencyMs: <= 0 } && !DownloadIsCorrupt())
        {
            // A zero-latency simulated host has nothing to wait for: it finishes in the turn that takes the command,
            // with one write instead of two (Updating, then the outcome) and no timer turn. Dispatch tells the rollout.
            var (succeeded, reason) = SimulatedResult();
            SetOutcome(succeeded, reason);
            await state.WriteStateAsync();
            if (!succeeded)
            {
                await Publish(EventTypes.HostFailed, reason);
            }

            return Status(command.Kind, S.CommandOutcome, reason);
        }

        S.State = moving;
        S.CommandOutcome = CommandOutcome.Pending;
        await state.WriteStateAsync();
        EnsureSimulation();
        return Status(command.Kind, CommandOutcome.Pending, null);
    }

    private void SetOutcome(bool succeeded, string? reason)
    {
        if (succeeded)
        {
            S.CurrentArtifact = S.DesiredArtifact;
            S.CurrentVersion = S.DesiredVersion;
            S.State = HostState.Ready;
            S.CommandOutcome = CommandOutcome.Succeeded;
        }
        else
        {
            // The host keeps running what it ran; the desired artifact stays visible for diagnosis.
            S.State = HostState.Failed;
            S.CommandOutcome = CommandOutcome.Failed;
            S.LastError = reason;
        }

        S.UpdatedAt = clock.GetUtcNow();
    }

    private async Task Finish(bool succeeded, string? reason)
    {
        var command = S.Command!;
        SetOutcome(succeeded, reason);
        await state.WriteStateAsync();

        // The rollout hears first (one-way: it never calls back into a host while handling this, and a lost
        // report is recovered by its reminder re-delivering the command); the event follows.
        await GrainFactory.Ref<IRolloutGrain>(command.RolloutId).OnHostReported(Status(command.Kind, S.CommandOutcome, reason));
        if (succeeded && command.Kind == HostCommandKind.Apply)
        {
            await SendSimulatedSample(command.RolloutId);
        }

        // Successes are published by the rollout, many hosts per event (hosts.updated, hosts.reverted): one event per
        // host was the largest single cost of a large rollout. A failure is published here, with its reason.
        if (!succeeded)
        {
            await Publish(EventTypes.HostFailed, reason);
        }
    }

    private void EnsureSimulation()
    {
        if (S.Simulation is null || _simulationTimer is not null)
        {
            return;
        }

        var delay = TimeSpan.FromMilliseconds(Math.Max(0, S.Simulation.StepLatencyMs));
        _simulationTimer = this.RegisterGrainTimer(CompleteSimulatedStep, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
    }

    private async Task CompleteSimulatedStep(CancellationToken cancellationToken)
    {
        _simulationTimer?.Dispose();
        _simulationTimer = null;
        if (S.CommandOutcome != CommandOutcome.Pending || S.Command is null || S.Simulation is null)
        {
            return;
        }

        if (DownloadIsCorrupt() && S.DesiredArtifact is { } expected)
        {
            // The simulated download yields other bytes; their digest is what a verifying agent would compute.
            var got = Domain.Artifacts.ArtifactDigest.Prefix + Convert.ToHexStringLower(
                System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"corrupt download of {expected} on {HostId}")));
            try
            {
                await FailVerification(got);
            }
            catch
            {
                this.DeactivateOnIdle();
                throw;
            }

            return;
        }

        var (succeeded, reason) = SimulatedResult();
        try
        {
            await Finish(succeeded, reason);
        }
        catch
        {
            // Storage refused the outcome: reload from storage; the rollout's re-delivery retries the step.
            this.DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Whether the simulated download of the desired version yields other bytes than its digest names.</summary>
    private bool DownloadIsCorrupt() =>
        S.Command?.Kind == HostCommandKind.Apply && S.Simulation is { } profile && S.DesiredVersion is { } version
        && profile.CorruptDownloadVersions.Contains(version, StringComparer.Ordinal);

    /// <summary>How the simulated host's current command ends: its profile decides, deterministically per host and artifact.</summary>
    private (bool Succeeded, string? Reason) SimulatedResult()
    {
        var fails = S.Command!.Kind == HostCommandKind.Apply
            && SimulatedOutcome.Fails(HostId, S.DesiredArtifact ?? string.Empty, FailureProbability(S.Simulation!, S.DesiredVersion));
        if (!fails)
        {
            return (true, null);
        }

        LogSimulatedFailure(logger, HostId, S.DesiredVersion);
        return (false, $"simulated failure applying version {S.DesiredVersion}");
    }

    /// <summary>
    /// The downloaded bytes hash to <paramref name="computed"/>, not to the desired artifact: the host does not activate
    /// them, stays on its current artifact, fails the command with the reason, and the artifact records the incident.
    /// </summary>
    private async Task FailVerification(string computed)
    {
        var expected = S.DesiredArtifact ?? string.Empty;
        LogVerificationFailed(logger, HostId, expected, computed);
        await Finish(false, $"artifact verification failed: expected {expected}, got {computed}");
        await GrainFactory.Ref<IArtifactGrain>(expected).RecordVerificationFailure(computed, $"download by host '{HostId}'",
            new ArtifactActor { Name = "host/" + HostId, Role = "agent" });
    }

    private static double FailureProbability(SimulationProfile profile, string? version) =>
        version is not null && profile.FailureProbabilityByVersion.TryGetValue(version, out var p) ? p : profile.DefaultFailureProbability;

    private static bool SameCommand(HostCommand a, HostCommand b) =>
        a.Kind == b.Kind && a.Batch == b.Batch && string.Equals(a.RolloutId, b.RolloutId, StringComparison.Ordinal);

    /// <summary>The answer to a command of <paramref name="kind"/>: the rollout only applies an answer to the phase it asked about.</summary>
    private HostCommandStatus Status(HostCommandKind kind, CommandOutcome outcome, string? reason) =>
        new() { HostId = HostId, Kind = kind, Outcome = outcome, Reason = reason };

    private Task Publish(string type, string? reason)
    {
        var rollout = S.Rollout;
        if (rollout is null)
        {
            return Task.CompletedTask;
        }

        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.RolloutEvents(rollout), clock);
        return publisher.Publish(type, "host/" + HostId, reason, new Dictionary<string, string>
        {
            ["host"] = HostId,
            ["artifact"] = S.DesiredArtifact ?? string.Empty,
            ["version"] = S.DesiredVersion ?? string.Empty,
            ["state"] = S.State.ToString(),
        });
    }

    private HostSnapshot Snapshot() => new()
    {
        Id = HostId,
        Environment = S.Environment!,
        Labels = new Dictionary<string, string>(S.Labels, StringComparer.Ordinal),
        State = S.State,
        CurrentArtifact = S.CurrentArtifact,
        CurrentVersion = S.CurrentVersion,
        DesiredArtifact = S.DesiredArtifact,
        DesiredVersion = S.DesiredVersion,
        PreviousArtifact = S.PreviousArtifact,
        PreviousVersion = S.PreviousVersion,
        Healthy = S.Healthy,
        LastHeartbeat = S.LastHeartbeat,
        Rollout = S.Rollout,
        LastError = S.LastError,
        Simulated = S.Simulation is not null,
        UpdatedAt = S.UpdatedAt,
        Simulation = S.Simulation,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId} refused its download of {Expected}: the bytes hash to {Computed}")]
    private static partial void LogVerificationFailed(ILogger logger, string hostId, string expected, string computed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Simulated host {HostId} failed to apply version {Version}")]
    private static partial void LogSimulatedFailure(ILogger logger, string hostId, string? version);
}
