using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Rollouts;

/// <summary>One thing a rollback does, carried out in the order the plan lists them.</summary>
public enum RollbackAction
{
    /// <summary>Blue-green inside the warm window: the previous slot serves again; no host is redeployed.</summary>
    SwitchBack,

    /// <summary>Canary: traffic is taken off the new version before its hosts return.</summary>
    ResetTraffic,

    /// <summary>Immutable: the hosts created for the release leave the environment.</summary>
    RetireNew,

    /// <summary>Immutable, after the old hosts retired: they come back.</summary>
    RestoreOld,

    /// <summary>The hosts this rollout changed return (how: <see cref="RollbackPlan.Method"/>).</summary>
    ReturnHosts,
}

/// <summary>A release as the environment records it for a service.</summary>
public sealed record ReleaseRef(string ReleaseId, string Version);

/// <summary>What the rollback planner sees of a rollout when a rollback is asked for or decided.</summary>
/// <param name="Strategy">The rollout's strategy.</param>
/// <param name="AfterSuccess">The rollout had succeeded: an operator rolls back a finished release.</param>
/// <param name="Release">This rollout's release.</param>
/// <param name="Now">The current time, passed in.</param>
/// <param name="Switched">Blue-green: the active slot was switched to the new release's slot.</param>
/// <param name="WarmUntil">Blue-green: the previous slot is warm until then.</param>
/// <param name="TrafficWeight">The share of traffic the router sends to the new version now.</param>
/// <param name="OldHostsRetired">Immutable: the old hosts have already left the environment.</param>
/// <param name="Previous">What the environment recorded for the service before this rollout; null when nothing was.</param>
/// <param name="Current">After success: what the environment records for the service now.</param>
/// <param name="OtherRollouts">Other rollouts of the same service holding or waiting for a slot in the environment.</param>
public sealed record RollbackSituation(
    StrategyKind Strategy,
    bool AfterSuccess,
    ReleaseRef Release,
    DateTimeOffset Now,
    bool Switched = false,
    DateTimeOffset? WarmUntil = null,
    int TrafficWeight = 0,
    bool OldHostsRetired = false,
    ReleaseRef? Previous = null,
    ReleaseRef? Current = null,
    IReadOnlyList<string>? OtherRollouts = null);

/// <summary>What a rollback does, how its hosts return, and why; or why it is refused (nothing changes then).</summary>
public sealed record RollbackPlan(IReadOnlyList<RollbackAction> Actions, RollbackMethod Method, string Explanation, string? Refusal = null)
{
    public bool Refused => Refusal is not null;

    public static RollbackPlan Refuse(string why) => new([], RollbackMethod.Revert, why, why);
}

/// <summary>
/// What "roll back" means, per strategy, so that a rollback always ends with the environment running (and every
/// view reporting) the release before this one:
/// <list type="bullet">
/// <item>rolling, canary: the hosts this rollout changed return (canary: traffic off the new version first). A
/// finished rollout whose previous release is known gives its hosts that release's artifact (a redeploy), since a
/// host's own "previous" may have moved on; otherwise each host reverts to what it ran before.</item>
/// <item>blue-green: inside the warm window, switch back (no host moves). After it the previous slot is no longer
/// warm, so the active slot's hosts are given the previous release; before the switch, the idle slot's hosts return
/// and the active slot never changed.</item>
/// <item>immutable: the new hosts retire; the old come back if they had retired.</item>
/// </list>
/// A finished release that a newer one already replaced, or whose service has another rollout in flight, is refused:
/// rolling it back would change nothing true.
/// </summary>
public static class RollbackPlanner
{
    /// <summary>
    /// How long a rollback may take from its decision: the strategy's own <c>deadlines.rollbackSeconds</c>, else the
    /// environment's declared <c>rollback.timeout</c>, else the strategy's progress deadline. E.g. progress 600 s,
    /// environment 120 s, strategy unset → 120 s; strategy 30 s → 30 s; neither → 600 s.
    /// </summary>
    public static TimeSpan Deadline(DeadlineSpec deadlines, TimeSpan? environment) =>
        deadlines.Rollback ?? environment ?? deadlines.Progress;

    public static RollbackPlan Plan(RollbackSituation s)
    {
        ArgumentNullException.ThrowIfNull(s);

        if (s.AfterSuccess)
        {
            if (s.OtherRollouts is { Count: > 0 } others)
            {
                return RollbackPlan.Refuse(
                    $"rollout '{others[0]}' of the same service is in progress in the environment; roll that one back or let it finish first");
            }

            if (s.Current is { } current && !string.Equals(current.ReleaseId, s.Release.ReleaseId, StringComparison.Ordinal))
            {
                return RollbackPlan.Refuse(
                    $"release '{current.ReleaseId}' ({current.Version}) has replaced {s.Release.Version} in the environment; " +
                    "rolling this one back would change nothing: roll that release back first, or roll forward");
            }
        }

        var previous = s.Previous is { } p ? $"{p.Version} (release '{p.ReleaseId}')" : null;
        switch (s.Strategy)
        {
            case StrategyKind.BlueGreen when s.Switched && s.WarmUntil is { } warm && s.Now < warm:
                return new RollbackPlan([RollbackAction.SwitchBack], RollbackMethod.Revert,
                    $"inside the warm window (until {warm:O}): switch back to the previous slot; no host is redeployed");

            case StrategyKind.BlueGreen when s.Switched:
                return previous is null
                    ? RollbackPlan.Refuse("the previous slot is past its warm window and no previous release is recorded for the service; " +
                        "there is nothing true to return to: roll forward with a new release")
                    : new RollbackPlan([RollbackAction.ReturnHosts], RollbackMethod.Redeploy,
                        $"the previous slot is past its warm window: the active slot's hosts are given {previous}");

            case StrategyKind.BlueGreen:
                return new RollbackPlan([RollbackAction.ReturnHosts], RollbackMethod.Revert,
                    "before the switch: the idle slot's hosts return; the active slot never changed");

            case StrategyKind.Immutable:
                return s.OldHostsRetired
                    ? new RollbackPlan([RollbackAction.RetireNew, RollbackAction.RestoreOld], RollbackMethod.Revert,
                        "the new hosts retire and the old hosts return")
                    : new RollbackPlan([RollbackAction.RetireNew], RollbackMethod.Revert, "the new hosts retire; the old hosts still serve");
        }

        List<RollbackAction> actions = s.Strategy == StrategyKind.Canary && s.TrafficWeight > 0
            ? [RollbackAction.ResetTraffic, RollbackAction.ReturnHosts]
            : [RollbackAction.ReturnHosts];
        var traffic = actions.Count > 1 ? "traffic off the new version, then " : string.Empty;
        return s.AfterSuccess && previous is not null
            ? new RollbackPlan(actions, RollbackMethod.Redeploy, $"{traffic}every host this rollout changed is given {previous}")
            : new RollbackPlan(actions, RollbackMethod.Revert, $"{traffic}every host this rollout changed returns to what it ran before");
    }
}
