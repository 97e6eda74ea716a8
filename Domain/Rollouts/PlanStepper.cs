namespace Deploy.Engine.Domain.Rollouts;

/// <summary>The kinds of step a rollout plan is made of, whatever the strategy.</summary>
public enum PlanStepKind
{
    /// <summary>Apply the new artifact to a set of hosts and wait for them to report.</summary>
    Deploy,

    /// <summary>Set the traffic router's weight for the new version (canary).</summary>
    Traffic,

    /// <summary>Wait for a duration, or until an operator promotes when it has none.</summary>
    Pause,

    /// <summary>Watch the rollback triggers for a duration.</summary>
    Analysis,

    /// <summary>Blue-green promotion: the active slot changes in one recorded decision.</summary>
    Switch,

    /// <summary>Blue-green: the previous slot stays warm; a rollback in this window is a switch back.</summary>
    KeepWarm,

    /// <summary>Immutable: new hosts are created for the release.</summary>
    Provision,

    /// <summary>Immutable: the old hosts leave the environment.</summary>
    Retire,

    /// <summary>A wait between waves or after the pilot group.</summary>
    Bake,
}

/// <summary>What the stepper sees of a rollout at one instant.</summary>
/// <param name="Status">Progressing or Paused (other states are not stepped).</param>
/// <param name="Steps">The kind of each step of the plan, in order.</param>
/// <param name="CurrentStep">Index of the step in flight; -1 before the first.</param>
/// <param name="StepDuration">How long the current timed step lasts; null for a pause that waits for a promote.</param>
/// <param name="StepStartedAt">When the current step started.</param>
/// <param name="StepActionDone">Whether the current step's action (traffic, switch, provision, retire) succeeded.</param>
/// <param name="Pending">Hosts of the current deploy step that have not reported.</param>
/// <param name="TotalFailed">Failed hosts over the whole rollout so far.</param>
/// <param name="AllowedFailures">The failure budget.</param>
/// <param name="Deadline">When the current wait must end: hosts must report (deploy), or a human must act (a pause for a promote, an operator pause).</param>
/// <param name="PromoteRequested">An operator asked to skip the current pause or bake.</param>
/// <param name="Breach">A rollback trigger that is breached, with its reason; null when none is.</param>
/// <param name="Now">The current time, passed in.</param>
/// <param name="AwaitingEvidence">Rollback triggers are declared but no host running the new version has reported a sample yet.</param>
/// <param name="Minimum">CodeDeploy's minimum healthy hosts over the current stage when declared (see <see cref="Rolling.MinimumHealthyRule"/>); null otherwise.</param>
/// <param name="StepHosts">Hosts of each deploy step of the current stage (0 for other steps), for the minimum's check before a batch starts.</param>
public sealed record PlanProgress(
    RolloutStatus Status,
    IReadOnlyList<PlanStepKind> Steps,
    int CurrentStep,
    TimeSpan? StepDuration,
    DateTimeOffset? StepStartedAt,
    bool StepActionDone,
    int Pending,
    int TotalFailed,
    int AllowedFailures,
    DateTimeOffset? Deadline,
    bool PromoteRequested,
    string? Breach,
    DateTimeOffset Now,
    bool AwaitingEvidence = false,
    CodeDeployMinimum? Minimum = null,
    IReadOnlyList<int>? StepHosts = null);

/// <summary>
/// A resolved CodeDeploy minimum over the current stage (the whole rollout without waves): the hosts its deploy steps
/// target, how many must stay healthy, and how many of them failed.
/// </summary>
public sealed record CodeDeployMinimum(int Targets, int MinimumHealthy, int Failed);

public enum PlanAction
{
    /// <summary>Nothing to do until a host reports, a timer passes, or an operator acts.</summary>
    Wait,

    /// <summary>Start step <see cref="PlanDecision.Step"/> (or carry out its action again, when it is the current one).</summary>
    StartStep,

    /// <summary>Hosts still pending past the progress deadline count as failed.</summary>
    ExpirePending,

    /// <summary>A human did not act before the deadline: the spec says what happens (abort, or hold paused).</summary>
    DeadlineExpired,

    /// <summary>A rollback trigger or the failure budget says the new version is worse: roll back.</summary>
    RollBack,

    /// <summary>Every step is done.</summary>
    Complete,
}

/// <summary>What to do next, why, and until when nothing changes on its own (for the timer).</summary>
/// <param name="AwaitsOperator">A wait that only a person ends (a pause for a promote): the rollout shows Paused, not Progressing.</param>
public sealed record PlanDecision(PlanAction Action, int Step, string Reason, DateTimeOffset? WakeAt = null, bool AwaitsOperator = false);

/// <summary>
/// The reconcile loop of every strategy as one pure function, read top to bottom like a checklist (after
/// Argo Rollouts' canary reconcile): each early return says why the rollout cannot go further yet.
/// </summary>
public static class PlanStepper
{
    public static PlanDecision Next(PlanProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);

        // Evidence first, and also while paused: a pause must not hide a failing fleet.
        if (p.Breach is not null)
        {
            return new PlanDecision(PlanAction.RollBack, p.CurrentStep, p.Breach);
        }

        if (p.TotalFailed > p.AllowedFailures)
        {
            return new PlanDecision(PlanAction.RollBack, p.CurrentStep,
                $"{p.TotalFailed} hosts failed, more than the failure budget of {p.AllowedFailures}");
        }

        if (p.Minimum is { } minimum
            && Rolling.MinimumHealthyRule.Unreachable(minimum.Targets, minimum.MinimumHealthy, minimum.Failed) is { } unreachable)
        {
            // CodeDeploy fails a deployment as soon as the minimum cannot be reached, whatever maxFailures allows.
            return new PlanDecision(PlanAction.RollBack, p.CurrentStep, unreachable);
        }

        var kind = p.CurrentStep >= 0 && p.CurrentStep < p.Steps.Count ? p.Steps[p.CurrentStep] : (PlanStepKind?)null;

        if (kind == PlanStepKind.Deploy && p.Pending > 0)
        {
            // Hosts of this step are still working, paused or not; they get until the deadline, then count as failed.
            if (p.Deadline is { } deadline && p.Now >= deadline)
            {
                return new PlanDecision(PlanAction.ExpirePending, p.CurrentStep,
                    $"{p.Pending} hosts of step {p.CurrentStep + 1} did not report by the progress deadline {deadline:O}");
            }

            return new PlanDecision(PlanAction.Wait, p.CurrentStep,
                $"waiting for {p.Pending} hosts of step {p.CurrentStep + 1} of {p.Steps.Count}", p.Deadline);
        }

        if (p.Status == RolloutStatus.Paused)
        {
            // Held for a human; the hold has a deadline too.
            if (p.Deadline is { } held && p.Now >= held)
            {
                return new PlanDecision(PlanAction.DeadlineExpired, p.CurrentStep, $"paused past its deadline {held:O}");
            }

            return new PlanDecision(PlanAction.Wait, p.CurrentStep, "paused", p.Deadline);
        }

        if (kind is null)
        {
            return p.Steps.Count == 0
                ? new PlanDecision(PlanAction.Complete, p.CurrentStep, "the plan has no steps")
                : new PlanDecision(PlanAction.StartStep, 0, Starting(p, 0));
        }

        var end = p.StepStartedAt + p.StepDuration;
        switch (kind.Value)
        {
            case PlanStepKind.Traffic or PlanStepKind.Switch or PlanStepKind.Provision or PlanStepKind.Retire when !p.StepActionDone:
                // The action failed earlier (the rollout was paused with the reason) and the rollout was resumed: try again.
                return new PlanDecision(PlanAction.StartStep, p.CurrentStep, $"retrying step {p.CurrentStep + 1}");

            case PlanStepKind.Pause when p.StepDuration is null && !p.PromoteRequested:
                if (p.Deadline is { } promoteBy && p.Now >= promoteBy)
                {
                    return new PlanDecision(PlanAction.DeadlineExpired, p.CurrentStep,
                        $"no promote before the deadline {promoteBy:O}");
                }

                return new PlanDecision(PlanAction.Wait, p.CurrentStep, "waiting for an operator to promote", p.Deadline, AwaitsOperator: true);

            case PlanStepKind.Pause or PlanStepKind.Bake when !p.PromoteRequested && p.Now < end:
                return new PlanDecision(PlanAction.Wait, p.CurrentStep, $"{Describe(kind.Value)} until {end:O}", end);

            case PlanStepKind.Analysis when p.Now >= end && p.AwaitingEvidence:
                // An analysis without a single sample has not shown the version is fine: wait for data until the
                // analysis deadline, then let the spec decide.
                if (p.Deadline is { } evidenceBy && p.Now >= evidenceBy)
                {
                    return new PlanDecision(PlanAction.DeadlineExpired, p.CurrentStep,
                        $"no metric sample from a host of the new version by the analysis deadline {evidenceBy:O}");
                }

                return new PlanDecision(PlanAction.Wait, p.CurrentStep, "analysis waiting for a first metric sample", p.Deadline);

            case PlanStepKind.Analysis or PlanStepKind.KeepWarm when p.Now < end:
                // Neither is skipped by a promote: analysis is evidence, and the warm slot is the fast way back.
                return new PlanDecision(PlanAction.Wait, p.CurrentStep, $"{Describe(kind.Value)} until {end:O}", end);
        }

        var next = p.CurrentStep + 1;
        if (next >= p.Steps.Count)
        {
            return new PlanDecision(PlanAction.Complete, p.CurrentStep,
                $"all {p.Steps.Count} steps done with {p.TotalFailed} failed hosts (budget {p.AllowedFailures})");
        }

        if (p.Minimum is { } min && p.Steps[next] == PlanStepKind.Deploy && p.StepHosts is { } sizes && next < sizes.Count
            && Rolling.MinimumHealthyRule.NextBatchRefused(min.Targets, min.MinimumHealthy, min.Failed, sizes[next]) is { } refused)
        {
            // The planned batch would take the healthy count below the minimum: stop rather than breach it.
            return new PlanDecision(PlanAction.RollBack, p.CurrentStep, refused);
        }

        return new PlanDecision(PlanAction.StartStep, next, Starting(p, next));
    }

    /// <summary>
    /// The rolling window, as Kubernetes' maxUnavailable keeps that many pods changing instead of waiting for a whole batch:
    /// while hosts of the current deploy step are still working, how many hosts of the next deploy step start now. Only
    /// when the stepper would start that step if the current one ended now (so the failure budget, a breached trigger and
    /// a pause stop it, as they stop a batch), only for a deploy step of the same stage, never under a CodeDeploy minimum
    /// (which judges whole batches), and never beyond the window: the hosts out of service (<paramref name="changing"/>:
    /// the current step's pending ones, those started ahead, and the failed ones, which stay out of service as Kubernetes
    /// counts an unavailable pod, so a failing release does not reach more hosts by way of the window) stay at most the
    /// current step's size. Hosts start in chunks of at least half the window (or all that wait, when fewer), since each
    /// start writes the rollout's state first. <paramref name="waiting"/> is how many hosts of the next step have not
    /// started. Worked examples (the tests reuse them), steps of 10, 10 and 4 hosts:
    /// <list type="bullet">
    /// <item>step 1 with 6 pending (6 changing): 4 free, fewer than half of 10 → 0.</item>
    /// <item>step 1 with 5 pending (5 changing): 5 free → 5 of step 2 start.</item>
    /// <item>step 1 with 2 pending and 5 of step 2 started (7 changing): 3 free, fewer than 5 → 0; with 1 pending, 4 → 0.</item>
    /// <item>step 1 with 4 pending and 2 failed, within a budget of 2 (6 out of service): 4 free → 0; with 3 pending and
    /// 2 failed (5 out of service) → 5.</item>
    /// <item>step 2 with 4 pending (4 changing), 4 waiting in step 3: 6 free → all 4 start.</item>
    /// <item>one host at a time (steps of 1): the one changing fills the window → 0, always.</item>
    /// <item>more failed hosts than the budget, a breached trigger, a pause, a next step that is a pause or in another
    /// wave, a CodeDeploy minimum → 0.</item>
    /// </list>
    /// </summary>
    public static int StartAhead(PlanProgress p, int changing, int waiting)
    {
        ArgumentNullException.ThrowIfNull(p);
        var current = p.CurrentStep;
        var next = current + 1;
        if (p.Status != RolloutStatus.Progressing || p.Minimum is not null || p.Pending == 0 || waiting <= 0
            || current < 0 || next >= p.Steps.Count || p.Steps[current] != PlanStepKind.Deploy || p.Steps[next] != PlanStepKind.Deploy
            || p.StepHosts is not { } sizes || next >= sizes.Count || sizes[current] <= 0 || sizes[next] <= 0)
        {
            return 0;
        }

        var window = sizes[current];
        var free = window - changing;
        var chunk = Math.Min(waiting, Math.Max(1, (window + 1) / 2));
        if (free < chunk)
        {
            return 0;
        }

        // Whatever would stop the next step at the boundary stops it now.
        return Next(p with { Pending = 0 }) is { Action: PlanAction.StartStep } decision && decision.Step == next ? Math.Min(free, waiting) : 0;
    }

    /// <summary>
    /// The deadline of the current wait when a person resumes the rollout: one still ahead is kept; a passed or
    /// cleared one (an expiry that held the rollout for a human) starts afresh, so a resumed rollout is never left
    /// waiting without one. Timed steps end at their duration and need none.
    /// </summary>
    /// <example>Pause for a promote, approval 2 s, deadline cleared, resumed at t → t + 2 s. Deploy with hosts pending,
    /// deadline t + 5 s, resumed at t → t + 5 s (kept).</example>
    public static DateTimeOffset? DeadlineOnResume(
        PlanStepKind? kind, TimeSpan? duration, int pending, DateTimeOffset? current, Strategies.DeadlineSpec deadlines, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(deadlines);
        if (current is { } ahead && ahead > now)
        {
            return ahead;
        }

        return kind switch
        {
            PlanStepKind.Deploy when pending > 0 => now + deadlines.Progress,
            PlanStepKind.Pause when duration is null => now + deadlines.Approval,
            PlanStepKind.Analysis => now + deadlines.Analysis,
            _ => current,
        };
    }

    private static string Starting(PlanProgress p, int step) =>
        $"starting step {step + 1} of {p.Steps.Count} ({Describe(p.Steps[step])})";

    private static string Describe(PlanStepKind kind) => kind switch
    {
        PlanStepKind.Deploy => "deploy",
        PlanStepKind.Traffic => "traffic weight",
        PlanStepKind.Pause => "pause",
        PlanStepKind.Analysis => "analysis",
        PlanStepKind.Switch => "slot switch",
        PlanStepKind.KeepWarm => "previous slot kept warm",
        PlanStepKind.Provision => "provision",
        PlanStepKind.Retire => "retire",
        PlanStepKind.Bake => "bake",
        _ => kind.ToString(),
    };
}
