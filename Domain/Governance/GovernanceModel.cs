using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Governance;

/// <summary>What kind of change a release is; each class has its own workflow (<see cref="ClassWorkflow"/>).</summary>
public enum ReleaseClass
{
    Standard,
    Emergency,
    Major,
}

/// <summary>The risk a release carries into one environment, as <see cref="RiskClassifier"/> scores it.</summary>
public enum RiskLevel
{
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>How visible the change is to the people who use the service.</summary>
public enum Visibility
{
    /// <summary>Nobody outside the team notices (refactoring, logging).</summary>
    None,

    /// <summary>Some users may notice (a minor behaviour change).</summary>
    Low,

    /// <summary>Users will notice (a new screen, a changed flow, a price).</summary>
    High,
}

/// <summary>What the release does to stored data's schema.</summary>
public enum SchemaChange
{
    None,

    /// <summary>Old and new versions both work with the new schema: a rollback is a plain rollback.</summary>
    Compatible,

    /// <summary>The old version cannot run against the new schema: a rollback needs a data fix.</summary>
    Breaking,
}

/// <summary>The gates a class workflow may require (their wire names).</summary>
public static class GateNames
{
    /// <summary>Approvals from the groups the risk level names (<see cref="ApprovalRequirement"/>), before a protected environment.</summary>
    public const string Approval = "approval";

    /// <summary>An approved change record, before a protected environment.</summary>
    public const string ChangeRecord = "change-record";

    /// <summary>Every readiness checklist item signed off, before a protected environment.</summary>
    public const string ReadinessReview = "readiness-review";

    /// <summary>No open post-implementation review of the service, in any environment.</summary>
    public const string PirClear = "pir-clear";

    public static readonly IReadOnlyList<string> All = [Approval, ChangeRecord, ReadinessReview, PirClear];
}

/// <summary>
/// Who must approve: <paramref name="Count"/> distinct approvers, each holding one of <paramref name="Groups"/>,
/// and among them at least one of every group in <paramref name="MustInclude"/>. Count 0 means the pipeline alone decides.
/// </summary>
public sealed record ApprovalRequirement(int Count, IReadOnlyList<string> Groups, IReadOnlyList<string> MustInclude)
{
    public static ApprovalRequirement None { get; } = new(0, [], []);

    public bool Required => Count > 0 || MustInclude.Count > 0;

    /// <summary>"1 approval from group cab", "2 approvals from groups cab or executive, including one from executive", "none".</summary>
    public string Describe()
    {
        if (!Required) return "no approval (the pipeline alone)";
        var text = $"{Count} approval{(Count == 1 ? "" : "s")} from {GroupWords(Groups)}";
        return MustInclude.Count == 0 ? text : $"{text}, including one from {GroupWords(MustInclude)}";
    }

    internal static string GroupWords(IReadOnlyList<string> groups) =>
        (groups.Count == 1 ? "group " : "groups ") + string.Join(" or ", groups);
}

/// <summary>
/// The workflow of one release class. <paramref name="Gates"/> are the gates that apply (see <see cref="GateNames"/>);
/// an empty <paramref name="AllowedStrategies"/> or <paramref name="AllowedScopes"/> allows all;
/// <paramref name="MaxFirstCanaryWeight"/> caps a canary's first traffic step (null: no cap);
/// <paramref name="MinimumRisk"/> is a floor under the classifier's level (a major release is never low risk);
/// <paramref name="ApprovalOverrides"/> replaces the policy's approval authority for the listed risk levels.
/// </summary>
public sealed record ClassWorkflow(
    IReadOnlySet<string> Gates,
    IReadOnlySet<StrategyKind> AllowedStrategies,
    IReadOnlySet<ScopeKind> AllowedScopes,
    int? MaxFirstCanaryWeight,
    RiskLevel MinimumRisk,
    IReadOnlyDictionary<RiskLevel, ApprovalRequirement> ApprovalOverrides);

/// <summary>
/// The change process, declared in configuration (section "Governance") and defaulting to <see cref="Default"/>:
/// one workflow per class, the approval authority per risk level, how long an approval stays valid, the readiness
/// checklist, and how far back the classifier counts a service's failures.
/// </summary>
public sealed record GovernancePolicy(
    IReadOnlyDictionary<ReleaseClass, ClassWorkflow> Classes,
    IReadOnlyDictionary<RiskLevel, ApprovalRequirement> ApprovalAuthority,
    TimeSpan ApprovalExpiry,
    IReadOnlyList<string> ReadinessItems,
    TimeSpan FailureWindow)
{
    public static readonly IReadOnlyDictionary<RiskLevel, ApprovalRequirement> DefaultAuthority = new Dictionary<RiskLevel, ApprovalRequirement>
    {
        [RiskLevel.Low] = ApprovalRequirement.None,
        [RiskLevel.Medium] = new(1, ["team"], []),
        [RiskLevel.High] = new(1, ["cab"], []),
        [RiskLevel.Critical] = new(2, ["cab", "executive"], ["executive"]),
    };

    public static readonly ClassWorkflow DefaultStandard = new(
        new HashSet<string> { GateNames.Approval, GateNames.ChangeRecord },
        new HashSet<StrategyKind>(), new HashSet<ScopeKind>(), null, RiskLevel.Low,
        new Dictionary<RiskLevel, ApprovalRequirement>());

    /// <summary>An emergency goes out fast but narrow: a canary whose first step is at most 10%, or a pilot scope; the emergency CAB approves whatever the risk.</summary>
    public static readonly ClassWorkflow DefaultEmergency = new(
        new HashSet<string> { GateNames.Approval, GateNames.ChangeRecord },
        new HashSet<StrategyKind> { StrategyKind.Canary }, new HashSet<ScopeKind>(), 10, RiskLevel.Low,
        new Dictionary<RiskLevel, ApprovalRequirement>
        {
            [RiskLevel.Low] = new(1, ["cab"], []),
            [RiskLevel.Medium] = new(1, ["cab"], []),
        });

    /// <summary>A major release is at least high risk, needs a readiness review, and waits for open reviews of its service.</summary>
    public static readonly ClassWorkflow DefaultMajor = new(
        new HashSet<string> { GateNames.Approval, GateNames.ChangeRecord, GateNames.ReadinessReview, GateNames.PirClear },
        new HashSet<StrategyKind>(), new HashSet<ScopeKind>(), null, RiskLevel.High,
        new Dictionary<RiskLevel, ApprovalRequirement>());

    public static readonly IReadOnlyList<string> DefaultReadinessItems = ["operations", "security", "business"];

    /// <summary>What a new user gets without configuration.</summary>
    public static GovernancePolicy Default { get; } = new(
        new Dictionary<ReleaseClass, ClassWorkflow>
        {
            [ReleaseClass.Standard] = DefaultStandard,
            [ReleaseClass.Emergency] = DefaultEmergency,
            [ReleaseClass.Major] = DefaultMajor,
        },
        DefaultAuthority,
        TimeSpan.FromHours(24),
        DefaultReadinessItems,
        TimeSpan.FromDays(30));

    public ClassWorkflow WorkflowOf(ReleaseClass releaseClass) =>
        Classes.TryGetValue(releaseClass, out var workflow) ? workflow : DefaultStandard;
}

/// <summary>The wire names of the closed sets, as configuration and the API spell them.</summary>
public static class GovernanceNames
{
    public static string Of(ReleaseClass c) => c.ToString().ToLowerInvariant();

    public static string Of(RiskLevel r) => r.ToString().ToLowerInvariant();

    public static bool TryParseClass(string? text, out ReleaseClass value) => TryParse(text, out value);

    public static bool TryParseRisk(string? text, out RiskLevel value) => TryParse(text, out value);

    public static bool TryParseVisibility(string? text, out Visibility value) => TryParse(text, out value);

    public static bool TryParseSchemaChange(string? text, out SchemaChange value) => TryParse(text, out value);

    public static bool TryParseStrategy(string? text, out StrategyKind value) => TryParse(text, out value);

    public static bool TryParseScope(string? text, out ScopeKind value) => TryParse(text, out value);

    /// <summary>The class named, standard when none or unknown.</summary>
    public static ReleaseClass ClassOf(string? text) => TryParseClass(text, out var v) ? v : ReleaseClass.Standard;

    public static Visibility VisibilityOf(string? text) => TryParseVisibility(text, out var v) ? v : Visibility.None;

    public static SchemaChange SchemaChangeOf(string? text) => TryParseSchemaChange(text, out var v) ? v : SchemaChange.None;

    /// <summary>For validated configuration: the value named (the fallback only for text validation refused).</summary>
    public static T Or<T>(string? text, T fallback)
        where T : struct, Enum => TryParse<T>(text, out var v) ? v : fallback;

    private static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        value = default;
        return !string.IsNullOrWhiteSpace(text) && !char.IsDigit(text[0]) && !text.Contains(',', StringComparison.Ordinal)
            && Enum.TryParse(text.Trim(), ignoreCase: true, out value) && Enum.IsDefined(value);
    }
}
