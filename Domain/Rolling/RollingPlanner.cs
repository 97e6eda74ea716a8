namespace Deploy.Engine.Domain.Rolling;

/// <summary>The batches a rolling strategy produces for a fleet, or why it cannot run.</summary>
public sealed record RollingPlan(
    int HostCount,
    int BatchSize,
    IReadOnlyList<int> Batches,
    int MaxSurge,
    int MaxUnavailable,
    int MinimumHealthy,
    int AllowedFailures,
    string? Infeasible,
    string Explanation)
{
    public bool IsFeasible => Infeasible is null;

    /// <summary>With a CodeDeploy minimum: the successes the deployment needs (<see cref="MinimumHealthyRule.Required"/>); null without one.</summary>
    public int? RequiredSuccesses { get; init; }

    /// <summary>The declared field an infeasible plan is about (<c>maxUnavailable</c> or <c>minimumHealthyHosts</c>).</summary>
    public string InfeasibleField { get; init; } = "minimumHealthyHosts";
}

/// <summary>How the hosts of a batch are updated, which decides what maxSurge and maxUnavailable can mean.</summary>
public enum HostUpdate
{
    /// <summary>
    /// Each host is updated where it stands and is out of service meanwhile (rolling, canary): the batch is
    /// maxUnavailable; no host is added, so maxSurge (default 0 here) bounds nothing the update could exceed.
    /// </summary>
    InPlace,

    /// <summary>The hosts updated serve nothing yet (a blue-green idle slot): the batch is surge + unavailable.</summary>
    Idle,
}

/// <summary>
/// Rolling batch arithmetic for hosts updated where they stand. <c>surge = ⌈maxSurge⌉</c> and
/// <c>unavailable = ⌊maxUnavailable⌋</c> over the target host count, and if both resolve to 0 then unavailable is 1
/// (Kubernetes' <c>ResolveFenceposts</c>, deployment_util.go at 277391ee). In place (<see cref="HostUpdate.InPlace"/>)
/// an updating host is out of service, so the batch is <c>unavailable</c>: never fewer than hosts − maxUnavailable
/// serve; no host is added, so the fleet never exceeds hosts + maxSurge whatever maxSurge says (undeclared, it is 0
/// here: there is nothing to surge). An undeclared maxUnavailable is 25%, at least 1. A declared maxUnavailable that
/// resolves to 0 while maxSurge does not cannot be honoured in place (Kubernetes would add a pod first): the plan is
/// infeasible and says so, rather than reinterpreting it (a literal 0 is refused when the strategy is parsed). A
/// blue-green idle slot (<see cref="HostUpdate.Idle"/>) serves nothing, so its batch is <c>surge + unavailable</c>. A
/// CodeDeploy minimum caps the batch at <c>hosts − minimumHealthy</c> (MOST_CONCURRENCY c caps it at c). The stricter
/// of the declared styles wins. Worked examples (the tests reuse them):
/// <list type="bullet">
/// <item>10 hosts, defaults: unavailable ⌊2.5⌋ = 2 → [2, 2, 2, 2, 2].</item>
/// <item>10 hosts, maxSurge 0, maxUnavailable 10%: 1 → ten batches of 1.</item>
/// <item>3 hosts, maxSurge 0, maxUnavailable 25%: ⌊0.75⌋ = 0 and surge 0 → unavailable 1 → [1, 1, 1].</item>
/// <item>3 hosts, maxSurge 1, maxUnavailable 25%: unavailable 0, surge 1 → infeasible in place.</item>
/// <item>9 hosts, HOST_COUNT 6 → batch 3 → [3, 3, 3]; FLEET_PERCENT 40 → min ⌈3.6⌉ = 4 → batch 5 → [5, 4].</item>
/// <item>5 hosts, HOST_COUNT 5 → infeasible: no host could ever be taken out of service.</item>
/// </list>
/// The failure budget allows <c>⌊maxFailures⌋</c> failed hosts; one more triggers rollback.
/// </summary>
public static class RollingPlanner
{
    private static readonly IntOrPercent DefaultQuarter = IntOrPercent.Percent(25);

    public static RollingPlan Plan(RollingSpec spec, int hostCount, HostUpdate update = HostUpdate.InPlace)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(hostCount);

        var allowedFailures = Math.Min(hostCount, spec.MaxFailures.Resolve(hostCount, roundUp: false));
        var surge = 0;
        var unavailable = 0;
        var limit = int.MaxValue;
        var why = new List<string>();

        if (spec.UsesSurgeStyle && update == HostUpdate.Idle)
        {
            var surgeSpec = spec.MaxSurge ?? DefaultQuarter;
            var unavailableSpec = spec.MaxUnavailable ?? DefaultQuarter;
            surge = surgeSpec.Resolve(hostCount, roundUp: true);
            unavailable = unavailableSpec.Resolve(hostCount, roundUp: false);
            if (surge == 0 && unavailable == 0)
            {
                unavailable = 1;
                why.Add($"maxSurge {surgeSpec} and maxUnavailable {unavailableSpec} both resolve to 0, so maxUnavailable becomes 1");
            }

            limit = surge + unavailable;
            why.Add($"the hosts updated serve nothing yet: maxSurge {surgeSpec} → {surge} (rounded up) + maxUnavailable {unavailableSpec} → {unavailable} (rounded down) = {limit} hosts at a time");
        }
        else if (spec.UsesSurgeStyle)
        {
            var surgeSpec = spec.MaxSurge ?? IntOrPercent.Count(0);
            var unavailableSpec = spec.MaxUnavailable ?? DefaultQuarter;
            surge = surgeSpec.Resolve(hostCount, roundUp: true);
            unavailable = unavailableSpec.Resolve(hostCount, roundUp: false);
            if (surge == 0 && unavailable == 0)
            {
                unavailable = 1;
                why.Add(spec.MaxUnavailable is null
                    ? $"maxUnavailable (default 25%) rounds down to 0 over {hostCount} hosts, so 1"
                    : $"maxSurge {surgeSpec} and maxUnavailable {unavailableSpec} both resolve to 0, so maxUnavailable becomes 1 (Kubernetes' ResolveFenceposts)");
            }
            else if (unavailable == 0 && hostCount > 0)
            {
                var reason = $"maxUnavailable {unavailableSpec} rounds down to 0 of {hostCount} hosts: an in-place update takes each host out of service while it changes, "
                    + $"so no host could be updated without breaking it, and maxSurge {surgeSpec} adds no host in place; raise maxUnavailable to at least 1, or use type immutable, which adds hosts first";
                return Infeasible(spec, hostCount, surge, unavailable, 0, allowedFailures, reason) with { InfeasibleField = "maxUnavailable" };
            }

            limit = unavailable;
            why.Add($"in place each updating host is out of service: maxUnavailable {unavailableSpec} → {unavailable} (rounded down) hosts at a time"
                + (surge > 0 ? $"; maxSurge {surgeSpec} adds no host in place, so the fleet never exceeds it" : string.Empty));
        }

        var minimumHealthy = 0;
        int? required = null;
        if (spec.MinimumHealthy is { } minimum)
        {
            minimumHealthy = minimum.Resolve(hostCount);
            required = MinimumHealthyRule.Required(minimumHealthy, hostCount);
            var cap = minimum.Kind == MinimumHealthyKind.MostConcurrency ? minimum.Value : hostCount - minimumHealthy;
            if (hostCount > 0 && cap <= 0)
            {
                return Infeasible(spec, hostCount, surge, unavailable, minimumHealthy, allowedFailures,
                    $"minimumHealthyHosts {minimum} requires {minimumHealthy} of {hostCount} hosts to stay healthy, so no host can ever be updated");
            }

            why.Add($"minimumHealthyHosts {minimum} keeps {minimumHealthy} of {hostCount} healthy → at most {cap} at a time; "
                + $"succeeds when at least {required} hosts succeed, rolls back as soon as that cannot be reached");
            limit = Math.Min(limit, cap);
        }

        if (hostCount == 0)
        {
            return Infeasible(spec, 0, surge, unavailable, minimumHealthy, allowedFailures, "the environment has no target hosts");
        }

        var batchSize = Math.Min(limit, hostCount);
        var batches = new List<int>((hostCount + batchSize - 1) / batchSize);
        for (var remaining = hostCount; remaining > 0; remaining -= batchSize)
        {
            batches.Add(Math.Min(batchSize, remaining));
        }

        why.Add($"{hostCount} hosts in {batches.Count} batches of up to {batchSize}; up to {allowedFailures} failed hosts tolerated (maxFailures {spec.MaxFailures})");
        return new RollingPlan(hostCount, batchSize, batches, surge, unavailable, minimumHealthy, allowedFailures, null, string.Join("; ", why))
        {
            RequiredSuccesses = required,
        };
    }

    private static RollingPlan Infeasible(
        RollingSpec spec, int hosts, int surge, int unavailable, int minimum, int allowed, string reason) =>
        new(hosts, 0, [], surge, unavailable, minimum, allowed, reason, reason + $" (maxFailures {spec.MaxFailures})");
}
