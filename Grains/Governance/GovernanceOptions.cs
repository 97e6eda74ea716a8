using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Strategies;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// The change process, bound from configuration section "Governance". Everything is optional: what is not set is
/// <see cref="GovernancePolicy.Default"/> (lists are null here so that configuration replaces a default list rather
/// than appending to it).
/// <code>
/// Governance:ProtectedEnvironments:0          = prod          (default: prod, production; a trailing * matches a prefix)
/// Governance:Approvers:alice:0                = cab           (principal = API key name → approver groups)
/// Governance:ApprovalExpiry                   = 1.00:00:00
/// Governance:FailureWindow                    = 30.00:00:00
/// Governance:ReadinessItems:0                 = operations
/// Governance:Authority:medium:Count           = 1             (per risk level: Count, Groups, MustInclude)
/// Governance:Authority:medium:Groups:0        = team
/// Governance:Classes:emergency:Gates:0        = approval      (approval, change-record, readiness-review, pir-clear)
/// Governance:Classes:emergency:Strategies:0   = canary        (empty: all)
/// Governance:Classes:emergency:Scopes:0       = pilot         (empty: all)
/// Governance:Classes:emergency:MaxFirstCanaryWeight = 10
/// Governance:Classes:major:MinimumRisk        = high
/// Governance:Classes:emergency:Approval:low:Count = 1         (overrides the authority for that class)
/// </code>
/// </summary>
public sealed class GovernanceOptions
{
    public const string Section = "Governance";

    public static readonly IReadOnlyList<string> DefaultProtectedEnvironments = ["prod", "production"];

    public List<string>? ProtectedEnvironments { get; set; }

    public Dictionary<string, List<string>> Approvers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public TimeSpan? ApprovalExpiry { get; set; }

    public TimeSpan? FailureWindow { get; set; }

    public List<string>? ReadinessItems { get; set; }

    public Dictionary<string, ApprovalAuthorityOptions> Authority { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, ClassWorkflowOptions> Classes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Change authorities other than the proposer who must approve a declaration, parameter or secret change of a production-tier or protected environment (1-10; default 1).</summary>
    public int DeclarationChangeApprovals { get; set; } = 1;

    /// <summary>The same per environment (exact name), over <see cref="DeclarationChangeApprovals"/>.</summary>
    public Dictionary<string, int> EnvironmentChangeApprovals { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How many approvals a declaration, parameter or secret change of <paramref name="environment"/> needs.</summary>
    public int ChangeApprovalsFor(string environment) =>
        EnvironmentChangeApprovals.TryGetValue(environment, out var n) ? n : DeclarationChangeApprovals;

    /// <summary>Whether <paramref name="environment"/> is protected (exact name, or a prefix pattern ending in '*').</summary>
    public bool IsProtected(string environment) =>
        (ProtectedEnvironments ?? DefaultProtectedEnvironments).Any(p => p.EndsWith('*')
            ? environment.StartsWith(p[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(p, environment, StringComparison.OrdinalIgnoreCase));

    /// <summary>The approver groups of a principal (empty when it is no approver).</summary>
    public IReadOnlyList<string> GroupsOf(string principal) =>
        Approvers.TryGetValue(principal, out var groups) ? groups.Select(g => g.Trim().ToLowerInvariant()).ToList() : [];

    /// <summary>The Domain policy: configured values over the defaults. Call only on validated options.</summary>
    public GovernancePolicy ToPolicy()
    {
        var d = GovernancePolicy.Default;
        var authority = new Dictionary<RiskLevel, ApprovalRequirement>(d.ApprovalAuthority);
        foreach (var (risk, value) in Authority)
        {
            authority[GovernanceNames.Or(risk, RiskLevel.Low)] = value.ToRequirement();
        }

        var classes = new Dictionary<ReleaseClass, ClassWorkflow>(d.Classes);
        foreach (var (name, value) in Classes)
        {
            var c = GovernanceNames.ClassOf(name);
            classes[c] = value.Apply(d.WorkflowOf(c));
        }

        return new GovernancePolicy(classes, authority, ApprovalExpiry ?? d.ApprovalExpiry,
            ReadinessItems?.Select(i => i.Trim().ToLowerInvariant()).ToList() ?? d.ReadinessItems, FailureWindow ?? d.FailureWindow);
    }
}

public sealed class ApprovalAuthorityOptions
{
    public int Count { get; set; }

    public List<string>? Groups { get; set; }

    public List<string>? MustInclude { get; set; }

    public ApprovalRequirement ToRequirement() => new(Count,
        (Groups ?? []).Select(g => g.Trim().ToLowerInvariant()).ToList(),
        (MustInclude ?? []).Select(g => g.Trim().ToLowerInvariant()).ToList());
}

public sealed class ClassWorkflowOptions
{
    public List<string>? Gates { get; set; }

    public List<string>? Strategies { get; set; }

    public List<string>? Scopes { get; set; }

    public int? MaxFirstCanaryWeight { get; set; }

    public string? MinimumRisk { get; set; }

    public Dictionary<string, ApprovalAuthorityOptions> Approval { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public ClassWorkflow Apply(ClassWorkflow defaults)
    {
        var overrides = new Dictionary<RiskLevel, ApprovalRequirement>(defaults.ApprovalOverrides);
        foreach (var (risk, value) in Approval)
        {
            overrides[GovernanceNames.Or(risk, RiskLevel.Low)] = value.ToRequirement();
        }

        return new ClassWorkflow(
            Gates is null ? defaults.Gates : Gates.Select(g => g.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal),
            Strategies is null ? defaults.AllowedStrategies : Strategies.Select(s => GovernanceNames.Or(s, StrategyKind.Rolling)).ToHashSet(),
            Scopes is null ? defaults.AllowedScopes : Scopes.Select(s => GovernanceNames.Or(s, ScopeKind.Full)).ToHashSet(),
            MaxFirstCanaryWeight ?? defaults.MaxFirstCanaryWeight,
            MinimumRisk is null ? defaults.MinimumRisk : GovernanceNames.TryParseRisk(MinimumRisk, out var min) ? min : defaults.MinimumRisk,
            overrides);
    }
}

/// <summary>Checked at start: a mistyped class, risk level, gate or strategy fails the silo's start.</summary>
public sealed class GovernanceOptionsValidator : IValidateOptions<GovernanceOptions>
{
    public ValidateOptionsResult Validate(string? name, GovernanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = GovernanceOptions.Section;
        if (options.ApprovalExpiry is { } expiry && expiry <= TimeSpan.Zero) errors.Add($"{S}:ApprovalExpiry must be positive.");
        if (options.FailureWindow is { } window && window <= TimeSpan.Zero) errors.Add($"{S}:FailureWindow must be positive.");
        if (options.ProtectedEnvironments?.Any(string.IsNullOrWhiteSpace) == true) errors.Add($"{S}:ProtectedEnvironments has an empty entry.");
        if (options.ReadinessItems?.Any(string.IsNullOrWhiteSpace) == true) errors.Add($"{S}:ReadinessItems has an empty item.");
        var most = Domain.Environments.ChangeProposals.MaxApprovals;
        if (options.DeclarationChangeApprovals < 1 || options.DeclarationChangeApprovals > most)
            errors.Add($"{S}:DeclarationChangeApprovals must be between 1 and {most}.");
        foreach (var (environment, n) in options.EnvironmentChangeApprovals)
        {
            if (n < 1 || n > most) errors.Add($"{S}:EnvironmentChangeApprovals:{environment} must be between 1 and {most}.");
        }

        foreach (var (principal, groups) in options.Approvers)
        {
            if (groups.Any(string.IsNullOrWhiteSpace)) errors.Add($"{S}:Approvers:{principal} has an empty group.");
        }

        foreach (var (risk, authority) in options.Authority)
        {
            Authority($"{S}:Authority:{risk}", risk, authority, errors);
        }

        foreach (var (c, workflow) in options.Classes)
        {
            var key = $"{S}:Classes:{c}";
            if (!GovernanceNames.TryParseClass(c, out _)) errors.Add($"{key}: unknown class; expected standard, emergency or major.");
            foreach (var gate in workflow.Gates ?? [])
            {
                if (!GateNames.All.Contains(gate.Trim().ToLowerInvariant())) errors.Add($"{key}:Gates: unknown gate '{gate}'; expected {string.Join(", ", GateNames.All)}.");
            }

            foreach (var s in workflow.Strategies ?? [])
            {
                if (!GovernanceNames.TryParseStrategy(s, out _)) errors.Add($"{key}:Strategies: unknown strategy '{s}'.");
            }

            foreach (var s in workflow.Scopes ?? [])
            {
                if (!GovernanceNames.TryParseScope(s, out _)) errors.Add($"{key}:Scopes: unknown scope '{s}'.");
            }

            if (workflow.MaxFirstCanaryWeight is < 1 or > 100) errors.Add($"{key}:MaxFirstCanaryWeight must be between 1 and 100.");
            if (workflow.MinimumRisk is { } min && !GovernanceNames.TryParseRisk(min, out _)) errors.Add($"{key}:MinimumRisk: unknown risk level '{min}'.");
            foreach (var (risk, authority) in workflow.Approval)
            {
                Authority($"{key}:Approval:{risk}", risk, authority, errors);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Authority(string key, string risk, ApprovalAuthorityOptions authority, List<string> errors)
    {
        if (!GovernanceNames.TryParseRisk(risk, out _)) errors.Add($"{key}: unknown risk level; expected low, medium, high or critical.");
        if (authority.Count is < 0 or > 10) errors.Add($"{key}:Count must be between 0 and 10.");
        if (authority.Count > 0 && (authority.Groups is null || authority.Groups.Count == 0)) errors.Add($"{key}:Groups must name at least one group when Count is above 0.");
        if ((authority.MustInclude?.Count ?? 0) > authority.Count) errors.Add($"{key}:MustInclude names more groups than Count approvers.");
    }
}
