using System.Globalization;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Flags;

[GenerateSerializer]
[Alias("FlagSetState")]
public sealed class FlagSetState
{
    [Id(0)] public List<FlagSpec> Flags { get; set; } = [];

    [Id(1)] public long Version { get; set; }
}

/// <summary>
/// The flags of one environment, in one grain: evaluations read them (read-only, interleaved), and every change, by a
/// person or by the engine following a release, is persisted, versioned and published as an audited event.
/// </summary>
public sealed class FlagSetGrain(
    [PersistentState("flags", Stores.Table)] IPersistentState<FlagSetState> state,
    TimeProvider clock) : Grain, IFlagSetGrain
{
    public const string Engine = "engine";

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
