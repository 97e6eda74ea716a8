namespace Deploy.Engine.Domain.Dora;

/// <summary>Where a rollout's time goes: a closed set, in the order the API lists them.</summary>
public enum WaitKind
{
    /// <summary>Submitted, waiting for the gates to be asked or for a slot in the environment (another rollout runs).</summary>
    Queued,

    /// <summary>Held for approvals, readiness sign-offs, an open post-implementation review or the class's workflow.</summary>
    Approvals,

    /// <summary>Held for a change record to be approved.</summary>
    ChangeRecords,

    /// <summary>Held by the deployment calendar: a freeze, or outside a window.</summary>
    Freezes,

    /// <summary>Held by an active incident.</summary>
    Incidents,

    /// <summary>Held until the services it depends on run the versions it needs.</summary>
    Dependencies,

    /// <summary>Held by a blast-radius budget other rollouts use.</summary>
    Budgets,

    /// <summary>Held by another gate (promotion order, supply chain, configuration).</summary>
    OtherGates,

    /// <summary>Hosts taking the new version: deploy, traffic, switch, provision and retire steps.</summary>
    Hosts,

    /// <summary>Timed waits the strategy declares: bakes, timed pauses, keep-warm.</summary>
    Bakes,

    /// <summary>Canary analysis steps.</summary>
    Analysis,

    /// <summary>A pause step waiting for an operator to promote.</summary>
    Promotions,

    /// <summary>Paused by an operator, or held for a person after a deadline or a failed action.</summary>
    OperatorPauses,

    /// <summary>Rolling back (or aborting and returning hosts).</summary>
    Rollback,
}

/// <summary>One decision of a rollout as the timing reads it (the rollout's decision log).</summary>
public sealed record TimedDecision(DateTimeOffset At, string Kind, string Actor, string? StepKind = null, string? Gates = null);

/// <summary>A stretch of a rollout's life spent on one thing, from one decision to the next.</summary>
public sealed record TimingSegment(DateTimeOffset From, DateTimeOffset To, WaitKind Kind, string Decision)
{
    public double Seconds => Math.Max(0, (To - From).TotalSeconds);
}

public sealed record RolloutTimingBreakdown(DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<TimingSegment> Segments)
{
    public double TotalSeconds => Segments.Sum(s => s.Seconds);

    /// <summary>Seconds per kind, every kind listed (zero when none was spent).</summary>
    public IReadOnlyDictionary<WaitKind, double> ByKind =>
        Enum.GetValues<WaitKind>().ToDictionary(k => k, k => Math.Round(Segments.Where(s => s.Kind == k).Sum(s => s.Seconds), 3));
}

/// <summary>
/// Attributes a rollout's life, decision by decision, to a <see cref="WaitKind"/>: the time from each decision to the
/// next goes to what that decision started waiting for, and the last open stretch runs to <c>end</c> (the rollout's
/// end, or now for a live one). The decision kinds map as follows:
/// <list type="bullet">
/// <item>created, supersedes, queued, gates-passed → Queued.</item>
/// <item>held, awaiting-approval → by the first gate it names: approval, readiness-review, pir-clear, workflow →
/// Approvals; change-record → ChangeRecords; calendar → Freezes; incident → Incidents; dependencies →
/// Dependencies; blast-radius → Budgets; any other → OtherGates.</item>
/// <item>admitted, switched → Hosts; step-started → by its step kind: Deploy, Traffic, Switch, Provision, Retire →
/// Hosts; Bake, Pause (timed), KeepWarm → Bakes; Analysis → Analysis; PauseForPromote → Promotions. analysis-passed
/// → Analysis; awaiting-promote → Promotions.</item>
/// <item>paused, deadline → OperatorPauses; resumed, promoted → back to the current step's kind (Queued before any).</item>
/// <item>rollback, abort, superseded, rollback-retry, switched-back, escalated → Rollback.</item>
/// <item>succeeded, rolled-back, aborted, plan-infeasible close the stretch before them. A rollout rolled back after
/// it succeeded (inside its rollback window) goes on: the time it served between its success and the rollback is
/// nobody's wait (no segment), and the rollback that follows is Rollback time up to its own end. The timeline ends at
/// the last end decision. <see cref="UntilDeployed"/> instead stops at the first success: a deployment's lead time
/// ends there, and the stages of lead time (the bottleneck figures) must add up to it.</item>
/// </list>
/// Worked example (the tests reuse it): created 10:00, awaiting-approval (approval) 10:00:05, gates-passed 10:20,
/// admitted 10:21, step-started Deploy 10:21, step-started Bake 10:25, step-started Deploy 10:35, succeeded 10:40 →
/// Queued 5 s + 60 s, Approvals 19 min 55 s, Hosts 4 + 5 min, Bakes 10 min; total 40 min.
/// The same rollout rolled back by an operator at 11:00 (rollback), rolled-back 11:03 → also Rollback 3 min; total
/// 43 min, ending 11:03 (<see cref="UntilDeployed"/>: still 40 min, ending 10:40).
/// </summary>
public static class RolloutTiming
{
    private static readonly HashSet<string> Ends = new(StringComparer.Ordinal) { "succeeded", "rolled-back", "aborted", "plan-infeasible" };

    /// <summary>The whole life of a rollout, a rollback after its success included.</summary>
    public static RolloutTimingBreakdown Attribute(IReadOnlyList<TimedDecision> decisions, DateTimeOffset end) => Walk(decisions, end, stopAtSuccess: false);

    /// <summary>A rollout up to its first success (its deployment): the part of its life that is lead time.</summary>
    public static RolloutTimingBreakdown UntilDeployed(IReadOnlyList<TimedDecision> decisions, DateTimeOffset end) => Walk(decisions, end, stopAtSuccess: true);

    private static RolloutTimingBreakdown Walk(IReadOnlyList<TimedDecision> decisions, DateTimeOffset end, bool stopAtSuccess)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        var ordered = decisions.OrderBy(d => d.At).ToList();
        var segments = new List<TimingSegment>();
        WaitKind? stepKind = null;
        DateTimeOffset? closedAt = null;
        for (var i = 0; i < ordered.Count; i++)
        {
            var decision = ordered[i];
            if (Ends.Contains(decision.Kind))
            {
                closedAt = decision.At;

                // Only a success can be followed by more (a rollback inside the rollback window); any other end is final.
                if (stopAtSuccess || decision.Kind != "succeeded" || i + 1 == ordered.Count) break;
                continue;
            }

            // Served between a success and a rollback of it: no wait of the rollout's, so no segment (and no merging across it).
            var afterGap = closedAt is not null;
            closedAt = null;

            if (decision.Kind == "step-started") stepKind = ForStep(decision.StepKind);
            var kind = decision.Kind switch
            {
                "held" or "awaiting-approval" => ForGates(decision.Gates),
                "admitted" or "switched" => WaitKind.Hosts,
                "step-started" => stepKind!.Value,
                "analysis-passed" => WaitKind.Analysis,
                "awaiting-promote" => WaitKind.Promotions,
                "paused" or "deadline" => WaitKind.OperatorPauses,
                "resumed" or "promoted" => stepKind ?? WaitKind.Queued,
                "rollback" or "abort" or "superseded" or "rollback-retry" or "switched-back" or "escalated" => WaitKind.Rollback,
                _ => WaitKind.Queued,
            };
            var to = i + 1 < ordered.Count ? ordered[i + 1].At : end;
            if (segments.Count > 0 && segments[^1].Kind == kind && !afterGap)
            {
                segments[^1] = segments[^1] with { To = to };
            }
            else
            {
                segments.Add(new TimingSegment(decision.At, to, kind, decision.Kind));
            }
        }

        return new RolloutTimingBreakdown(ordered.FirstOrDefault()?.At, closedAt ?? (ordered.Count == 0 ? null : end), segments);
    }

    public static WaitKind ForGates(string? gates) => (gates?.Split(',')[0].Trim()) switch
    {
        "approval" or "readiness-review" or "pir-clear" or "workflow" => WaitKind.Approvals,
        "change-record" => WaitKind.ChangeRecords,
        "calendar" => WaitKind.Freezes,
        "incident" => WaitKind.Incidents,
        "dependencies" => WaitKind.Dependencies,
        "blast-radius" => WaitKind.Budgets,
        _ => WaitKind.OtherGates,
    };

    public static WaitKind ForStep(string? stepKind) => stepKind switch
    {
        "Bake" or "Pause" or "KeepWarm" => WaitKind.Bakes,
        "Analysis" => WaitKind.Analysis,
        "PauseForPromote" => WaitKind.Promotions,
        _ => WaitKind.Hosts,
    };
}
