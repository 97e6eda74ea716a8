using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class StepVerdictsTests
{
    [Theory]
    [InlineData(JudgeOutcome.Pass, false, StepVerdict.Pass)]
    [InlineData(JudgeOutcome.Marginal, false, StepVerdict.Hold)]
    [InlineData(JudgeOutcome.Fail, false, StepVerdict.Fail)]
    [InlineData(JudgeOutcome.Fail, true, StepVerdict.Hold)]
    [InlineData(JudgeOutcome.Pass, true, StepVerdict.Hold)]
    public void A_judge_without_data_is_never_a_pass_nor_a_failure(JudgeOutcome outcome, bool noData, StepVerdict expected) =>
        Assert.Equal(expected, StepVerdicts.FromJudge(outcome, noData));

    [Theory]
    [InlineData(AnalysisPhase.Successful, StepVerdict.Pass)]
    [InlineData(AnalysisPhase.Failed, StepVerdict.Fail)]
    [InlineData(AnalysisPhase.Error, StepVerdict.Fail)]
    [InlineData(AnalysisPhase.Inconclusive, StepVerdict.Hold)]
    [InlineData(AnalysisPhase.Running, StepVerdict.Hold)]
    public void A_run_maps_to_a_verdict(AnalysisPhase phase, StepVerdict expected) =>
        Assert.Equal(expected, StepVerdicts.FromRun(phase));

    [Theory]
    [InlineData(new StepVerdict[0], StepVerdict.Pass)]
    [InlineData(new[] { StepVerdict.Pass, StepVerdict.Pass }, StepVerdict.Pass)]
    [InlineData(new[] { StepVerdict.Pass, StepVerdict.Hold }, StepVerdict.Hold)]
    [InlineData(new[] { StepVerdict.Hold, StepVerdict.Fail }, StepVerdict.Fail)]
    [InlineData(new[] { StepVerdict.Fail, StepVerdict.Pass }, StepVerdict.Fail)]
    public void The_combination_is_the_worst_part(StepVerdict[] parts, StepVerdict expected) =>
        Assert.Equal(expected, StepVerdicts.Combine(parts));
}
