using System.Runtime.CompilerServices;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>A release's class, risk and workflow in one environment, with the service's open reviews.</summary>
public sealed record GovernanceAssessment(
    ReleaseClass Class,
    bool ProtectedEnvironment,
    RiskAssessment Risk,
    WorkflowRequirement Required,
    IReadOnlyList<ReviewSnapshot> OpenReviews)
{
    public bool Requires(string gate) => Required.Gates.Contains(gate);
}

/// <summary>
/// Gathers what the Domain rules need (environment, host share, deploy history, reviews, approver groups, change
/// records) and asks them. Gates and the governance view use the same evaluation, so the view explains exactly
/// what the gates do.
/// </summary>
public sealed class GovernanceEvaluator(
    IGrainFactory grains,
    IOptionsMonitor<GovernanceOptions> options,
    ChangeRecordProviders changeRecords)
{
    // All gates of one check share the GateContext object: one assessment per check, not one per gate.
    private readonly ConditionalWeakTable<GateContext, Task<GovernanceAssessment>> _perCheck = new();

    private readonly ConditionalWeakTable<GateContext, Task<bool>> _protected = new();

    public GovernanceOptions Options => options.CurrentValue;

    // One reference, swapped whole: gates run on many grain turns at once.
    private volatile PolicyCache? _policy;

    /// <summary>The Domain policy of the current options (rebuilt only when the options change).</summary>
    public GovernancePolicy Policy
    {
        get
        {
            var current = Options;
            if (_policy is { } cached && ReferenceEquals(cached.Options, current)) return cached.Policy;
            var policy = current.ToPolicy();
            _policy = new PolicyCache(current, policy);
            return policy;
        }
    }

    /// <summary>
    /// Whether any governance gate can apply to this rollout: the environment is protected, or the class has a gate that
    /// applies everywhere (pir-clear). When not, the gates pass without asking any grain (the common, ungoverned path).
    /// </summary>
    public async Task<bool> MayApply(GateContext context) =>
        Policy.WorkflowOf(GovernanceNames.ClassOf(context.Release.Class)).Gates.Contains(GateNames.PirClear)
        || await _protected.GetValue(context, c => IsProtected(c.Environment));

    /// <summary>
    /// Protected: named in <c>Governance:ProtectedEnvironments</c>, or declared protected or production tier
    /// (<c>PUT /v1/environments/{name}/declaration</c>).
    /// </summary>
    public async Task<bool> IsProtected(string environment) =>
        Options.IsProtected(environment)
        || await grains.Ref<IEnvironmentDeclarationGrain>(environment).Get() is { Declaration: var d }
            && (d.Protected || d.Tier == EnvironmentTier.Production);

    public Task<GovernanceAssessment> Assess(GateContext context) =>
        _perCheck.GetValue(context, c => Assess(c.Release, c.Environment, c.Selector, c.Now));

    public async Task<GovernanceAssessment> Assess(
        ReleaseSnapshot release, string environment, IReadOnlyDictionary<string, string> selector, DateTimeOffset now)
    {
        var policy = Policy;
        var releaseClass = GovernanceNames.ClassOf(release.Class);
        var isProtected = await IsProtected(environment);
        var env = await grains.Ref<IEnvironmentGrain>(environment).Get();
        var share = 1.0;
        if (selector.Count > 0 && env is { HostCount: > 0 })
        {
            var index = await grains.Ref<IEnvironmentGrain>(environment).GetHostIndex();
            share = (double)index.Count(h => selector.All(kv => h.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)) / index.Count;
        }

        var reviews = await grains.Ref<IReviewBookGrain>(release.Service).List();
        var failures = reviews.Count(r => r.OpenedAt >= now - policy.FailureWindow);
        var visibility = GovernanceNames.VisibilityOf(release.Risk.Visibility);
        var schema = GovernanceNames.SchemaChangeOf(release.Risk.SchemaChange);
        var signals = new RiskSignals(environment, isProtected, share, release.Risk.CustomerFacing, visibility, schema,
            release.Risk.DataMigration, FirstDeploy: env is null || !env.Services.ContainsKey(release.Service), failures);
        var risk = RiskClassifier.Classify(signals, policy.WorkflowOf(releaseClass).MinimumRisk);
        var required = Workflow.Required(policy, releaseClass, risk.Level, isProtected);
        return new GovernanceAssessment(releaseClass, isProtected, risk, required, reviews.Where(r => r.State == "open").ToList());
    }

    public ApprovalEvaluation Approvals(ReleaseSnapshot release, string environment, ApprovalRequirement requirement, DateTimeOffset now)
    {
        return ApprovalRules.Evaluate(requirement, Votes(release, environment), release.Authors(), now, Policy.ApprovalExpiry);
    }

    /// <summary>
    /// Whether the release's approval in the environment waits for <paramref name="actor"/>: the gate applies, and
    /// <see cref="ApprovalInbox"/> says the key's vote would count.
    /// </summary>
    public ApprovalWait WaitsFor(ReleaseSnapshot release, string environment, GovernanceAssessment assessment, string actor, DateTimeOffset now)
    {
        if (!assessment.Requires(GateNames.Approval))
        {
            return new ApprovalWait(false, $"no approval gate applies to {release.Service} {release.Version} in '{environment}'");
        }

        return ApprovalInbox.For(actor, Options.GroupsOf(actor), assessment.Required.Approval, Votes(release, environment), release.Authors(), release.Id, now, Policy.ApprovalExpiry);
    }

    /// <summary>The votes given for the environment, each with the groups its approver holds now.</summary>
    private List<ApprovalVote> Votes(ReleaseSnapshot release, string environment) => release.Approvals
        .Where(a => string.Equals(a.Environment, environment, StringComparison.Ordinal))
        .Select(a => new ApprovalVote(a.Approver, Options.GroupsOf(a.Approver),
            a.Decision == "reject" ? VoteDecision.Reject : VoteDecision.Approve, a.At, a.Reason))
        .ToList();

    public async Task<ReadinessEvaluation> Readiness(ReleaseSnapshot release) =>
        ReadinessChecklist.Evaluate(await ReadinessItems(), release.SignOffs(), release.Authors());

    /// <summary>The configured checklist, then the items approvers adopted from recurring post-mortem factors.</summary>
    public async Task<IReadOnlyList<string>> ReadinessItems()
    {
        var adopted = await grains.Ref<ILearningsGrain>(GrainKeys.Learnings).Adopted();
        return adopted.Count == 0 ? Policy.ReadinessItems : Policy.ReadinessItems.Concat(adopted).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The state of the release's change record in the provider configured for the environment.</summary>
    public Task<ChangeRecordStatus> ChangeRecord(ReleaseSnapshot release, string environment, CancellationToken cancellationToken = default) =>
        release.ChangeRecord is { } id
            ? changeRecords.Get(environment, id, cancellationToken)
            : Task.FromResult(new ChangeRecordStatus("missing",
                $"release {release.Id} declares no change record; a rollout to protected environment '{environment}' needs an approved one (declare changeRecord when submitting the release)"));

    /// <summary>
    /// The release's change record judged by <see cref="ChangeRecordRules"/> (service, release, window, four eyes) when
    /// the provider said what the record is; otherwise its state alone (pending or unavailable may still change).
    /// </summary>
    public async Task<(ChangeRecordStatus Status, ChangeRecordCheck Check)> CheckChangeRecord(
        ReleaseSnapshot release, string environment, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var status = await ChangeRecord(release, environment, cancellationToken);
        var check = status.Facts is { } facts
            ? ChangeRecordRules.Check(facts, release.Service, release.Id, release.Authors(), now)
            : new ChangeRecordCheck(status.State is ChangeRecordStatus.Pending or ChangeRecordStatus.Unavailable ? ChangeRecordVerdict.Pending : ChangeRecordVerdict.Invalid, status.Detail);
        return (status, check);
    }

    public static string ReviewBlocks(ReleaseSnapshot release, IReadOnlyList<ReviewSnapshot> open) =>
        $"post-implementation review{(open.Count == 1 ? "" : "s")} {string.Join(", ", open.Select(r => $"{r.Id} (rollout {r.RolloutId} {r.Outcome.ToLowerInvariant()})"))} of {release.Service} " +
        $"{(open.Count == 1 ? "is" : "are")} open; a major release waits until {(open.Count == 1 ? "it is" : "they are")} filed (POST /v1/reviews/{{id}} with findings, rootCause, actions)";

    /// <summary>The governance view of a release in one environment: every requirement, its state, and what blocks.</summary>
    public async Task<GovernanceSnapshot> Snapshot(ReleaseSnapshot release, string environment, IReadOnlyDictionary<string, string> selector, DateTimeOffset now)
    {
        var assessment = await Assess(release, environment, selector, now);
        var blocking = new List<string>();
        var approvers = assessment.Required.Approval;
        string approvalState = "not-required", approvalSummary = "no approval required";
        IReadOnlyList<string> approvedBy = [], ignored = [];
        var approvals = Approvals(release, environment, approvers, now);
        approvedBy = approvals.Counted;
        ignored = approvals.Ignored;
        if (assessment.Requires(GateNames.Approval) || approvals.State == ApprovalState.Rejected)
        {
            approvalState = approvals.State.ToString().ToLowerInvariant();
            approvalSummary = approvals.Summary;
            if (approvals.State == ApprovalState.Pending) blocking.Add($"{GateNames.Approval}: {approvals.Missing} (POST /v1/releases/{release.Id}/approvals)");
            if (approvals.State == ApprovalState.Rejected) blocking.Add($"{GateNames.Approval}: {approvals.Summary}");
        }

        var readiness = await Readiness(release);
        var readinessState = "not-required";
        if (assessment.Requires(GateNames.ReadinessReview))
        {
            readinessState = readiness.Complete ? "complete" : "incomplete";
            if (!readiness.Complete) blocking.Add($"{GateNames.ReadinessReview}: {readiness.Describe()} (POST /v1/releases/{release.Id}/readiness)");
        }

        string recordState = "not-required";
        string? recordDetail = null;
        if (assessment.Requires(GateNames.ChangeRecord))
        {
            var (record, check) = await CheckChangeRecord(release, environment, now);
            recordState = check.Verdict switch
            {
                ChangeRecordVerdict.Valid => ChangeRecordStatus.Approved,
                ChangeRecordVerdict.NotYetOpen => "scheduled",
                ChangeRecordVerdict.Invalid when record.IsApproved => "invalid",
                _ => record.State,
            };
            recordDetail = check.Reason;
            if (check.Verdict != ChangeRecordVerdict.Valid) blocking.Add($"{GateNames.ChangeRecord}: {check.Reason}");
        }

        if (assessment.Requires(GateNames.PirClear) && assessment.OpenReviews.Count > 0)
        {
            blocking.Add($"{GateNames.PirClear}: {ReviewBlocks(release, assessment.OpenReviews)}");
        }

        return new GovernanceSnapshot
        {
            ReleaseId = release.Id,
            Environment = environment,
            Class = GovernanceNames.Of(assessment.Class),
            ProtectedEnvironment = assessment.ProtectedEnvironment,
            Risk = GovernanceNames.Of(assessment.Risk.Level),
            Score = assessment.Risk.Score,
            Reasons = assessment.Risk.Reasons.Select(r => $"{r.Points}: {r.Reason}").ToList(),
            RequiredGates = assessment.Required.Gates.ToList(),
            Approvers = approvers.Describe(),
            ApprovalState = approvalState,
            ApprovalSummary = approvalSummary,
            ApprovedBy = approvedBy.ToList(),
            IgnoredVotes = ignored.ToList(),
            ReadinessState = readinessState,
            ReadinessMissing = assessment.Requires(GateNames.ReadinessReview) ? readiness.Missing.ToList() : [],
            ChangeRecord = release.ChangeRecord,
            ChangeRecordState = recordState,
            ChangeRecordDetail = recordDetail,
            OpenReviews = assessment.OpenReviews.Select(r => r.Id).ToList(),
            Blocking = blocking,
            KnownIssues = release.KnownIssues.ToList(),
        };
    }

    private sealed record PolicyCache(GovernanceOptions Options, GovernancePolicy Policy);
}
