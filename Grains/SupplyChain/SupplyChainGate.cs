using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.SupplyChain;

/// <summary>
/// Refuses a release in an environment whose supply-chain policy it does not meet: no verified provenance where it
/// is required, no SBOM where one is required, or SBOM findings without a live waiver. Asked at submit (a 422 that
/// stores nothing) and at admission (so a waiver that expires while the rollout is queued aborts it with the reason).
/// </summary>
public sealed class SupplyChainGate(IGrainFactory grains, SupplyChainPolicies policies) : IRolloutGate
{
    private static readonly HashSet<GatePoint> AskedAt = [GatePoint.Submit, GatePoint.Admission];

    public string Name => "supply-chain";

    public IReadOnlySet<GatePoint> Points => AskedAt;

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        // An environment without a policy asks nothing of the release: no grain call.
        if (!policies.HasPolicy(context.Environment))
        {
            return GateDecision.Pass(Name);
        }

        var check = await grains.Ref<IReleaseEvidenceGrain>(context.Release.Id).Check(context.Environment);
        return check.Passed ? GateDecision.Pass(Name) : new GateDecision(GateVerdict.Refuse, Name, check.Reason);
    }
}
