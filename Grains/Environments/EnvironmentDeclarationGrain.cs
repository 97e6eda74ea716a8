using System.Globalization;
using System.Text.Json;
using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Environments;

[GenerateSerializer]
[Alias("EnvironmentDeclarationState")]
public sealed class EnvironmentDeclarationState
{
    [Id(0)] public EnvironmentDeclaration? Declaration { get; set; }

    [Id(1)] public long Version { get; set; }

    [Id(2)] public DateTimeOffset DeclaredAt { get; set; }

    [Id(3)] public string DeclaredBy { get; set; } = string.Empty;

    [Id(4)] public DateTimeOffset CreatedAt { get; set; }

    [Id(5)] public DateTimeOffset? TornDownAt { get; set; }

    [Id(6)] public string? TornDownReason { get; set; }

    [Id(7)] public DriftReport? LastDrift { get; set; }

    /// <summary>Declaration changes proposed for approval: every pending one and the last decided ones, oldest first.</summary>
    [Id(8)] public List<DeclarationChangeSnapshot> Changes { get; set; } = [];
}

/// <summary>
/// One environment's declaration, kept beside the environment grain (which stays about admission and hosts): the
/// declared baseline and its drift scan, and an ephemeral environment's end. Two reminders drive it: the drift scan
/// (<see cref="EnvironmentOptions.DriftScanInterval"/>) and, for an ephemeral environment, the time-to-live sweep
/// (<see cref="EnvironmentOptions.SweepInterval"/>). It calls the environment, hosts and rollouts; none of them calls
/// it back except through <see cref="Get"/>, which interleaves.
/// </summary>
public sealed partial class EnvironmentDeclarationGrain(
    [PersistentState("environment-declaration", Stores.Blob)] IPersistentState<EnvironmentDeclarationState> state,
    IOptions<EnvironmentOptions> options,
    IOptionsMonitor<GovernanceOptions> governance,
    TimeProvider clock,
    ILogger<EnvironmentDeclarationGrain> logger) : Grain, IEnvironmentDeclarationGrain, IRemindable
{
    private const string DriftReminder = "drift-scan";
    private const string SweepReminder = "ttl-sweep";
    private const string SweepActor = "ttl-sweep";

    /// <summary>Declarations as the diff names their fields: camelCase paths and enum names, as in the declaration format.</summary>
    private static readonly JsonSerializerOptions DiffFormat = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private string Name => this.GetPrimaryKeyString();

    private EnvironmentDeclarationState S => state.State;

    private IEnvironmentGrain Environment => GrainFactory.Ref<IEnvironmentGrain>(Name);

    public async Task<CommandResult<EnvironmentDeclarationSnapshot>> Declare(EnvironmentDeclaration declaration, Actor actor)
    {
        if (!string.Equals(declaration.Name, Name, StringComparison.Ordinal))
        {
            return CommandResult<EnvironmentDeclarationSnapshot>.Fail(ErrorKind.Validation, $"the declaration names '{declaration.Name}', not '{Name}'");
        }

        return CommandResult<EnvironmentDeclarationSnapshot>.Success(await Apply(declaration, actor));
    }

    public async Task<CommandResult<DeclarationOutcome>> Propose(EnvironmentDeclaration declaration, Actor actor, EnvironmentPrecondition precondition, bool directOnly)
    {
        if (!string.Equals(declaration.Name, Name, StringComparison.Ordinal))
        {
            return CommandResult<DeclarationOutcome>.Fail(ErrorKind.Validation, $"the declaration names '{declaration.Name}', not '{Name}'");
        }

        // Checked in the same turn as the write (this activation is not reentrant): of two writers holding one ETag, one wins.
        var declared = S.Declaration is not null && S.TornDownAt is null;
        if (precondition.Refusal($"the declaration of '{Name}'", declared, S.Version) is { } stale)
        {
            return CommandResult<DeclarationOutcome>.Fail(ErrorKind.PreconditionFailed, stale);
        }

        var required = governance.CurrentValue.ChangeApprovalsFor(Name);
        var approval = DeclarationChangeRules.ApprovalNeeded(Name, Controls(declared), required);
        if (approval is null || Same(S.Declaration!, declaration))
        {
            return CommandResult<DeclarationOutcome>.Success(new DeclarationOutcome { Applied = await Apply(declaration, actor) });
        }

        if (directOnly)
        {
            return CommandResult<DeclarationOutcome>.Fail(ErrorKind.PolicyRefused, approval + "; declare it alone with PUT /v1/environments/" + Name + "/declaration to propose the change");
        }

        var change = new DeclarationChangeSnapshot
        {
            Id = "dc-" + Guid.NewGuid().ToString("n")[..16],
            Environment = Name,
            State = DeclarationChangeState.Pending,
            Proposed = declaration,
            ProposedAgainst = S.Version,
            Differences = DeclarationChangeRules.Diff(JsonSerializer.SerializeToElement(S.Declaration, DiffFormat), JsonSerializer.SerializeToElement(declaration, DiffFormat))
                .Select(d => new DeclarationFieldChange { Field = d.Field, Before = d.Expected, After = d.Actual })
                .ToList(),
            ProposedBy = actor.Name,
            ProposedByRoles = actor.Roles,
            ProposedAt = clock.GetUtcNow(),
            ApprovalNeeded = approval,
            ApprovalsRequired = required,
        };
        S.Changes.Add(change);
        S.Changes.Trim();
        await state.WriteStateAsync();
        await Publish(EventTypes.DeclarationChangeProposed,
            actor.Reason ?? Truncate($"proposed declaration change {change.Id}: {DescribeChanges(change)}", 2000), actor, new Dictionary<string, string>
            {
                ["change"] = change.Id,
                ["version"] = S.Version.ToString(CultureInfo.InvariantCulture),
                ["fields"] = Truncate(string.Join(",", change.Differences.Select(d => d.Field)), 2000),
            });
        return CommandResult<DeclarationOutcome>.Success(new DeclarationOutcome { Pending = change });
    }

    public async Task<CommandResult<DeclarationChangeSnapshot>> Decide(string changeId, bool approve, Actor actor)
    {
        var index = S.Changes.FindIndex(c => string.Equals(c.Id, changeId, StringComparison.Ordinal));
        if (index < 0)
        {
            return CommandResult<DeclarationChangeSnapshot>.Fail(ErrorKind.NotFound, $"environment '{Name}' has no declaration change '{changeId}'");
        }

        var change = S.Changes[index];
        var current = S.Declaration is not null && S.TornDownAt is null ? S.Version : 0;
        var decision = ChangeProposals.Decide(ChangeSubject.Declaration, Name, change.ToProposal(), actor.Name, approve, current,
            governance.CurrentValue.ChangeApprovalsFor(Name));
        if (decision.Refused) return decision.Refusal<DeclarationChangeSnapshot>();
        var (approvers, required) = (decision.ApprovedBy, decision.Required);

        // More approvals needed (the setting when proposed, or now if it was raised since): the vote is kept, nothing applies.
        if (decision.Verdict == ChangeVerdict.Voted)
        {
            var voted = S.Changes[index] = change with { ApprovedBy = approvers, ApprovalsRequired = required };
            await state.WriteStateAsync();
            await Publish(EventTypes.DeclarationChangeVoted, decision.Reason, actor, new Dictionary<string, string>
            {
                ["change"] = changeId,
                ["proposedBy"] = change.ProposedBy,
                ["approvals"] = decision.Approvals.ToString(CultureInfo.InvariantCulture),
                ["required"] = required.ToString(CultureInfo.InvariantCulture),
            });
            return CommandResult<DeclarationChangeSnapshot>.Success(voted);
        }

        var decided = change with
        {
            ApprovedBy = approvers,
            ApprovalsRequired = required,
            State = approve ? DeclarationChangeState.Approved : DeclarationChangeState.Rejected,
            DecidedBy = actor.Name,
            DecidedAt = clock.GetUtcNow(),
            DecisionReason = actor.Reason,
        };
        if (decision.Verdict == ChangeVerdict.Applied)
        {
            // The decision and the declaration are written together (Apply writes the state once).
            decided = S.Changes[index] = decided with { AppliedVersion = S.Version + 1 };
            S.Changes.Trim();
            await Apply(change.Proposed, new Actor
            {
                Name = change.ProposedBy,
                Roles = change.ProposedByRoles,
                Reason = decision.Reason,
            });
        }
        else
        {
            S.Changes[index] = decided;
            S.Changes.Trim();
            await state.WriteStateAsync();
        }

        await Publish(approve ? EventTypes.DeclarationChangeApproved : EventTypes.DeclarationChangeRejected,
            actor.Reason ?? $"{(approve ? "approved" : "rejected")} declaration change {changeId} proposed by {change.ProposedBy}: {Truncate(DescribeChanges(change), 1500)}",
            actor, new Dictionary<string, string>
            {
                ["change"] = changeId,
                ["proposedBy"] = change.ProposedBy,
                ["version"] = S.Version.ToString(CultureInfo.InvariantCulture),
            });
        return CommandResult<DeclarationChangeSnapshot>.Success(decided);
    }

    public async Task<CommandResult<EnvironmentSnapshot>> ConfigureEnvironment(EnvironmentSpec spec, EnvironmentPrecondition precondition)
    {
        // In this grain's turn: no declaration change is proposed, approved or applied between the check and the write.
        var environment = await Environment.Get();
        var declared = S.Declaration is not null && S.TornDownAt is null;
        var controls = Controls(declared);
        var governed = DeclarationChangeRules.ApprovalNeeded(Name, controls)
            ?? (environment is not null && controls.ConfiguredProtected
                ? $"environment '{Name}' is protected by configuration (Governance:ProtectedEnvironments)"
                : null);
        if (environment is null || governed is null)
        {
            return await Environment.Configure(spec, precondition);
        }

        if (precondition.Refusal($"environment '{Name}'", exists: true, environment.Version) is { } stale)
        {
            return CommandResult<EnvironmentSnapshot>.Fail(ErrorKind.PreconditionFailed, stale);
        }

        var wanted = spec.ConcurrencyLimit >= 1 ? spec : spec with { ConcurrencyLimit = environment.Spec.ConcurrencyLimit };
        return wanted == environment.Spec
            ? CommandResult<EnvironmentSnapshot>.Success(environment)
            : CommandResult<EnvironmentSnapshot>.Fail(ErrorKind.Conflict,
                governed + $": its concurrency limit and description are part of its declaration and change only through an approved " +
                $"declaration change (PUT /v1/environments/{Name}/declaration proposes one); nothing was changed");
    }

    /// <summary>Newest first; a pending change shows the count it needs now (<see cref="ChangeProposals.Required"/>).</summary>
    public Task<IReadOnlyList<DeclarationChangeSnapshot>> Changes()
    {
        var configured = governance.CurrentValue.ChangeApprovalsFor(Name);
        return Task.FromResult<IReadOnlyList<DeclarationChangeSnapshot>>(S.Changes.AsEnumerable().Reverse()
            .Select(c => c.State == DeclarationChangeState.Pending ? c with { ApprovalsRequired = ChangeProposals.Required(c.ApprovalsRequired, configured) } : c)
            .ToList());
    }

    /// <summary>
    /// Stores <paramref name="declaration"/> (creating the environment when it does not exist) and starts its reminders;
    /// the same declaration again changes nothing.
    /// </summary>
    private async Task<EnvironmentDeclarationSnapshot> Apply(EnvironmentDeclaration declaration, Actor actor)
    {
        // The environment itself (spec, admission) exists first: a declaration of a new environment creates it.
        var environment = await Environment.Get();
        var spec = environment?.Spec ?? new EnvironmentSpec();
        var wanted = spec with
        {
            ConcurrencyLimit = declaration.ConcurrencyLimit ?? spec.ConcurrencyLimit,
            Description = declaration.Description ?? spec.Description,
        };
        if (environment is null || wanted != spec)
        {
            await Environment.Configure(wanted);
        }

        await Environment.SetHostQuota(declaration.Ephemeral?.HostQuota);

        // Declaring the same thing again (every start loads the declarations folder) changes nothing.
        var revived = S.TornDownAt is not null;
        if (!revived && S.Declaration is not null && Same(S.Declaration, declaration))
        {
            await EnsureReminders();
            return Snapshot()!;
        }

        var now = clock.GetUtcNow();
        if (S.Declaration is null || revived)
        {
            S.CreatedAt = now;
            S.TornDownAt = null;
            S.TornDownReason = null;
            S.LastDrift = null;
        }

        S.Declaration = declaration;
        S.Version++;
        S.DeclaredAt = now;
        S.DeclaredBy = actor.Name;
        await state.WriteStateAsync();
        await EnsureReminders();
        await Publish(EventTypes.EnvironmentDeclared, actor.Reason ?? Describe(declaration), actor, new Dictionary<string, string>
        {
            ["version"] = S.Version.ToString(CultureInfo.InvariantCulture),
            ["tier"] = declaration.Tier.ToString().ToLowerInvariant(),
            ["protected"] = declaration.Protected ? "true" : "false",
            ["after"] = declaration.After ?? string.Empty,
            ["gates"] = string.Join(",", declaration.Gates),
        });
        return Snapshot()!;
    }

    public Task<EnvironmentDeclarationSnapshot?> Get() => Task.FromResult(Snapshot());

    public Task<DriftReport?> GetDrift() => Task.FromResult(S.LastDrift);

    public async Task<DriftReport?> ScanDrift()
    {
        if (S.Declaration is null || S.TornDownAt is not null)
        {
            return S.LastDrift;
        }

        var declaration = S.Declaration;
        var hosts = await Environment.GetHostIndex();
        var facts = await Task.WhenAll(hosts.Select(h => GrainFactory.Ref<IHostFactsGrain>(h.HostId).Get()));
        var baseline = declaration.Baseline.ToDomain();
        var drifted = new List<DriftedHost>();
        var unreported = new List<string>();
        for (var i = 0; i < hosts.Count; i++)
        {
            if (facts[i] is not { } reported)
            {
                unreported.Add(hosts[i].HostId);
                continue;
            }

            var fields = DriftComparer.Compare(baseline, reported.ToDomain());
            if (fields.Count > 0)
            {
                drifted.Add(new DriftedHost { HostId = hosts[i].HostId, Fields = fields.Select(f => f.ToWire()).ToList(), ReportedAt = reported.ReportedAt });
            }
        }

        var previous = S.LastDrift;
        var report = new DriftReport
        {
            Environment = Name,
            ScannedAt = clock.GetUtcNow(),
            DeclarationVersion = S.Version,
            HostsScanned = hosts.Count,
            Drifted = drifted,
            Unreported = unreported,
        };
        S.LastDrift = report;

        // Stored and published only when what drifted changed: a scan every few seconds writes nothing new.
        if (previous is null || Signature(previous) != Signature(report) || previous.DeclarationVersion != report.DeclarationVersion)
        {
            await state.WriteStateAsync();
            if (drifted.Count > 0 && Signature(previous) != Signature(report))
            {
                await Publish(EventTypes.DriftDetected, DescribeDrift(drifted), null, new Dictionary<string, string>
                {
                    ["hosts"] = Truncate(string.Join(",", drifted.Select(d => d.HostId)), 2000),
                    ["drifted"] = drifted.Count.ToString(CultureInfo.InvariantCulture),
                    ["version"] = S.Version.ToString(CultureInfo.InvariantCulture),
                });
            }
        }

        return report;
    }

    public async Task<CommandResult<ReconcileOutcome>> AcceptDrift(IReadOnlyList<string>? hosts, Actor actor)
    {
        if (S.Declaration is null || S.TornDownAt is not null)
        {
            return CommandResult<ReconcileOutcome>.Fail(ErrorKind.NotFound, $"environment '{Name}' is not declared");
        }

        var scan = (await ScanDrift())!;
        var chosen = hosts ?? scan.Drifted.Select(d => d.HostId).ToList();
        var index = (await Environment.GetHostIndex()).Select(h => h.HostId).ToHashSet(StringComparer.Ordinal);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var facts = new List<(string Host, HostFacts Facts)>();
        for (var i = 0; i < chosen.Count; i++)
        {
            var reported = index.Contains(chosen[i]) ? await GrainFactory.Ref<IHostFactsGrain>(chosen[i]).Get() : null;
            if (!index.Contains(chosen[i])) errors[$"hosts[{i}]"] = [$"host '{chosen[i]}' is not in environment '{Name}'"];
            else if (reported is null) errors[$"hosts[{i}]"] = [$"host '{chosen[i]}' has reported no facts: nothing to accept"];
            else facts.Add((chosen[i], reported.ToDomain()));
        }

        if (errors.Count > 0)
        {
            return CommandResult<ReconcileOutcome>.Fail(ErrorKind.Validation, "some hosts cannot be accepted", errors);
        }

        var result = DriftAcceptance.Accept(S.Declaration.Baseline.ToDomain(), facts);
        if (result.Conflict is not null)
        {
            return CommandResult<ReconcileOutcome>.Fail(ErrorKind.Conflict, result.Conflict);
        }

        var accepted = result.Accepted.Select(f => f.ToWire()).ToList();
        if (accepted.Count > 0)
        {
            S.Declaration = S.Declaration with { Baseline = result.Baseline!.ToWire() };
            S.Version++;
            S.DeclaredAt = clock.GetUtcNow();
            S.DeclaredBy = actor.Name;
            await state.WriteStateAsync();
        }

        var outcome = new ReconcileOutcome
        {
            Environment = Name,
            Mode = ReconcileMode.Accept,
            Hosts = chosen.ToList(),
            Accepted = accepted,
            DeclarationVersion = S.Version,
        };
        if (accepted.Count > 0)
        {
            await ScanDrift();
            await Publish(EventTypes.DriftReconciled,
                actor.Reason ?? $"accepted the facts of {chosen.Count} host(s) into the baseline: {string.Join(", ", accepted.Select(a => $"{a.Field} = {a.Actual ?? "(removed)"}"))}",
                actor, new Dictionary<string, string>
                {
                    ["mode"] = "accept",
                    ["hosts"] = Truncate(string.Join(",", chosen), 2000),
                    ["fields"] = Truncate(string.Join(",", accepted.Select(a => a.Field)), 2000),
                    ["version"] = S.Version.ToString(CultureInfo.InvariantCulture),
                });
        }

        return CommandResult<ReconcileOutcome>.Success(outcome);
    }

    public Task RecordReapplied(ReconcileOutcome outcome, Actor actor) =>
        Publish(EventTypes.DriftReconciled,
            actor.Reason ?? $"re-applied the declared state to {outcome.Hosts.Count} host(s) through rollout(s) {string.Join(", ", outcome.Rollouts)}",
            actor, new Dictionary<string, string>
            {
                ["mode"] = "reapply",
                ["hosts"] = Truncate(string.Join(",", outcome.Hosts), 2000),
                ["rollouts"] = string.Join(",", outcome.Rollouts),
                ["notReapplied"] = Truncate(string.Join("; ", outcome.NotReapplied), 2000),
            });

    public async Task<EnvironmentDeclarationSnapshot?> Sweep()
    {
        if (S.Declaration?.Ephemeral is not { } ephemeral || S.TornDownAt is not null)
        {
            return Snapshot();
        }

        var now = clock.GetUtcNow();
        var ttl = TimeSpan.FromSeconds(ephemeral.TtlSeconds);
        if (!Lifecycle.IsExpired(S.CreatedAt, ttl, now))
        {
            return Snapshot();
        }

        // Torn down in an order that survives a crash at any point: no new hosts, rollouts stopped, hosts retired
        // and released, and only then marked (a sweep that stops half-way runs again on the next tick).
        await Environment.SetHostQuota(0);
        var environment = await Environment.Get();
        var stop = new OperatorAction { Actor = SweepActor, Reason = $"environment '{Name}' expired and is being torn down" };
        foreach (var rollout in (environment?.Active ?? []).Concat(environment?.Queued ?? []).ToList())
        {
            await GrainFactory.Ref<IRolloutGrain>(rollout).Abort(stop);
        }

        var hosts = (await Environment.GetHostIndex()).Select(h => h.HostId).ToList();
        await Task.WhenAll(hosts.Select(h => GrainFactory.Ref<IHostGrain>(h).Retire($"ttl-sweep of {Name}")));
        await Environment.RemoveHosts(hosts);

        var reason = $"ephemeral environment owned by {ephemeral.Owner} expired: time to live {ttl} from {S.CreatedAt:u} ended at {(S.CreatedAt + ttl):u}; " +
            $"{hosts.Count} host(s) retired and released";
        S.TornDownAt = now;
        S.TornDownReason = reason;
        await state.WriteStateAsync();
        await Unregister(DriftReminder);
        await Unregister(SweepReminder);
        LogTornDown(logger, Name, hosts.Count);
        await Publish(EventTypes.EnvironmentTornDown, reason, new Actor { Name = SweepActor, Roles = "system" }, new Dictionary<string, string>
        {
            ["owner"] = ephemeral.Owner,
            ["hosts"] = hosts.Count.ToString(CultureInfo.InvariantCulture),
        });
        return Snapshot();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => reminderName switch
    {
        DriftReminder => ScanDrift(),
        SweepReminder => Sweep(),
        _ => Task.CompletedTask,
    };

    private async Task EnsureReminders()
    {
        var interval = options.Value.DriftScanInterval;
        await this.RegisterOrUpdateReminder(DriftReminder, interval, interval);
        if (S.Declaration?.Ephemeral is not null)
        {
            await this.RegisterOrUpdateReminder(SweepReminder, options.Value.SweepInterval, options.Value.SweepInterval);
        }
        else
        {
            await Unregister(SweepReminder);
        }
    }

    private async Task Unregister(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private EnvironmentDeclarationSnapshot? Snapshot() => S.Declaration is null ? null : new EnvironmentDeclarationSnapshot
    {
        Declaration = S.Declaration,
        Version = S.Version,
        DeclaredAt = S.DeclaredAt,
        DeclaredBy = S.DeclaredBy,
        CreatedAt = S.CreatedAt,
        ExpiresAt = S.Declaration.Ephemeral is { } e ? S.CreatedAt + TimeSpan.FromSeconds(e.TtlSeconds) : null,
        TornDownAt = S.TornDownAt,
        TornDownReason = S.TornDownReason,
    };

    private Task Publish(string type, string reason, Actor? actor, Dictionary<string, string> data)
    {
        data["environment"] = Name;
        if (actor is not null)
        {
            data["actor"] = actor.Name;
            data["role"] = actor.Roles;
        }

        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(Name), clock);
        return publisher.Publish(type, "environment/" + Name, reason, data);
    }

    private DeclaredControls Controls(bool declared) => new(
        declared,
        S.Declaration?.Tier == EnvironmentTier.Production,
        S.Declaration?.Protected == true,
        governance.CurrentValue.IsProtected(Name));

    private static string DescribeChanges(DeclarationChangeSnapshot change) => change.Differences.Count == 0
        ? "no field changes"
        : string.Join("; ", change.Differences.Select(d => $"{d.Field}: {d.Before ?? "(none)"} → {d.After ?? "(none)"}"));

    private static bool Same(EnvironmentDeclaration a, EnvironmentDeclaration b) =>
        JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    private static string Describe(EnvironmentDeclaration d) =>
        $"{d.Tier.ToString().ToLowerInvariant()}{(d.Protected ? ", protected" : string.Empty)}" +
        (d.After is null ? string.Empty : $", after '{d.After}'") +
        (d.Gates.Count == 0 ? string.Empty : $", gates {string.Join(", ", d.Gates)}") +
        $", {d.Baseline.Services.Count} service(s) and {d.Baseline.Runtime.Count} runtime fact(s) in the baseline" +
        (d.Ephemeral is { } e ? $", ephemeral (owner {e.Owner}, ttl {TimeSpan.FromSeconds(e.TtlSeconds)}, host quota {e.HostQuota})" : string.Empty);

    private static string DescribeDrift(List<DriftedHost> drifted) => Truncate(
        $"{drifted.Count} host(s) drifted from the declared baseline: " +
        string.Join("; ", drifted.Take(5).Select(h => $"{h.HostId} ({string.Join(", ", h.Fields.Select(f => $"{f.Field} {f.Expected ?? "(none)"} → {f.Actual ?? "(none)"}"))})")) +
        (drifted.Count > 5 ? "; …" : string.Empty), 2000);

    private static string Signature(DriftReport? report) => report is null
        ? string.Empty
        : string.Join("|", report.Drifted.Select(h => h.HostId + ":" + string.Join(",", h.Fields.Select(f => $"{f.Field}={f.Expected}>{f.Actual}"))));

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Environment {Environment} expired and was torn down ({Hosts} hosts retired)")]
    private static partial void LogTornDown(ILogger logger, string environment, int hosts);
}
