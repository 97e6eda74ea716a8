using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Governance;

/// <summary>What a release of one class at one risk level needs before it enters one environment.</summary>
public sealed record WorkflowRequirement(IReadOnlyList<string> Gates, ApprovalRequirement Approval);

/// <summary>
/// The workflow table: class × risk (× protected environment) → required gates and approvers.
/// <list type="bullet">
/// <item>approval, change-record and readiness-review apply only on the way into a protected environment, and only
/// when the class lists them; approval only when the risk level's authority asks for at least one approver.</item>
/// <item>pir-clear applies in every environment when the class lists it.</item>
/// <item>the approval authority is the class's override for the risk level, else the policy's.</item>
/// </list>
/// Default table for a protected environment: standard low → change-record; standard medium → change-record,
/// approval (1 team); standard high → 1 cab; standard critical → 2 incl. executive; emergency low/medium → 1 cab;
/// major (never below high) → change-record, approval (1 cab, or 2 incl. executive), readiness-review, pir-clear.
/// </summary>
public static class Workflow
{
    public static WorkflowRequirement Required(GovernancePolicy policy, ReleaseClass releaseClass, RiskLevel risk, bool protectedEnvironment)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var workflow = policy.WorkflowOf(releaseClass);
        var approval = workflow.ApprovalOverrides.TryGetValue(risk, out var overridden) ? overridden
            : policy.ApprovalAuthority.TryGetValue(risk, out var authority) ? authority
            : ApprovalRequirement.None;
        var gates = new List<string>();
        foreach (var gate in GateNames.All)
        {
            if (!workflow.Gates.Contains(gate)) continue;
            var applies = gate switch
            {
                GateNames.PirClear => true,
                GateNames.Approval => protectedEnvironment && approval.Required,
                _ => protectedEnvironment,
            };
            if (applies) gates.Add(gate);
        }

        return new WorkflowRequirement(gates, gates.Contains(GateNames.Approval) ? approval : ApprovalRequirement.None);
    }

    /// <summary>
    /// Null when the class allows the strategy and scope; otherwise why not, naming the class and what it allows.
    /// A canary's first traffic step must not exceed the class's cap; a pilot scope is always narrow enough.
    /// </summary>
    public static string? CheckStrategy(GovernancePolicy policy, ReleaseClass releaseClass, StrategyKind kind, ScopeKind scope, int? firstCanaryWeight)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var workflow = policy.WorkflowOf(releaseClass);
        var name = GovernanceNames.Of(releaseClass);
        var pilot = scope == ScopeKind.Pilot && (workflow.AllowedScopes.Count == 0 || workflow.AllowedScopes.Contains(ScopeKind.Pilot));
        if (workflow.AllowedScopes.Count > 0 && !workflow.AllowedScopes.Contains(scope))
        {
            return $"a {name} release may not use the {scope.ToString().ToLowerInvariant()} scope; allowed: {Words(workflow.AllowedScopes.Select(s => s.ToString().ToLowerInvariant()))}";
        }

        if (workflow.AllowedStrategies.Count > 0 && !workflow.AllowedStrategies.Contains(kind) && !pilot)
        {
            var allowed = Words(workflow.AllowedStrategies.Select(StrategyNames.Of));
            return $"a {name} release may not use the {StrategyNames.Of(kind)} strategy; allowed: {allowed}" +
                (workflow.AllowedScopes.Count == 0 || workflow.AllowedScopes.Contains(ScopeKind.Pilot) ? ", or any strategy with a pilot scope" : "");
        }

        if (kind == StrategyKind.Canary && workflow.MaxFirstCanaryWeight is { } cap && !pilot && (firstCanaryWeight ?? 100) > cap)
        {
            return $"a {name} release's canary must start at {cap}% of traffic or less; the first step is {firstCanaryWeight ?? 100}%";
        }

        return null;
    }

    private static string Words(IEnumerable<string> names) => string.Join(", ", names.Order(StringComparer.Ordinal));
}
