using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Governance;

/// <summary>Submit: the class's workflow allows the strategy and scope (e.g. an emergency goes out as a narrow canary).</summary>
public sealed class WorkflowGate(GovernanceEvaluator governance) : IRolloutGate
{
    public string Name => "workflow";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit };

    public Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        // The rollout validated the strategy before asking the gates; an unparsable one is not this gate's to judge.
        if (StrategySpecParser.Parse(context.Strategy.ToInput()).Value is not { } spec)
        {
            return Task.FromResult(GateDecision.Pass(Name));
        }

        var releaseClass = GovernanceNames.ClassOf(context.Release.Class);
        var first = spec.Steps.OfType<SetWeightStep>().FirstOrDefault()?.Percent;
        var refusal = Workflow.CheckStrategy(governance.Policy, releaseClass, spec.Kind, spec.Scope.Kind, first);
        return Task.FromResult(refusal is null ? GateDecision.Pass(Name) : new GateDecision(GateVerdict.Refuse, Name, refusal));
    }
}

/// <summary>
/// Into a protected environment, the release's change record must be approved, for the release's service (and the
/// release, when the record names one), inside the record's window, and not by the release's own author
/// (<see cref="ChangeRecordRules"/>). At submit: invalid, pending or unreachable refuses (422, nothing stored); a window
/// not open yet passes. At admission: pending, unreachable or not yet open waits; invalid aborts. At every step
/// boundary the record is read again: a rejection, an expiry or any other change that makes it invalid holds the
/// rollout there (no further host is touched) until the record is valid again or an operator rolls back or aborts.
/// </summary>
public sealed class ChangeRecordGate(GovernanceEvaluator governance) : IRolloutGate
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(30);

    public string Name => GateNames.ChangeRecord;

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit, GatePoint.Admission, GatePoint.StepBoundary };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        // A running rollout got past admission: a release without a record needed none.
        if (context.Point == GatePoint.StepBoundary && context.Release.ChangeRecord is null) return GateDecision.Pass(Name);
        if (!await governance.MayApply(context)) return GateDecision.Pass(Name);
        var assessment = await governance.Assess(context);
        if (!assessment.Requires(GateNames.ChangeRecord)) return GateDecision.Pass(Name);
        var (_, check) = await governance.CheckChangeRecord(context.Release, context.Environment, context.Now, cancellationToken);
        return (check.Verdict, context.Point) switch
        {
            (ChangeRecordVerdict.Valid, _) => GateDecision.Pass(Name),
            (ChangeRecordVerdict.NotYetOpen, GatePoint.Submit) => GateDecision.Pass(Name),
            (ChangeRecordVerdict.NotYetOpen, GatePoint.Admission) => new GateDecision(GateVerdict.Wait, Name, check.Reason, check.RecheckAt),
            (ChangeRecordVerdict.Pending, GatePoint.Admission) => new GateDecision(GateVerdict.Wait, Name, check.Reason, context.Now + Recheck),
            (_, GatePoint.StepBoundary) => new GateDecision(GateVerdict.Wait, Name, $"{check.Reason}; held here: roll it back or abort it", context.Now + Recheck),
            _ => new GateDecision(GateVerdict.Refuse, Name, check.Reason),
        };
    }
}

/// <summary>
/// Into a protected environment, the approvals the risk level asks for: at admission a missing approval holds the
/// rollout in AwaitingApproval ("needs 1 more approval from group cab"); a rejection refuses (aborts it, or 422 at submit).
/// A rejection that comes while the rollout runs holds it at its next step boundary (no further host is touched) until
/// an operator rolls it back or aborts it: the approvals it started with no longer stand.
/// </summary>
public sealed class ApprovalGate(GovernanceEvaluator governance) : IRolloutGate
{
    public string Name => GateNames.Approval;

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit, GatePoint.Admission, GatePoint.StepBoundary };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        if (context.Point == GatePoint.StepBoundary)
        {
            // Only a rejection matters once running (approvals were checked at admission); no risk assessment per step.
            var verdict = governance.Approvals(context.Release, context.Environment, ApprovalRequirement.None, context.Now);
            return verdict.State == ApprovalState.Rejected
                ? new GateDecision(GateVerdict.Wait, Name, $"{verdict.Summary}; held here: roll it back or abort it")
                : GateDecision.Pass(Name);
        }

        if (!await governance.MayApply(context))
        {
            // Nothing to approve here, but a rejection for this environment still stops the release.
            var rejection = governance.Approvals(context.Release, context.Environment, ApprovalRequirement.None, context.Now);
            return rejection.State == ApprovalState.Rejected ? new GateDecision(GateVerdict.Refuse, Name, rejection.Summary) : GateDecision.Pass(Name);
        }

        var assessment = await governance.Assess(context);
        var evaluation = governance.Approvals(context.Release, context.Environment, assessment.Required.Approval, context.Now);
        // A rejection stops the release in that environment even where no approval was required.
        if (!assessment.Requires(GateNames.Approval) && evaluation.State != ApprovalState.Rejected) return GateDecision.Pass(Name);
        var risk = $"{GovernanceNames.Of(assessment.Class)} release, {GovernanceNames.Of(assessment.Risk.Level)} risk";
        return evaluation.State switch
        {
            ApprovalState.Rejected => new GateDecision(GateVerdict.Refuse, Name, $"{evaluation.Summary} ({risk})"),
            ApprovalState.Pending when context.Point == GatePoint.Admission => new GateDecision(GateVerdict.AwaitApproval, Name,
                $"{evaluation.Missing} ({risk}; POST /v1/releases/{context.Release.Id}/approvals)"),
            _ => GateDecision.Pass(Name),
        };
    }
}

/// <summary>Admission into a protected environment for classes with a readiness review: every checklist item signed off.</summary>
public sealed class ReadinessGate(GovernanceEvaluator governance) : IRolloutGate
{
    public string Name => GateNames.ReadinessReview;

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Admission };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        if (!await governance.MayApply(context)) return GateDecision.Pass(Name);
        var assessment = await governance.Assess(context);
        if (!assessment.Requires(GateNames.ReadinessReview)) return GateDecision.Pass(Name);
        var readiness = await governance.Readiness(context.Release);
        return readiness.Complete
            ? GateDecision.Pass(Name)
            : new GateDecision(GateVerdict.AwaitApproval, Name, $"{readiness.Describe()} (POST /v1/releases/{context.Release.Id}/readiness)");
    }
}

/// <summary>
/// For classes with pir-clear (major): an open post-implementation review of the service refuses the rollout at
/// submit, and holds one already waiting at admission, until the review is filed.
/// </summary>
public sealed class PirGate(GovernanceEvaluator governance) : IRolloutGate
{
    public string Name => GateNames.PirClear;

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit, GatePoint.Admission };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        if (!await governance.MayApply(context)) return GateDecision.Pass(Name);
        var assessment = await governance.Assess(context);
        if (!assessment.Requires(GateNames.PirClear) || assessment.OpenReviews.Count == 0) return GateDecision.Pass(Name);
        var reason = GovernanceEvaluator.ReviewBlocks(context.Release, assessment.OpenReviews);
        return new GateDecision(context.Point == GatePoint.Submit ? GateVerdict.Refuse : GateVerdict.Wait, Name, reason);
    }
}
