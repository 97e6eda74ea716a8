using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Hosts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Environments;

[GenerateSerializer]
[Alias("EnvironmentGrainState")]
public sealed class EnvironmentGrainState
{
    [Id(0)] public EnvironmentSpec? Spec { get; set; }

    [Id(1)] public List<string> Active { get; set; } = [];

    [Id(2)] public List<string> Queue { get; set; } = [];

    [Id(3)] public Dictionary<string, DeployedVersion> Services { get; set; } = [];

    /// <summary>
    /// Where the host index was kept before it got its own state (<see cref="EnvironmentHostIndexState"/>): read once
    /// on activation to move it, then empty.
    /// </summary>
    [Id(4)] public Dictionary<string, Dictionary<string, string>> Hosts { get; set; } = [];

    [Id(5)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The service of every active or queued rollout.</summary>
    [Id(6)] public Dictionary<string, string> RolloutServices { get; set; } = [];

    /// <summary>Blue-green: the slot serving each service.</summary>
    [Id(10)] public Dictionary<string, string> ActiveSlots { get; set; } = [];

    /// <summary>The configuration version (see <see cref="EnvironmentSnapshot.Version"/>).</summary>
    [Id(7)] public long Version { get; set; }

    /// <summary>An ephemeral environment's host quota (set by its declaration); null: no quota.</summary>
    [Id(220)] public int? HostQuota { get; set; }

    /// <summary>Hosts a rollback could not confirm, by host id: excluded from later rollouts until an operator clears them.</summary>
    [Id(150)] public Dictionary<string, QuarantinedHost> Quarantined { get; set; } = [];
}

/// <summary>
/// The environment's hosts and their labels, apart from its admission state: with the index inside that state, every
/// admission decision rewrote every host's labels (a 10,000-host environment admitted 134 decisions/s instead of
/// ~3,900, measured with deploy/bench.sh --only admission).
/// </summary>
[GenerateSerializer]
[Alias("EnvironmentHostIndexState")]
public sealed class EnvironmentHostIndexState
{
    [Id(0)] public Dictionary<string, Dictionary<string, string>> Hosts { get; set; } = [];
}

/// <summary>
/// One environment. Admission lives here and only here: a single activation is the lock that keeps the
/// number of running rollouts at or below the limit, and the FIFO queue in order. The environment never
/// awaits a rollout (it tells them one-way), so rollouts may call it freely without deadlock.
/// </summary>
public sealed partial class EnvironmentGrain(
    [PersistentState("environment", Stores.Blob)] IPersistentState<EnvironmentGrainState> state,
    [PersistentState("environment-hosts", Stores.Blob)] IPersistentState<EnvironmentHostIndexState> index,
    TimeProvider clock,
    ILogger<EnvironmentGrain> logger) : Grain, IEnvironmentGrain
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Environment {Environment}: hosts that failed to register could not be taken out of the index ({Error}); the next registration or reload repairs it")]
    private static partial void LogUnindexFailed(ILogger logger, string environment, string error);

    private string Name => this.GetPrimaryKeyString();

    private EnvironmentGrainState S => state.State;

    /// <summary>Host id → labels.</summary>
    private Dictionary<string, Dictionary<string, string>> Hosts => index.State.Hosts;

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Telemetry.EngineTelemetry.ForgetQueue(Name);
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Queue.Count > 0) Telemetry.EngineTelemetry.SetQueueDepth(Name, S.Queue.Count);
        if (S.Hosts.Count == 0)
        {
            return;
        }

        // Stored before the index had a state of its own: move it (the index first, so a failure in between loses nothing).
        foreach (var (host, labels) in S.Hosts)
        {
            Hosts.TryAdd(host, labels);
        }

        await index.WriteStateAsync(cancellationToken);
        S.Hosts = [];
        await state.WriteStateAsync(cancellationToken);
    }

    public async Task<EnvironmentSnapshot> Configure(EnvironmentSpec spec)
    {
        var created = S.Spec is null;
        if (created)
        {
            S.CreatedAt = clock.GetUtcNow();
            await GrainFactory.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).Add(Name);
        }

        // A limit below 1 means "not given": the current one stays (1 for a new environment).
        S.Spec = spec.ConcurrencyLimit >= 1 ? spec : spec with { ConcurrencyLimit = S.Spec?.ConcurrencyLimit ?? 1 };
        S.Version++;
        var admitted = AdmitWhileSlotsFree();
        await state.WriteStateAsync();
        await Publish(created ? EventTypes.EnvironmentCreated : EventTypes.EnvironmentModified,
            $"concurrency limit {S.Spec.ConcurrencyLimit}", null);
        await NotifyAdmitted(admitted);
        return Snapshot();
    }

    public async Task<CommandResult<EnvironmentSnapshot>> Configure(EnvironmentSpec spec, EnvironmentPrecondition precondition)
    {
        // Checked and written in one turn of this (non-reentrant) activation: no other Configure runs in between.
        var exists = S.Spec is not null;
        var refusal = (precondition, exists) switch
        {
            ({ MustNotExist: true }, true) => $"environment '{Name}' already exists (version {S.Version})",
            ({ MustExist: true }, false) or ({ VersionIn: not null }, false) => $"environment '{Name}' does not exist",
            ({ VersionIn: { } versions }, true) when !versions.Contains(S.Version) =>
                $"environment '{Name}' is at version {S.Version}, not the version the request was based on",
            _ => null,
        };
        return refusal is null
            ? CommandResult<EnvironmentSnapshot>.Success(await Configure(spec))
            : CommandResult<EnvironmentSnapshot>.Fail(ErrorKind.PreconditionFailed, refusal);
    }

    [ReadOnly]
    public Task<EnvironmentSnapshot?> Get() => Task.FromResult(S.Spec is null ? null : Snapshot());

    /// <summary>
    /// All or nothing, and the acknowledged write last. Refusals come before any write: the quota, then a host already
    /// registered in another environment (every host of the batch is refused with it, none registered). The index is
    /// written first (a failure there leaves no host record behind), then the hosts; a host that fails to register
    /// after the index was written is taken out of the index again, so the index never keeps a host that is not there
    /// and no host is registered that its environment does not list.
    /// </summary>
    public async Task<IReadOnlyList<CommandResult<HostSnapshot>>> RegisterHosts(IReadOnlyList<HostEnrollment> hosts)
    {
        // The quota is checked and the hosts indexed in one turn of this activation: two registrations cannot both fit.
        var adding = hosts.Select(h => h.HostId).Where(id => !Hosts.ContainsKey(id)).Distinct(StringComparer.Ordinal).Count();
        if (Lifecycle.QuotaRefusal(Name, S.HostQuota, Hosts.Count, adding) is { } refusal)
        {
            return hosts.Select(_ => CommandResult<HostSnapshot>.Fail(ErrorKind.PolicyRefused, refusal)).ToList();
        }

        // Hosts never call their environment, so awaiting them here cannot deadlock.
        var existing = await Task.WhenAll(hosts.Select(h => GrainFactory.Ref<IHostGrain>(h.HostId).Get()));
        if (existing.FirstOrDefault(e => e is not null && !string.Equals(e.Environment, Name, StringComparison.Ordinal)) is { } elsewhere)
        {
            var conflict = $"host '{elsewhere.Id}' is registered in environment '{elsewhere.Environment}'; deregistration is needed to move it " +
                "(no host of this request was registered)";
            return hosts.Select(_ => CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict, conflict)).ToList();
        }

        // Ownership is refused before anything is written (the host checks it again in its own turn).
        for (var i = 0; i < hosts.Count; i++)
        {
            var registration = hosts[i].Registration;
            if (HostOwnership.AfterRegistration(hosts[i].HostId, existing[i] is not null, existing[i]?.Owner, registration.Owner,
                    registration.ByOperator, registration.AdoptBy, registration.Simulation is not null).Refusal is { } owned)
            {
                var detail = owned + (hosts.Count > 1 ? " (no host of this request was registered)" : string.Empty);
                return hosts.Select(_ => CommandResult<HostSnapshot>.Fail(ErrorKind.Conflict, detail)).ToList();
            }
        }

        var previous = new Dictionary<string, Dictionary<string, string>?>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            if (!Hosts.TryGetValue(host.HostId, out var labels) || !SameLabels(labels, host.Registration.Labels))
            {
                previous.TryAdd(host.HostId, labels);
                Hosts[host.HostId] = new Dictionary<string, string>(host.Registration.Labels, StringComparer.Ordinal);
            }
        }

        if (previous.Count > 0)
        {
            await index.WriteStateAsync();
        }

        CommandResult<HostSnapshot>[] results;
        try
        {
            results = await Task.WhenAll(hosts.Select(h =>
                GrainFactory.Ref<IHostGrain>(h.HostId).Register(h.Registration with { Environment = Name })));
        }
        catch
        {
            // Some hosts may have registered before the failure; those that did not must leave the index. Which is
            // which is unknown here, so each is read back (best effort: the caller sees the original failure).
            await Unindex(hosts.Select(h => h.HostId).Where(previous.ContainsKey), previous, onlyUnregistered: true);
            throw;
        }

        var refused = hosts.Where((_, i) => !results[i].Ok).Select(h => h.HostId).Where(previous.ContainsKey).ToList();
        if (refused.Count > 0)
        {
            await Unindex(refused, previous, onlyUnregistered: false);
        }

        return results;
    }

    /// <summary>Puts the index entries of <paramref name="ids"/> back to what they were before this registration.</summary>
    private async Task Unindex(IEnumerable<string> ids, Dictionary<string, Dictionary<string, string>?> previous, bool onlyUnregistered)
    {
        try
        {
            var changed = false;
            foreach (var id in ids)
            {
                if (onlyUnregistered && await GrainFactory.Ref<IHostGrain>(id).Get() is { } registered
                    && string.Equals(registered.Environment, Name, StringComparison.Ordinal))
                {
                    continue;
                }

                if (previous[id] is { } labels) Hosts[id] = labels;
                else Hosts.Remove(id);
                changed = true;
            }

            if (changed)
            {
                await index.WriteStateAsync();
            }
        }
        catch (Exception e) when (onlyUnregistered)
        {
            LogUnindexFailed(logger, Name, e.GetType().Name);
        }
    }

    [ReadOnly]
    public Task<IReadOnlyList<HostIndexEntry>> GetHostIndex() => Task.FromResult<IReadOnlyList<HostIndexEntry>>(
        Hosts.OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => new HostIndexEntry { HostId = h.Key, Labels = new Dictionary<string, string>(h.Value, StringComparer.Ordinal) })
            .ToList());

    public async Task<Admission> RequestSlot(string rolloutId, string service)
    {
        if (S.Active.Contains(rolloutId))
        {
            return Admitted();
        }

        var position = S.Queue.IndexOf(rolloutId);
        if (position >= 0)
        {
            return Queued(position);
        }

        S.RolloutServices[rolloutId] = service;
        if (S.Queue.Count == 0 && CanAdmit(rolloutId))
        {
            S.Active.Add(rolloutId);
            await state.WriteStateAsync();
            await Publish(EventTypes.SlotAdmitted, $"slot {S.Active.Count} of {Limit}", rolloutId);
            return Admitted();
        }

        S.Queue.Add(rolloutId);
        await state.WriteStateAsync();
        var queued = Queued(S.Queue.Count - 1);
        await Publish(EventTypes.SlotQueued, queued.Reason, rolloutId);
        return queued;
    }

    public async Task ReleaseSlot(string rolloutId)
    {
        var removed = S.Active.Remove(rolloutId) | S.Queue.Remove(rolloutId);
        if (!removed)
        {
            return;
        }

        S.RolloutServices.Remove(rolloutId);

        var admitted = AdmitWhileSlotsFree();
        await state.WriteStateAsync();
        await Publish(EventTypes.SlotReleased, null, rolloutId);
        await NotifyAdmitted(admitted);
    }

    public async Task RecordDeployed(string service, DeployedVersion version)
    {
        // A rollout records its end again when a call after it failed (see RolloutGrain.Settle): the same record
        // changes nothing, and an older one never replaces what a later rollout of the service recorded.
        if (S.Services.TryGetValue(service, out var current) && (current == version || current.DeployedAt > version.DeployedAt))
        {
            return;
        }

        S.Services[service] = version;
        await state.WriteStateAsync();
    }

    public async Task RestoreDeployed(string service, string releaseId, DeployedVersion? previous)
    {
        if (!S.Services.TryGetValue(service, out var current) || !string.Equals(current.ReleaseId, releaseId, StringComparison.Ordinal))
        {
            return;
        }

        if (previous is null)
        {
            S.Services.Remove(service);
        }
        else
        {
            S.Services[service] = previous;
        }

        await state.WriteStateAsync();
    }

    public async Task SetActiveSlot(string service, string slot)
    {
        if (S.ActiveSlots.TryGetValue(service, out var current) && string.Equals(current, slot, StringComparison.Ordinal))
        {
            return;
        }

        S.ActiveSlots[service] = slot;
        await state.WriteStateAsync();
    }

    public async Task SetHostQuota(int? quota)
    {
        if (S.HostQuota != quota)
        {
            S.HostQuota = quota;
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveHosts(IReadOnlyList<string> hostIds)
    {
        var removed = false;
        foreach (var id in hostIds)
        {
            removed |= Hosts.Remove(id);
        }

        if (removed)
        {
            await index.WriteStateAsync();
        }
    }

    [ReadOnly]
    public Task<IReadOnlyList<string>> RolloutsOf(string service) => Task.FromResult<IReadOnlyList<string>>(
        S.Active.Concat(S.Queue)
            .Where(r => S.RolloutServices.TryGetValue(r, out var s) && string.Equals(s, service, StringComparison.Ordinal))
            .ToList());

    public async Task Quarantine(IReadOnlyList<string> hostIds, string rolloutId, string reason)
    {
        var added = hostIds.Where(h => !S.Quarantined.ContainsKey(h)).Distinct(StringComparer.Ordinal).ToList();
        if (added.Count == 0)
        {
            return;
        }

        foreach (var host in added)
        {
            S.Quarantined[host] = new QuarantinedHost { HostId = host, RolloutId = rolloutId, Reason = reason, Since = clock.GetUtcNow() };
        }

        await state.WriteStateAsync();
    }

    public async Task<CommandResult<EnvironmentSnapshot>> ClearQuarantine(string hostId, string actor, string? reason)
    {
        if (!S.Quarantined.Remove(hostId, out var entry))
        {
            return CommandResult<EnvironmentSnapshot>.Fail(ErrorKind.NotFound, $"host '{hostId}' is not quarantined in environment '{Name}'");
        }

        await state.WriteStateAsync();
        var why = $"host '{hostId}' (quarantined by rollout '{entry.RolloutId}') cleared by {actor}" + (string.IsNullOrWhiteSpace(reason) ? string.Empty : ": " + reason);
        await Publish(EventTypes.QuarantineCleared, why, entry.RolloutId);
        return CommandResult<EnvironmentSnapshot>.Success(Snapshot());
    }

    private int Limit => Math.Max(1, S.Spec?.ConcurrencyLimit ?? 1);

    private List<string> AdmitWhileSlotsFree()
    {
        var admitted = new List<string>();
        // Strict FIFO: the head of the queue waits for a slot and for its service to be free, and no rollout
        // behind it overtakes.
        while (S.Queue.Count > 0 && CanAdmit(S.Queue[0]))
        {
            var next = S.Queue[0];
            S.Queue.RemoveAt(0);
            S.Active.Add(next);
            admitted.Add(next);
        }

        return admitted;
    }

    private async Task NotifyAdmitted(List<string> admitted)
    {
        foreach (var rolloutId in admitted)
        {
            await Publish(EventTypes.SlotAdmitted, "admitted from the queue", rolloutId);
            await GrainFactory.Ref<IRolloutGrain>(rolloutId).OnAdmitted();
        }
    }

    private bool CanAdmit(string rolloutId) =>
        S.Active.Count < Limit && !S.Active.Any(active => SameService(active, rolloutId));

    private bool SameService(string a, string b) =>
        S.RolloutServices.TryGetValue(a, out var sa) && S.RolloutServices.TryGetValue(b, out var sb) && string.Equals(sa, sb, StringComparison.Ordinal);

    private Admission Admitted() => new() { Status = AdmissionStatus.Admitted, Reason = $"running in environment '{Name}'" };

    private Admission Queued(int index)
    {
        var rolloutId = S.Queue[index];
        var sameService = S.Active.FirstOrDefault(active => SameService(active, rolloutId));
        var why = sameService is not null && S.Active.Count < Limit
            ? $"rollout '{sameService}' of the same service is running"
            : $"{S.Active.Count} of {Limit} rollouts running";
        return new Admission
        {
            Status = AdmissionStatus.Queued,
            Position = index + 1,
            Reason = $"waiting for a slot in '{Name}': {why}, place {index + 1} in the queue",
        };
    }

    private Task Publish(string type, string? reason, string? rolloutId)
    {
        // Every change of the queue is published through here (queued, admitted, released).
        Telemetry.EngineTelemetry.SetQueueDepth(Name, S.Queue.Count);
        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(Name), clock);
        var data = rolloutId is null ? null : new Dictionary<string, string> { ["rollout"] = rolloutId };
        return publisher.Publish(type, "environment/" + Name, reason, data);
    }

    private static bool SameLabels(Dictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && string.Equals(v, kv.Value, StringComparison.Ordinal));

    private EnvironmentSnapshot Snapshot() => new()
    {
        Name = Name,
        Spec = S.Spec!,
        Active = S.Active.ToList(),
        Queued = S.Queue.ToList(),
        Services = new Dictionary<string, DeployedVersion>(S.Services, StringComparer.Ordinal),
        HostCount = Hosts.Count,
        CreatedAt = S.CreatedAt,
        ActiveSlots = new Dictionary<string, string>(S.ActiveSlots, StringComparer.Ordinal),
        Quarantined = S.Quarantined.Values.OrderBy(q => q.HostId, StringComparer.Ordinal).ToList(),

        Version = S.Version,
    };
}
