using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Strategies;

public class StrategySpecParserTests
{
    private static readonly Dictionary<string, string> Eu = new() { ["region"] = "eu-west" };

    private static CanaryStepInput Weight(int w) => new() { SetWeight = w };

    private static CanaryStepInput Pause(int? seconds) => new() { Pause = new PauseInput { DurationSeconds = seconds } };

    private static CanaryStepInput Analysis(int? seconds) => new() { Analysis = new AnalysisInput { DurationSeconds = seconds } };

    private static StrategySpec Valid(StrategyInput input)
    {
        var parsed = StrategySpecParser.Parse(input);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.SelectMany(e => e.Value.Select(m => e.Key + ": " + m))));
        return parsed.Value!;
    }

    private static void Refused(StrategyInput input, string field)
    {
        var parsed = StrategySpecParser.Parse(input);
        Assert.False(parsed.IsValid);
        Assert.Contains(field, parsed.Errors.Keys);
    }

    [Fact]
    public void Nothing_declared_is_a_rolling_strategy_with_every_default()
    {
        var spec = Valid(new StrategyInput());

        Assert.Equal(StrategyKind.Rolling, spec.Kind);
        Assert.Equal(RollingSpec.Default, spec.Rolling);
        Assert.Empty(spec.Steps);
        Assert.Null(spec.BlueGreen);
        Assert.Equal(ScopeKind.Full, spec.Scope.Kind);
        Assert.Equal(TimeSpan.Zero, spec.Scope.Bake);
        Assert.Equal(WaveFailurePolicy.RollBackAll, spec.Scope.OnFailure);
        Assert.Empty(spec.Triggers);
        Assert.Equal(new DeadlineSpec(TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(86_400), DeadlineAction.Abort), spec.Deadlines);
        Assert.Equal(ConflictPolicy.Queue, spec.OnConflict);
    }

    [Theory]
    [InlineData("rolling", StrategyKind.Rolling)]
    [InlineData("ROLLING", StrategyKind.Rolling)]
    [InlineData("canary", StrategyKind.Canary)]
    [InlineData("blueGreen", StrategyKind.BlueGreen)]
    [InlineData("bluegreen", StrategyKind.BlueGreen)]
    [InlineData("Immutable", StrategyKind.Immutable)]
    public void Types_are_case_insensitive(string type, StrategyKind expected)
    {
        var steps = expected == StrategyKind.Canary ? new[] { Weight(10) } : null;
        Assert.Equal(expected, Valid(new StrategyInput { Type = type, Steps = steps }).Kind);
    }

    [Fact]
    public void Blue_green_defaults_its_slot_label_and_scale_down_delay()
    {
        var spec = Valid(new StrategyInput { Type = "blueGreen" });
        Assert.Equal(new BlueGreenSpec("slot", null, null, TimeSpan.FromSeconds(300)), spec.BlueGreen);
    }

    [Fact]
    public void Parses_a_full_canary_with_waves_triggers_deadlines_and_conflict_policy()
    {
        var spec = Valid(new StrategyInput
        {
            Type = "canary",
            Rolling = new RollingInput { MaxSurge = "0", MaxUnavailable = "1" },
            Steps = [Weight(10), Pause(null), Weight(10), Analysis(300), Weight(50), Pause(60)],
            Scope = new ScopeInput { Type = "waves", Waves = [Eu, new Dictionary<string, string> { ["region"] = "us-east" }], BakeSeconds = 900, OnFailure = "wave", Pilot = new Dictionary<string, string> { ["pilot"] = "true" } },
            RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = 5 }, new TriggerInput { Metric = "P99LATENCYMS", Threshold = 0 }],
            Deadlines = new DeadlinesInput { ProgressSeconds = 120, OnExpiry = "pause" },
            OnConflict = "Supersede",
        });

        Assert.Equal(new CanaryStep[]
        {
            new SetWeightStep(10), new PauseStep(null), new SetWeightStep(10), new AnalysisStep(TimeSpan.FromMinutes(5)),
            new SetWeightStep(50), new PauseStep(TimeSpan.FromMinutes(1)),
        }, spec.Steps);
        Assert.Equal(IntOrPercent.Count(0), spec.Rolling.MaxSurge);
        Assert.Equal(ScopeKind.Waves, spec.Scope.Kind);
        Assert.Equal(2, spec.Scope.Waves.Count);
        Assert.Equal("eu-west", spec.Scope.Waves[0]["region"]);
        Assert.Equal("true", spec.Scope.Pilot!["pilot"]);
        Assert.Equal(TimeSpan.FromMinutes(15), spec.Scope.Bake);
        Assert.Equal(WaveFailurePolicy.RollBackWave, spec.Scope.OnFailure);
        Assert.Equal(new[] { new RollbackTrigger(TriggerMetric.ErrorRatePercent, 5), new RollbackTrigger(TriggerMetric.P99LatencyMs, 0) }, spec.Triggers);
        Assert.Equal(new DeadlineSpec(TimeSpan.FromMinutes(2), TimeSpan.FromHours(1), TimeSpan.FromDays(1), DeadlineAction.Pause), spec.Deadlines);
        Assert.Equal(ConflictPolicy.Supersede, spec.OnConflict);
    }

    [Fact]
    public void Rolling_fields_keep_the_flat_prefix_the_rolling_api_always_used()
    {
        Refused(new StrategyInput { Rolling = new RollingInput { MaxSurge = "abc" } }, "strategy.maxSurge");
        Refused(new StrategyInput { Rolling = new RollingInput { MinimumHealthyType = "HOST_COUNT" } }, "strategy.minimumHealthyHosts.value");
    }

    public static TheoryData<string, StrategyInput, string> Refusals => new()
    {
        { "unknown type", new StrategyInput { Type = "linear" }, "strategy.type" },
        { "unknown scope type", new StrategyInput { Scope = new ScopeInput { Type = "regions" } }, "strategy.scope.type" },
        { "unknown onFailure", new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Eu], OnFailure = "some" } }, "strategy.scope.onFailure" },
        { "unknown onExpiry", new StrategyInput { Deadlines = new DeadlinesInput { OnExpiry = "retry" } }, "strategy.deadlines.onExpiry" },
        { "unknown onConflict", new StrategyInput { OnConflict = "merge" }, "strategy.onConflict" },
        { "unknown metric", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "cpu", Threshold = 1 }] }, "strategy.rollbackTriggers[0].metric" },
        { "missing metric", new StrategyInput { RollbackTriggers = [new TriggerInput { Threshold = 1 }] }, "strategy.rollbackTriggers[0].metric" },
        { "canary without steps", new StrategyInput { Type = "canary" }, "strategy.steps" },
        { "canary with an empty step list", new StrategyInput { Type = "canary", Steps = [] }, "strategy.steps" },
        { "step declaring nothing", new StrategyInput { Type = "canary", Steps = [Weight(10), new CanaryStepInput()] }, "strategy.steps[1]" },
        { "step declaring two things", new StrategyInput { Type = "canary", Steps = [new CanaryStepInput { SetWeight = 10, Pause = new PauseInput() }] }, "strategy.steps[0]" },
        { "weight 0", new StrategyInput { Type = "canary", Steps = [Weight(0)] }, "strategy.steps[0].setWeight" },
        { "weight 101", new StrategyInput { Type = "canary", Steps = [Weight(101)] }, "strategy.steps[0].setWeight" },
        { "weight going down", new StrategyInput { Type = "canary", Steps = [Weight(10), Pause(null), Weight(50), Weight(20)] }, "strategy.steps[3].setWeight" },
        { "pause of 0 seconds", new StrategyInput { Type = "canary", Steps = [Pause(0)] }, "strategy.steps[0].pause.durationSeconds" },
        { "pause over 7 days", new StrategyInput { Type = "canary", Steps = [Pause(7 * 86_400 + 1)] }, "strategy.steps[0].pause.durationSeconds" },
        { "analysis without a duration", new StrategyInput { Type = "canary", Steps = [Analysis(null)] }, "strategy.steps[0].analysis.durationSeconds" },
        { "negative analysis", new StrategyInput { Type = "canary", Steps = [Weight(5), Analysis(-1)] }, "strategy.steps[1].analysis.durationSeconds" },
        { "steps for rolling", new StrategyInput { Steps = [Weight(10)] }, "strategy.steps" },
        { "steps for blue-green", new StrategyInput { Type = "blueGreen", Steps = [Weight(10)] }, "strategy.steps" },
        { "blueGreen fields for canary", new StrategyInput { Type = "canary", Steps = [Weight(10)], BlueGreen = new BlueGreenInput() }, "strategy.blueGreen" },
        { "blueGreen fields for immutable", new StrategyInput { Type = "immutable", BlueGreen = new BlueGreenInput { SlotLabel = "color" } }, "strategy.blueGreen" },
        { "malformed slot label", new StrategyInput { Type = "blueGreen", BlueGreen = new BlueGreenInput { SlotLabel = "a slot" } }, "strategy.blueGreen.slotLabel" },
        { "zero pre-promotion analysis", new StrategyInput { Type = "blueGreen", BlueGreen = new BlueGreenInput { PrePromotionAnalysisSeconds = 0 } }, "strategy.blueGreen.prePromotionAnalysisSeconds" },
        { "auto-promote over 7 days", new StrategyInput { Type = "blueGreen", BlueGreen = new BlueGreenInput { AutoPromoteAfterSeconds = 604_801 } }, "strategy.blueGreen.autoPromoteAfterSeconds" },
        { "zero scale-down delay", new StrategyInput { Type = "blueGreen", BlueGreen = new BlueGreenInput { ScaleDownDelaySeconds = 0 } }, "strategy.blueGreen.scaleDownDelaySeconds" },
        { "waves without waves", new StrategyInput { Scope = new ScopeInput { Type = "waves" } }, "strategy.scope.waves" },
        { "waves with an empty list", new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [] } }, "strategy.scope.waves" },
        { "an empty wave selector", new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Eu, new Dictionary<string, string>()] } }, "strategy.scope.waves[1]" },
        { "a malformed wave label", new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [new Dictionary<string, string> { ["re gion"] = "x" }] } }, "strategy.scope.waves[0]" },
        { "pilot without a selector", new StrategyInput { Scope = new ScopeInput { Type = "pilot" } }, "strategy.scope.pilot" },
        { "pilot with an empty selector", new StrategyInput { Scope = new ScopeInput { Type = "pilot", Pilot = new Dictionary<string, string>() } }, "strategy.scope.pilot" },
        { "waves under pilot type", new StrategyInput { Scope = new ScopeInput { Type = "pilot", Pilot = Eu, Waves = [Eu] } }, "strategy.scope.waves" },
        { "waves under full type", new StrategyInput { Scope = new ScopeInput { Waves = [Eu] } }, "strategy.scope.waves" },
        { "pilot under full type", new StrategyInput { Scope = new ScopeInput { Type = "full", Pilot = Eu } }, "strategy.scope.pilot" },
        { "bake with full scope", new StrategyInput { Scope = new ScopeInput { BakeSeconds = 60 } }, "strategy.scope.bakeSeconds" },
        { "negative bake", new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Eu], BakeSeconds = -1 } }, "strategy.scope.bakeSeconds" },
        { "blue-green in waves", new StrategyInput { Type = "blueGreen", Scope = new ScopeInput { Type = "waves", Waves = [Eu] } }, "strategy.scope.type" },
        { "blue-green with a pilot", new StrategyInput { Type = "blueGreen", Scope = new ScopeInput { Type = "pilot", Pilot = Eu } }, "strategy.scope.type" },
        { "immutable in waves", new StrategyInput { Type = "immutable", Scope = new ScopeInput { Type = "waves", Waves = [Eu] } }, "strategy.scope.type" },
        { "immutable with a pilot", new StrategyInput { Type = "immutable", Scope = new ScopeInput { Type = "pilot", Pilot = Eu } }, "strategy.scope.type" },
        { "negative threshold", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = -0.1 }] }, "strategy.rollbackTriggers[0].threshold" },
        { "missing threshold", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "p99LatencyMs" }] }, "strategy.rollbackTriggers[0].threshold" },
        { "NaN threshold", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "p99LatencyMs", Threshold = double.NaN }] }, "strategy.rollbackTriggers[0].threshold" },
        { "window of 0 readings", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = 1, WindowSamples = 0 }] }, "strategy.rollbackTriggers[0].windowSamples" },
        { "0 hosts", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = 1, MinHosts = 0 }] }, "strategy.rollbackTriggers[0].minHosts" },
        { "0 readings", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = 1, MinSamples = 0 }] }, "strategy.rollbackTriggers[0].minSamples" },
        { "duplicate metric", new StrategyInput { RollbackTriggers = [new TriggerInput { Metric = "errorRatePercent", Threshold = 1 }, new TriggerInput { Metric = "ErrorRatePercent", Threshold = 2 }] }, "strategy.rollbackTriggers[1].metric" },
        { "zero progress deadline", new StrategyInput { Deadlines = new DeadlinesInput { ProgressSeconds = 0 } }, "strategy.deadlines.progressSeconds" },
        { "analysis deadline over 7 days", new StrategyInput { Deadlines = new DeadlinesInput { AnalysisSeconds = 604_801 } }, "strategy.deadlines.analysisSeconds" },
        { "negative approval deadline", new StrategyInput { Deadlines = new DeadlinesInput { ApprovalSeconds = -5 } }, "strategy.deadlines.approvalSeconds" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refuses_and_names_the_field(string why, StrategyInput input, string field)
    {
        Assert.False(string.IsNullOrEmpty(why));
        Refused(input, field);
    }

    [Theory]
    [InlineData(new[] { 10, 10, 20 })]
    [InlineData(new[] { 1, 100 })]
    [InlineData(new[] { 100 })]
    public void Equal_or_rising_weights_are_accepted(int[] weights)
    {
        var spec = Valid(new StrategyInput { Type = "canary", Steps = weights.Select(Weight).ToList() });
        Assert.Equal(weights, spec.Steps.Cast<SetWeightStep>().Select(s => s.Percent));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(604_800)]
    public void Durations_run_from_one_second_to_seven_days(int seconds)
    {
        var spec = Valid(new StrategyInput { Type = "canary", Steps = [Pause(seconds)] });
        Assert.Equal(new PauseStep(TimeSpan.FromSeconds(seconds)), spec.Steps[0]);
    }

    [Fact]
    public void A_zero_bake_means_none()
    {
        var spec = Valid(new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Eu], BakeSeconds = 0 } });
        Assert.Equal(TimeSpan.Zero, spec.Scope.Bake);
    }

    [Fact]
    public void A_pilot_scope_keeps_its_selector()
    {
        var spec = Valid(new StrategyInput { Scope = new ScopeInput { Type = "pilot", Pilot = Eu } });
        Assert.Equal(ScopeKind.Pilot, spec.Scope.Kind);
        Assert.Empty(spec.Scope.Waves);
        Assert.Equal("eu-west", spec.Scope.Pilot!["region"]);
    }

    [Fact]
    public void Every_offending_field_is_named_at_once_with_the_callers_prefix()
    {
        var parsed = StrategySpecParser.Parse(new StrategyInput
        {
            Type = "canary",
            Steps = [Weight(0), Pause(0)],
            OnConflict = "merge",
        }, "body.strategy.");

        Assert.Equal(
            new[] { "body.strategy.onConflict", "body.strategy.steps[0].setWeight", "body.strategy.steps[1].pause.durationSeconds" },
            parsed.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_trigger_window_takes_its_declared_fields_and_defaults_the_rest()
    {
        var spec = Valid(new StrategyInput
        {
            RollbackTriggers =
            [
                new TriggerInput { Metric = "errorRatePercent", Threshold = 5, MinHosts = 2 },
                new TriggerInput { Metric = "p99LatencyMs", Threshold = 300 },
            ],
        });

        Assert.Equal(new TriggerWindow(5, 2, 2), spec.Triggers[0].EffectiveWindow);
        Assert.Null(spec.Triggers[1].Window);
        Assert.Equal(TriggerWindow.Default, spec.Triggers[1].EffectiveWindow);
    }
}
