using System.Globalization;

namespace Deploy.Engine.Domain.Rolling;

/// <summary>
/// One step of a surge window: <see cref="Provision"/> new hosts are added (and take the release) while
/// <see cref="Retire"/> old hosts leave. Counts: <see cref="Old"/> and <see cref="New"/> after the step;
/// <see cref="Available"/> the fewest serving during it (old hosts left plus new hosts already ready: hosts being
/// provisioned do not serve yet); <see cref="Total"/> the most hosts at once during it (old before retiring, plus every
/// new host).
/// </summary>
public sealed record SurgeWindowStep(int Provision, int Retire, int Old, int New, int Available, int Total);

/// <summary>A surge window for <see cref="Desired"/> hosts, or why it cannot run.</summary>
public sealed record SurgeWindowPlan(
    int Desired,
    int MaxSurge,
    int MaxUnavailable,
    IReadOnlyList<SurgeWindowStep> Steps,
    string? Infeasible,
    string Explanation)
{
    public bool IsFeasible => Infeasible is null;

    /// <summary>The fewest hosts that serve at every moment: desired − maxUnavailable (or the CodeDeploy minimum).</summary>
    public int MinAvailable { get; init; }

    /// <summary>The most hosts at once: desired + maxSurge.</summary>
    public int MaxTotal { get; init; }
}

/// <summary>
/// Replaces a fleet of <c>n</c> hosts with new ones as Kubernetes' Deployment controller replaces pods
/// (kubernetes/kubernetes at 277391ee, <c>pkg/controller/deployment/util/deployment_util.go</c> <c>ResolveFenceposts</c>
/// and <c>NewRSNewReplicas</c>; <c>pkg/controller/deployment/rolling.go</c> <c>reconcileOldReplicaSets</c>):
/// <list type="bullet">
/// <item>Fenceposts: <c>surge = ⌈maxSurge⌉</c>, <c>unavailable = ⌊maxUnavailable⌋</c> over n; both 0 → unavailable 1
/// ("on the theory that surge might not work due to quota"); so at most <c>n + surge</c> hosts exist and at least
/// <c>n − unavailable</c> serve at every moment.</item>
/// <item>Each step, as one sync of the controller: scale up by <c>min(n + surge − (old + new), n − new)</c>
/// (<c>NewRSNewReplicas</c>), and retire <c>min(old, old + ready − (n − unavailable))</c> old hosts, where ready counts
/// the new hosts that already serve, never the ones just added (<c>maxScaledDown = allPods − minAvailable −
/// newRSUnavailable</c>). The added hosts then take the release and become ready before the next step.</item>
/// </list>
/// A CodeDeploy <c>minimumHealthyHosts</c> raises the floor: at least that many serve (MOST_CONCURRENCY c: at most c out).
/// Worked examples (the table tests reuse them): 10 hosts at 25%/25% → surge 3, unavailable 2, four steps
/// +3/−2, +2/−3, +3/−2, +2/−3; 3 hosts at 1/0 → +1, −1, +1, −1, +1, −1 (never fewer than 3 serving, never more than 4);
/// 5 hosts at 0/1 → −1, +1, five times (never more than 5, never fewer than 4 serving).
/// </summary>
public static class SurgeWindowPlanner
{
    private static readonly IntOrPercent DefaultQuarter = IntOrPercent.Percent(25);

    public static SurgeWindowPlan Plan(RollingSpec spec, int desired)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(desired);
        var why = new List<string>();
        int surge, unavailable;
        if (spec.UsesSurgeStyle)
        {
            var surgeSpec = spec.MaxSurge ?? DefaultQuarter;
            var unavailableSpec = spec.MaxUnavailable ?? DefaultQuarter;
            surge = surgeSpec.Resolve(desired, roundUp: true);
            unavailable = Math.Min(desired, unavailableSpec.Resolve(desired, roundUp: false));
            if (surge == 0 && unavailable == 0)
            {
                unavailable = 1;
                why.Add($"maxSurge {surgeSpec} and maxUnavailable {unavailableSpec} both resolve to 0 over {desired} hosts, so maxUnavailable becomes 1 (as Kubernetes' ResolveFenceposts)");
            }
            else
            {
                why.Add(Invariant($"maxSurge {surgeSpec} → {surge} (rounded up), maxUnavailable {unavailableSpec} → {unavailable} (rounded down) over {desired} hosts"));
            }
        }
        else
        {
            (surge, unavailable) = (0, desired);
        }

        var minAvailable = desired - unavailable;
        if (spec.MinimumHealthy is { } minimum)
        {
            var floor = minimum.Kind == MinimumHealthyKind.MostConcurrency ? Math.Max(0, desired - minimum.Value) : minimum.Resolve(desired);
            if (floor > minAvailable)
            {
                why.Add(Invariant($"minimumHealthyHosts {minimum} keeps {floor} serving"));
                minAvailable = floor;
                unavailable = desired - floor;
            }
        }

        var maxTotal = desired + surge;
        if (desired == 0)
        {
            return new SurgeWindowPlan(0, surge, unavailable, [], "the environment has no target hosts", "the environment has no target hosts")
            {
                MinAvailable = 0,
                MaxTotal = 0,
            };
        }

        if (surge == 0 && unavailable <= 0)
        {
            var reason = Invariant($"no host can be added (maxSurge 0) and none taken out of service ({minAvailable} of {desired} must keep serving), so the hosts can never be replaced");
            return new SurgeWindowPlan(desired, surge, unavailable, [], reason, reason) { MinAvailable = minAvailable, MaxTotal = maxTotal };
        }

        var steps = new List<SurgeWindowStep>();
        var (old, ready) = (desired, 0);
        while (old > 0 || ready < desired)
        {
            var up = Math.Max(0, Math.Min(maxTotal - (old + ready), desired - ready));
            var down = Math.Max(0, Math.Min(old, old + ready - minAvailable));
            if (up == 0 && down == 0) throw new InvalidOperationException("a surge window that cannot progress");
            steps.Add(new SurgeWindowStep(up, down, old - down, ready + up, old - down + ready, old + ready + up));
            (old, ready) = (old - down, ready + up);
        }

        why.Add(Invariant($"at most {maxTotal} hosts at once and at least {minAvailable} serving: {steps.Count} steps, each provisioning new hosts as capacity frees and retiring old ones as new ones become ready"));
        return new SurgeWindowPlan(desired, surge, unavailable, steps, null, string.Join("; ", why))
        {
            MinAvailable = minAvailable,
            MaxTotal = maxTotal,
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
