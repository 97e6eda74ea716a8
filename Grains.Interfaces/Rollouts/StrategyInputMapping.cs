using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>The declared strategy (wire shape) as the Domain parser's input; the API and the rollout validate the same way.</summary>
public static class StrategyInputMapping
{
    public static StrategyInput ToInput(this RolloutStrategySpec s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new StrategyInput
        {
            Type = s.Type,
            Rolling = new RollingInput
            {
                MaxSurge = s.MaxSurge,
                MaxUnavailable = s.MaxUnavailable,
                MinimumHealthyType = s.MinimumHealthyHosts?.Type,
                MinimumHealthyValue = s.MinimumHealthyHosts?.Value,
                Preset = s.Preset,
                MaxFailures = s.MaxFailures,
            },
            Steps = s.Steps?.Select(step => step is null
                ? new CanaryStepInput()
                : new CanaryStepInput
                {
                    SetWeight = step.SetWeight,
                    Pause = step.Pause is null ? null : new PauseInput { DurationSeconds = step.Pause.DurationSeconds },
                    Analysis = step.Analysis is null ? null : new AnalysisInput { DurationSeconds = step.Analysis.DurationSeconds },
                }).ToList(),
            BlueGreen = s.BlueGreen is null ? null : new BlueGreenInput
            {
                SlotLabel = s.BlueGreen.SlotLabel,
                PrePromotionAnalysisSeconds = s.BlueGreen.PrePromotionAnalysisSeconds,
                AutoPromoteAfterSeconds = s.BlueGreen.AutoPromoteAfterSeconds,
                ScaleDownDelaySeconds = s.BlueGreen.ScaleDownDelaySeconds,
            },
            Scope = s.Scope is null ? null : new ScopeInput
            {
                Type = s.Scope.Type,
                Waves = s.Scope.Waves,
                BakeSeconds = s.Scope.BakeSeconds,
                OnFailure = s.Scope.OnFailure,
                Pilot = s.Scope.Pilot,
            },
            RollbackTriggers = s.RollbackTriggers?.Select(t => new TriggerInput
            {
                Metric = t?.Metric,
                Threshold = t?.Threshold,
                WindowSamples = t?.WindowSamples,
                MinSamples = t?.MinSamples,
                MinHosts = t?.MinHosts,
            }).ToList(),
            Deadlines = new DeadlinesInput
            {
                ProgressSeconds = s.Deadlines?.ProgressSeconds ?? s.ProgressDeadlineSeconds,
                AnalysisSeconds = s.Deadlines?.AnalysisSeconds,
                ApprovalSeconds = s.Deadlines?.ApprovalSeconds,
                RollbackSeconds = s.Deadlines?.RollbackSeconds,
                OnExpiry = s.Deadlines?.OnExpiry,
            },
            OnConflict = s.OnConflict,
        };
    }
}
