using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Rollouts;

/// <summary>What a step's evidence says, ordered from best to worst: a combination is the worst of its parts.</summary>
public enum StepVerdict
{
    /// <summary>The step may go on.</summary>
    Pass = 0,

    /// <summary>Not a pass (marginal, inconclusive, no data): the rollout waits for a person.</summary>
    Hold = 1,

    /// <summary>The new version is worse: roll back.</summary>
    Fail = 2,
}

/// <summary>One combiner for a step's evidence (a canary judge, a threshold-metric run), over the Domain's own enums.</summary>
public static class StepVerdicts
{
    /// <summary>Pass → Pass, Marginal → Hold, Fail → Fail; no data on both sides is never a pass and never a failure: Hold.</summary>
    public static StepVerdict FromJudge(JudgeOutcome outcome, bool noData) => (outcome, noData) switch
    {
        (_, true) => StepVerdict.Hold,
        (JudgeOutcome.Pass, _) => StepVerdict.Pass,
        (JudgeOutcome.Marginal, _) => StepVerdict.Hold,
        _ => StepVerdict.Fail,
    };

    /// <summary>Successful → Pass; Failed or Error → Fail; Inconclusive or still Running at the end → Hold.</summary>
    public static StepVerdict FromRun(AnalysisPhase phase) => phase switch
    {
        AnalysisPhase.Successful => StepVerdict.Pass,
        AnalysisPhase.Failed or AnalysisPhase.Error => StepVerdict.Fail,
        _ => StepVerdict.Hold,
    };

    /// <summary>The worst verdict of the parts; Pass when there is none.</summary>
    public static StepVerdict Combine(IEnumerable<StepVerdict> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var worst = StepVerdict.Pass;
        foreach (var part in parts)
        {
            if (part > worst)
            {
                worst = part;
            }
        }

        return worst;
    }
}
