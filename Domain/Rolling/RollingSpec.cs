namespace Deploy.Engine.Domain.Rolling;

/// <summary>CodeDeploy's two ways of stating how many hosts must stay healthy while a batch is updated.</summary>
public enum MinimumHealthyKind
{
    /// <summary>An absolute number of hosts.</summary>
    HostCount,

    /// <summary>A percentage of the target hosts, rounded up.</summary>
    FleetPercent,

    /// <summary>CodeDeploy's OneAtATime: at most one host in flight, whatever the fleet size.</summary>
    MostConcurrency,
}

public readonly record struct MinimumHealthyHosts(MinimumHealthyKind Kind, int Value)
{
    /// <summary>
    /// The fewest hosts that must stay healthy: HOST_COUNT n → n; FLEET_PERCENT p → ⌈hosts × p / 100⌉
    /// (9 hosts at 40% → 4); MOST_CONCURRENCY c → hosts − c.
    /// </summary>
    public int Resolve(int hostCount) => Kind switch
    {
        MinimumHealthyKind.HostCount => Value,
        MinimumHealthyKind.FleetPercent => IntOrPercent.Percent(Value).Resolve(hostCount, roundUp: true),
        _ => Math.Max(0, hostCount - Value),
    };

    public override string ToString() => Kind switch
    {
        MinimumHealthyKind.HostCount => $"HOST_COUNT {Value}",
        MinimumHealthyKind.FleetPercent => $"FLEET_PERCENT {Value}",
        _ => $"MOST_CONCURRENCY {Value}",
    };
}

/// <summary>
/// A validated rolling strategy. Either or both styles may be declared:
/// Kubernetes-style <see cref="MaxSurge"/>/<see cref="MaxUnavailable"/> and CodeDeploy-style
/// <see cref="MinimumHealthy"/>; when both are present the stricter batch size wins.
/// <see cref="MaxFailures"/> is the failure budget: more failed hosts than it allows triggers rollback. With a CodeDeploy
/// minimum declared and no maxFailures, the budget is 100% and the minimum alone decides (<see cref="MinimumHealthyRule"/>).
/// </summary>
public sealed record RollingSpec(
    IntOrPercent? MaxSurge,
    IntOrPercent? MaxUnavailable,
    MinimumHealthyHosts? MinimumHealthy,
    IntOrPercent MaxFailures)
{
    /// <summary>Kubernetes' defaults: maxSurge 25%, maxUnavailable 25%, and no failure tolerated.</summary>
    public static RollingSpec Default { get; } = new(null, null, null, IntOrPercent.Count(0));

    /// <summary>True when the Kubernetes style applies: declared, or nothing at all declared.</summary>
    public bool UsesSurgeStyle => MaxSurge is not null || MaxUnavailable is not null || MinimumHealthy is null;
}
