using System.Globalization;
using Deploy.Engine.Domain.Flags;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Flags;

[GenerateSerializer]
[Alias("FlagSetState")]
public sealed class FlagSetState
{
    [Id(0)] public List<FlagSpec> Flags { get; set; } = [];

    [Id(1)] public long Version { get; set; }

    /// <summary>Proposed changes in a protected environment: pending ones, then up to <see cref="FlagSetGrain.KeptDecided"/> decided.</summary>
    [Id(2)] public List<FlagChange> Changes { get; set; } = [];
}

/// <summary>
/// The flags of one environment, in one grain: evaluations read them (read-only, interleaved), and every change, by a
/// person or by the engine following a release, is persisted, versioned and published as an audited event.
/// </summary>
public sealed class FlagSetGrain(
    [PersistentState("flags", Stores.Table)] IPersistentState<FlagSetState> state,
    GovernanceEvaluator governance,
    TimeProvider clock) : Grain, IFlagSetGrain
{
    public const string Engine = "engine";

    /// <summary>Decided changes kept for the record (the audit trail keeps all of them).</summary>
    public const int KeptDecided = 50;

    /// <summary>Pending changes an environment holds at once.</summary>
    public const int MaxPending = 100;

    private string Environment => this.GetPrimaryKeyString()["flags/".Length..];

    public async Task<FlagSpec> Put(FlagSpec flag, string actor, string? role)
    {
        var stored = flag with { UpdatedBy = actor, UpdatedAt = clock.GetUtcNow() };
        var index = state.State.Flags.FindIndex(f => f.Key == flag.Key);
        if (index >= 0) state.State.Flags[index] = stored;
        else state.State.Flags.Add(stored);
        await Save();
        await Publish(stored, flag.Reason ?? "flag set", actor, role);
        return stored;
    }

    public async Task<bool> Delete(string key, string actor, string? role)
    {
        var flag = state.State.Flags.FirstOrDefault(f => f.Key == key);
        if (flag is null) return false;
        state.State.Flags.Remove(flag);
        await Save();
        await Publish(flag with { Enabled = false }, "flag deleted", actor, role);
        return true;
    }

    public async Task<FlagChangeOutcome> Change(string key, FlagSpec? flag, string actor, string? role)
    {
        var current = state.State.Flags.FirstOrDefault(f => f.Key == key);
        if (flag is null && current is null) return Refused(404, $"flag '{key}' does not exist in '{Environment}'");
        var killSwitch = flag is not null && current is not null && !flag.Enabled && Canonical(flag) == Canonical(current);
        var requirement = FlagChangeRules.Requirement(governance.Policy);
        if (killSwitch || !requirement.Required || !await governance.IsProtected(Environment))
        {
            return flag is null
                ? new FlagChangeOutcome { Deleted = await Delete(key, actor, role) }
                : new FlagChangeOutcome { Applied = await Put(flag, actor, role) };
        }

        if (state.State.Changes.Count(c => c.State == "pending") >= MaxPending)
        {
            return Refused(409, $"'{Environment}' already holds {MaxPending} pending flag changes; approve, reject or withdraw some first");
        }

        var change = new FlagChange
        {
            Id = "fc-" + Guid.NewGuid().ToString("n")[..12],
            Key = key,
            Flag = flag,
            ProposedBy = actor,
            ProposedAt = clock.GetUtcNow(),
            Reason = flag?.Reason,
            State = "pending",
            Base = current?.UpdatedAt,
            Requirement = requirement.Describe(),
            Summary = $"'{Environment}' is protected: needs {requirement.Describe()}, not from {actor} (four eyes)",
        };
        state.State.Changes.Insert(0, change);
        await Save();
        await PublishChange(EventTypes.FlagChangeProposed, change, flag is null ? $"proposed deleting flag '{key}'" : $"proposed setting flag '{key}'", actor, role);
        return new FlagChangeOutcome { Change = change };
    }

    public async Task<FlagChangeOutcome> Decide(string changeId, bool approve, string actor, string? role, string? reason)
    {
        var index = state.State.Changes.FindIndex(c => c.Id == changeId);
        if (index < 0) return Refused(404, $"flag change '{changeId}' does not exist in '{Environment}'");
        var change = state.State.Changes[index];
        if (change.State != "pending") return Refused(409, $"flag change '{changeId}' is {change.State}: {change.Summary}");
        if (string.Equals(change.ProposedBy, actor, StringComparison.Ordinal))
        {
            return Refused(422, $"'{actor}' proposed flag change '{changeId}' and cannot {(approve ? "approve" : "reject")} it: no self-approval (four eyes)");
        }

        var now = clock.GetUtcNow();
        var votes = change.Votes.Where(v => v.Approver != actor)
            .Append(new FlagVote { Approver = actor, Decision = approve ? "approve" : "reject", At = now, Reason = reason })
            .ToList();
        var evaluation = FlagChangeRules.Evaluate(
            FlagChangeRules.Requirement(governance.Policy),
            votes.Select(v => new ApprovalVote(v.Approver, governance.Options.GroupsOf(v.Approver),
                v.Decision == "reject" ? VoteDecision.Reject : VoteDecision.Approve, v.At, v.Reason)).ToList(),
            change.ProposedBy, now, governance.Policy.ApprovalExpiry);
        var current = state.State.Flags.FirstOrDefault(f => f.Key == change.Key);
        var superseded = evaluation.State == ApprovalState.Satisfied && current?.UpdatedAt != change.Base;
        change = change with
        {
            Votes = votes,
            State = evaluation.State switch
            {
                ApprovalState.Rejected => "rejected",
                ApprovalState.Satisfied => superseded ? "superseded" : "applied",
                _ => "pending",
            },
            Summary = superseded
                ? $"flag '{change.Key}' changed after this proposal (by {current?.UpdatedBy ?? "a deletion"}); propose again against what it is now"
                : evaluation.State == ApprovalState.Pending ? evaluation.Missing ?? evaluation.Summary : evaluation.Summary,
            DecidedAt = evaluation.State == ApprovalState.Pending ? null : now,
        };
        state.State.Changes[index] = change;
        FlagSpec? applied = null;
        var deleted = false;
        if (change.State == "applied")
        {
            var actors = $"{change.ProposedBy}, approved by {string.Join(", ", evaluation.Counted)}";
            if (change.Flag is { } flag)
            {
                applied = flag with { UpdatedBy = actors, UpdatedAt = now };
                var at = state.State.Flags.FindIndex(f => f.Key == flag.Key);
                if (at >= 0) state.State.Flags[at] = applied;
                else state.State.Flags.Add(applied);
            }
            else
            {
                deleted = state.State.Flags.RemoveAll(f => f.Key == change.Key) > 0;
            }
        }

        Trim();
        await Save();
        await PublishChange(EventTypes.FlagChangeDecided, change, $"{(approve ? "approved" : "rejected")} by {actor}: {change.Summary}", actor, role);
        if (applied is not null) await Publish(applied, applied.Reason ?? $"flag set (change {change.Id})", actor, role);
        else if (deleted) await Publish(current! with { Enabled = false }, $"flag deleted (change {change.Id})", actor, role);
        return change.State == "superseded"
            ? Refused(409, change.Summary) with { Change = change }
            : new FlagChangeOutcome { Change = change, Applied = applied, Deleted = deleted };
    }

    [ReadOnly]
    public Task<IReadOnlyList<FlagChange>> Changes() =>
        Task.FromResult<IReadOnlyList<FlagChange>>(state.State.Changes.OrderBy(c => c.State == "pending" ? 0 : 1).ThenByDescending(c => c.DecidedAt ?? c.ProposedAt).ToList());

    private void Trim()
    {
        var decided = state.State.Changes.Where(c => c.State != "pending").OrderByDescending(c => c.DecidedAt).Skip(KeptDecided).ToHashSet();
        state.State.Changes.RemoveAll(decided.Contains);
    }

    /// <summary>The flag as JSON without what a kill switch may change (enabled, reason) or the engine stamps.</summary>
    private static string Canonical(FlagSpec flag) =>
        System.Text.Json.JsonSerializer.Serialize(flag with { Enabled = true, Reason = null, UpdatedBy = string.Empty, UpdatedAt = default });

    private static FlagChangeOutcome Refused(int status, string why) => new() { Refusal = why, Status = status };

    [ReadOnly]
    public Task<FlagSetSnapshot> Get() => Task.FromResult(new FlagSetSnapshot { Flags = state.State.Flags.ToList(), Version = state.State.Version });

    public Task FollowCanary(string release, int weight, string reason) =>
        Change(release, f => f.Enabled && f.Percentage != weight, f => f with { Percentage = weight, Reason = reason });

    public Task TurnOffRelease(string release, string reason) =>
        Change(release, f => f.Enabled, f => f with { Enabled = false, Reason = reason });

    private async Task Change(string release, Func<FlagSpec, bool> applies, Func<FlagSpec, FlagSpec> change)
    {
        var changed = new List<FlagSpec>();
        for (var i = 0; i < state.State.Flags.Count; i++)
        {
            var flag = state.State.Flags[i];
            if (flag.Release != release || !applies(flag)) continue;
            state.State.Flags[i] = change(flag) with { UpdatedBy = Engine, UpdatedAt = clock.GetUtcNow() };
            changed.Add(state.State.Flags[i]);
        }

        if (changed.Count == 0) return;
        await Save();
        foreach (var flag in changed)
        {
            await Publish(flag, flag.Reason ?? "changed by its release", Engine, Engine);
        }
    }

    private Task Save()
    {
        state.State.Version++;
        return state.WriteStateAsync();
    }

    private Task PublishChange(string type, FlagChange change, string reason, string actor, string? role)
    {
        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(Environment), clock);
        return publisher.Publish(type, "environment/" + Environment, reason, new Dictionary<string, string>
        {
            [AuditFields.Actor] = actor,
            [AuditFields.Role] = role ?? string.Empty,
            ["environment"] = Environment,
            ["service"] = change.Flag?.Service ?? state.State.Flags.FirstOrDefault(f => f.Key == change.Key)?.Service ?? string.Empty,
            ["flag"] = change.Key,
            ["change"] = change.Id,
            ["state"] = change.State,
            ["proposedBy"] = change.ProposedBy,
        });
    }

    private Task Publish(FlagSpec flag, string reason, string actor, string? role)
    {
        var publisher = new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.EnvironmentEvents(Environment), clock);
        var data = new Dictionary<string, string>
        {
            [AuditFields.Actor] = actor,
            [AuditFields.Role] = role ?? string.Empty,
            ["environment"] = Environment,
            ["service"] = flag.Service,
            ["flag"] = flag.Key,
            ["enabled"] = flag.Enabled ? "true" : "false",
            ["version"] = state.State.Version.ToString(CultureInfo.InvariantCulture),
        };
        if (flag.Percentage is { } p) data["percentage"] = p.ToString(CultureInfo.InvariantCulture);
        if (flag.Release is { } r) data["release"] = r;
        return publisher.Publish(EventTypes.FlagChanged, "environment/" + Environment, reason, data);
    }
}

/// <summary>
/// Ties flags to releases: a canary's traffic step sets the percentage of the release's flags to the step's weight; a
/// rollback decision turns them off. Called once per event by the event history (see <see cref="IEventFollower"/>).
/// </summary>
public sealed class FlagFollower : IEventFollower
{
    public Task Follow(string streamKey, EngineEvent item, IGrainFactory grains)
    {
        if (!item.Data.TryGetValue("release", out var release) || !item.Data.TryGetValue("environment", out var environment)
            || release.Length == 0 || environment.Length == 0)
        {
            return Task.CompletedTask;
        }

        var flags = grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(environment));
        return item.Type switch
        {
            EventTypes.TrafficShifted when item.Data.TryGetValue("weight", out var w) && int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var weight)
                && item.Data.GetValueOrDefault("status") != "RollingBack" =>
                flags.FollowCanary(release, weight, $"follows rollout '{item.Data.GetValueOrDefault("rollout")}': {item.Reason}"),
            EventTypes.RolloutRollbackDecided =>
                flags.TurnOffRelease(release, $"turned off: rollout '{item.Data.GetValueOrDefault("rollout")}' is rolling back ({item.Reason})"),
            _ => Task.CompletedTask,
        };
    }
}
