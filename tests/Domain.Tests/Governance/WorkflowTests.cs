using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Governance;

public class WorkflowTests
{
    private static readonly GovernancePolicy Policy = GovernancePolicy.Default;

    /// <summary>The default workflow table (class × risk → gates and approvers), protected environment and not.</summary>
    [Theory]
    [InlineData(ReleaseClass.Standard, RiskLevel.Low, true, "change-record", "no approval (the pipeline alone)")]
    [InlineData(ReleaseClass.Standard, RiskLevel.Medium, true, "approval,change-record", "1 approval from group team")]
    [InlineData(ReleaseClass.Standard, RiskLevel.High, true, "approval,change-record", "1 approval from group cab")]
    [InlineData(ReleaseClass.Standard, RiskLevel.Critical, true, "approval,change-record", "2 approvals from groups cab or executive, including one from group executive")]
    [InlineData(ReleaseClass.Emergency, RiskLevel.Low, true, "approval,change-record", "1 approval from group cab")]
    [InlineData(ReleaseClass.Emergency, RiskLevel.Medium, true, "approval,change-record", "1 approval from group cab")]
    [InlineData(ReleaseClass.Emergency, RiskLevel.High, true, "approval,change-record", "1 approval from group cab")]
    [InlineData(ReleaseClass.Emergency, RiskLevel.Critical, true, "approval,change-record", "2 approvals from groups cab or executive, including one from group executive")]
    [InlineData(ReleaseClass.Major, RiskLevel.High, true, "approval,change-record,readiness-review,pir-clear", "1 approval from group cab")]
    [InlineData(ReleaseClass.Major, RiskLevel.Critical, true, "approval,change-record,readiness-review,pir-clear", "2 approvals from groups cab or executive, including one from group executive")]
    [InlineData(ReleaseClass.Standard, RiskLevel.Critical, false, "", "no approval (the pipeline alone)")]
    [InlineData(ReleaseClass.Emergency, RiskLevel.Medium, false, "", "no approval (the pipeline alone)")]
    [InlineData(ReleaseClass.Major, RiskLevel.High, false, "pir-clear", "no approval (the pipeline alone)")]
    public void Class_by_risk_gives_gates_and_approvers(ReleaseClass releaseClass, RiskLevel risk, bool protectedEnvironment, string gates, string approvers)
    {
        var required = Workflow.Required(Policy, releaseClass, risk, protectedEnvironment);
        Assert.Equal(gates, string.Join(",", required.Gates));
        Assert.Equal(approvers, required.Approval.Describe());
    }

    [Theory]
    [InlineData(ReleaseClass.Standard, StrategyKind.Rolling, ScopeKind.Full, null, null)]
    [InlineData(ReleaseClass.Major, StrategyKind.BlueGreen, ScopeKind.Waves, null, null)]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Canary, ScopeKind.Full, 10, null)]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Canary, ScopeKind.Full, 5, null)]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Canary, ScopeKind.Full, 25, "a emergency release's canary must start at 10% of traffic or less; the first step is 25%")]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Canary, ScopeKind.Full, null, "a emergency release's canary must start at 10% of traffic or less; the first step is 100%")]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Rolling, ScopeKind.Full, null, "a emergency release may not use the rolling strategy; allowed: canary, or any strategy with a pilot scope")]
    [InlineData(ReleaseClass.Emergency, StrategyKind.Rolling, ScopeKind.Pilot, null, null)]
    public void Class_allows_strategies_and_scopes(ReleaseClass releaseClass, StrategyKind kind, ScopeKind scope, int? firstWeight, string? refusal)
    {
        Assert.Equal(refusal, Workflow.CheckStrategy(Policy, releaseClass, kind, scope, firstWeight));
    }

    [Fact]
    public void A_class_may_restrict_scopes()
    {
        var policy = Policy with
        {
            Classes = new Dictionary<ReleaseClass, ClassWorkflow>
            {
                [ReleaseClass.Emergency] = GovernancePolicy.DefaultEmergency with { AllowedScopes = new HashSet<ScopeKind> { ScopeKind.Pilot } },
            },
        };
        Assert.Equal("a emergency release may not use the full scope; allowed: pilot",
            Workflow.CheckStrategy(policy, ReleaseClass.Emergency, StrategyKind.Canary, ScopeKind.Full, 5));
        Assert.Null(Workflow.CheckStrategy(policy, ReleaseClass.Emergency, StrategyKind.Rolling, ScopeKind.Pilot, null));
    }

    [Theory]
    [InlineData("", false, "operations,security,business")]
    [InlineData("security", false, "operations,business")]
    [InlineData("operations,SECURITY,business", true, "")]
    [InlineData("operations,security,business,extra", true, "")]
    public void Readiness_checklist(string signed, bool complete, string missing)
    {
        var signOffs = signed.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(i => new ReadinessSignOff(i, "signer-of-" + i.ToLowerInvariant(), DateTimeOffset.UnixEpoch, null)).ToList();
        var evaluation = ReadinessChecklist.Evaluate(GovernancePolicy.DefaultReadinessItems, signOffs);
        Assert.Equal(complete, evaluation.Complete);
        Assert.Equal(missing, string.Join(",", evaluation.Missing));
    }
}
