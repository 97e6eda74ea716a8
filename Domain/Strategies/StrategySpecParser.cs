using System.Globalization;
using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Strategies;

/// <summary>
/// Turns a declared <see cref="StrategyInput"/> into a <see cref="StrategySpec"/>, naming every offending field by the
/// JSON path the caller sent (<c>strategy.steps[2].setWeight</c>, <c>strategy.scope.waves[1]</c>).
/// Rules, each with its reason:
/// <list type="bullet">
/// <item>Closed sets (type, scope type, onFailure, metric, onExpiry, onConflict) are matched case-insensitively; anything else is refused.</item>
/// <item>A canary needs at least one step; each step declares exactly one of setWeight, pause, analysis; weights are 1–100
/// and never go down (a canary only ever widens; equal weights are allowed).</item>
/// <item>Durations are 1 second to 7 days; <c>bakeSeconds</c> may also be 0 (no bake, the default).</item>
/// <item>Fields of another strategy are refused rather than ignored, so a typo in <c>type</c> cannot silently drop a canary.</item>
/// <item>Blue-green and immutable replace the environment as a whole, so they take the full scope only.</item>
/// <item>A trigger needs a known metric and a threshold of 0 or more; a metric is declared once.</item>
/// </list>
/// Rolling fields are parsed by <see cref="RollingSpecParser"/> with the same prefix (<c>strategy.maxSurge</c>), as the
/// rolling-only API always has.
/// </summary>
public static class StrategySpecParser
{
    public const int MaxDurationSeconds = 7 * 24 * 3600;
    public const int MaxSteps = 100;
    public const int MaxWaves = 100;

    public static Validated<StrategySpec> Parse(StrategyInput input, string fieldPrefix = "strategy.")
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(fieldPrefix);
        var errors = new ValidationErrors();
        var p = fieldPrefix;

        var kind = ParseKind(input.Type, p, errors);
        var rolling = ParseRolling(input.Rolling, p, errors);
        if (kind is { } k && rolling is not null) CheckSurgeFields(k, rolling, p, errors);
        var steps = ParseSteps(kind, input.Steps, p, errors);
        var blueGreen = ParseBlueGreen(kind, input.BlueGreen, p, errors);
        var scope = ParseScope(kind, input.Scope, p + "scope.", errors);
        var triggers = ParseTriggers(input.RollbackTriggers, p + "rollbackTriggers", errors);
        var deadlines = ParseDeadlines(input.Deadlines, p + "deadlines.", errors);
        var onConflict = OneOf(input.OnConflict, p + "onConflict", errors, ConflictPolicy.Queue,
            ("queue", ConflictPolicy.Queue), ("supersede", ConflictPolicy.Supersede));

        if (errors.Any || kind is null || rolling is null || scope is null)
        {
            return Validated<StrategySpec>.Invalid(errors);
        }

        return Validated<StrategySpec>.Valid(
            new StrategySpec(kind.Value, rolling, steps, blueGreen, scope, triggers, deadlines, onConflict));
    }

    private static StrategyKind? ParseKind(string? type, string p, ValidationErrors errors)
    {
        if (type is null) return StrategyKind.Rolling;
        StrategyKind? kind = type.ToUpperInvariant() switch
        {
            "ROLLING" => StrategyKind.Rolling,
            "CANARY" => StrategyKind.Canary,
            "BLUEGREEN" => StrategyKind.BlueGreen,
            "IMMUTABLE" => StrategyKind.Immutable,
            _ => null,
        };
        if (kind is null) errors.Add(p + "type", "must be one of rolling, canary, blueGreen, immutable");
        return kind;
    }

    /// <summary>
    /// maxSurge and maxUnavailable as declared, against what the strategy can honour. Surge-capable (immutable): both 0
    /// is refused, as Kubernetes' validation refuses it ("may not be 0 when `maxSurge` is 0",
    /// pkg/apis/apps/validation/validation.go <c>ValidateRollingUpdateDeployment</c>). In place (rolling, canary): a
    /// declared maxUnavailable of 0 is refused, since each host is out of service while it updates and no host is
    /// added (Kubernetes would surge a pod instead). Blue-green updates an idle slot that serves nothing: no rule here.
    /// </summary>
    private static void CheckSurgeFields(StrategyKind kind, RollingSpec rolling, string p, ValidationErrors errors)
    {
        var unavailableZero = rolling.MaxUnavailable is { Value: 0 };
        switch (kind)
        {
            case StrategyKind.Immutable when unavailableZero && rolling.MaxSurge is { Value: 0 }:
                errors.Add(p + "maxUnavailable", "may not be 0 when maxSurge is 0: no host could be added or taken out of service (as Kubernetes refuses it)");
                break;
            case StrategyKind.Rolling or StrategyKind.Canary when unavailableZero:
                errors.Add(p + "maxUnavailable", "cannot be 0 for an in-place update: each host is out of service while it updates and no host is added, "
                    + "so no host could ever be updated; set maxUnavailable to 1 or more, or use type immutable, which adds new hosts first (maxSurge)");
                break;
        }
    }

    private static RollingSpec? ParseRolling(RollingInput? r, string p, ValidationErrors errors)
    {
        if (r is null) return RollingSpec.Default;
        var parsed = RollingSpecParser.Parse(r.MaxSurge, r.MaxUnavailable, r.MinimumHealthyType, r.MinimumHealthyValue,
            r.Preset, r.MaxFailures, p);
        foreach (var (field, messages) in parsed.Errors)
        {
            foreach (var message in messages) errors.Add(field, message);
        }

        return parsed.Value;
    }

    private static List<CanaryStep> ParseSteps(StrategyKind? kind, IReadOnlyList<CanaryStepInput>? steps, string p, ValidationErrors errors)
    {
        var field = p + "steps";
        if (kind != StrategyKind.Canary)
        {
            if (steps is not null && kind is not null) errors.Add(field, $"steps apply to a canary only, not to {StrategyNames.Of(kind.Value)}");
            return [];
        }

        if (steps is null || steps.Count == 0)
        {
            errors.Add(field, "a canary needs at least one step");
            return [];
        }

        if (steps.Count > MaxSteps)
        {
            errors.Add(field, $"at most {MaxSteps} steps");
            return [];
        }

        var parsed = new List<CanaryStep>(steps.Count);
        var lastWeight = 0;
        for (var i = 0; i < steps.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]");
            var step = steps[i];
            var declared = step is null ? 0 : (step.SetWeight is null ? 0 : 1) + (step.Pause is null ? 0 : 1) + (step.Analysis is null ? 0 : 1);
            if (declared != 1)
            {
                errors.Add(at, "declare exactly one of setWeight, pause, analysis");
                continue;
            }

            if (step!.SetWeight is { } weight)
            {
                if (weight is < 1 or > 100)
                {
                    errors.Add(at + ".setWeight", "must be a percentage from 1 to 100");
                }
                else if (weight < lastWeight)
                {
                    errors.Add(at + ".setWeight", $"{weight}% is below the previous step's {lastWeight}%: a canary's weight never goes down");
                }
                else
                {
                    lastWeight = weight;
                    parsed.Add(new SetWeightStep(weight));
                }
            }
            else if (step.Pause is { } pause)
            {
                var duration = pause.DurationSeconds is null ? null : Duration(pause.DurationSeconds, at + ".pause.durationSeconds", errors);
                parsed.Add(new PauseStep(duration));
            }
            else
            {
                var seconds = step.Analysis!.DurationSeconds;
                if (seconds is null) errors.Add(at + ".analysis.durationSeconds", "is required");
                else if (Duration(seconds, at + ".analysis.durationSeconds", errors) is { } duration) parsed.Add(new AnalysisStep(duration));
            }
        }

        return parsed;
    }

    private static BlueGreenSpec? ParseBlueGreen(StrategyKind? kind, BlueGreenInput? input, string p, ValidationErrors errors)
    {
        var field = p + "blueGreen";
        if (kind != StrategyKind.BlueGreen)
        {
            if (input is not null && kind is not null) errors.Add(field, $"blueGreen applies to type blueGreen only, not to {StrategyNames.Of(kind.Value)}");
            return null;
        }

        input ??= new BlueGreenInput();
        var label = input.SlotLabel ?? BlueGreenSpec.DefaultSlotLabel;
        if (!Names.IsLabel(label, ""))
        {
            errors.Add(field + ".slotLabel", "must be a label key: letters, digits, '.', '-', '_', 1–63 characters");
        }

        var analysis = Duration(input.PrePromotionAnalysisSeconds, field + ".prePromotionAnalysisSeconds", errors);
        var autoPromote = Duration(input.AutoPromoteAfterSeconds, field + ".autoPromoteAfterSeconds", errors);
        var scaleDown = Duration(input.ScaleDownDelaySeconds, field + ".scaleDownDelaySeconds", errors) ?? BlueGreenSpec.DefaultScaleDownDelay;
        return new BlueGreenSpec(label, analysis, autoPromote, scaleDown);
    }

    private static ScopeSpec? ParseScope(StrategyKind? kind, ScopeInput? input, string p, ValidationErrors errors)
    {
        if (input is null) return ScopeSpec.Full;

        ScopeKind? scopeKind = input.Type?.ToUpperInvariant() switch
        {
            null or "FULL" => ScopeKind.Full,
            "WAVES" => ScopeKind.Waves,
            "PILOT" => ScopeKind.Pilot,
            _ => null,
        };
        if (scopeKind is null) errors.Add(p + "type", "must be one of full, waves, pilot");
        var onFailure = OneOf(input.OnFailure, p + "onFailure", errors, WaveFailurePolicy.RollBackAll,
            ("all", WaveFailurePolicy.RollBackAll), ("wave", WaveFailurePolicy.RollBackWave));
        var bake = input.BakeSeconds is 0 ? TimeSpan.Zero : Duration(input.BakeSeconds, p + "bakeSeconds", errors) ?? TimeSpan.Zero;
        if (scopeKind is null) return null;

        if (scopeKind != ScopeKind.Full && kind is StrategyKind.BlueGreen or StrategyKind.Immutable)
        {
            errors.Add(p + "type", kind == StrategyKind.BlueGreen
                ? "blue-green switches the environment's slot as a whole; regional waves and pilot groups are not supported"
                : "immutable replaces the environment's hosts as a whole; regional waves and pilot groups are not supported");
        }

        if (scopeKind == ScopeKind.Full)
        {
            if (input.Waves is not null) errors.Add(p + "waves", "waves apply to scope type waves only");
            if (input.Pilot is not null) errors.Add(p + "pilot", "a pilot group applies to scope type pilot or waves only");
            if (input.BakeSeconds is > 0) errors.Add(p + "bakeSeconds", "a bake waits between stages; the full scope has one stage");
            if (input.OnFailure is not null) errors.Add(p + "onFailure", "applies to waves or pilot scopes only");
        }

        IReadOnlyList<IReadOnlyDictionary<string, string>> waves = [];
        if (scopeKind == ScopeKind.Waves)
        {
            waves = ParseWaves(input.Waves, p + "waves", errors);
        }
        else if (scopeKind == ScopeKind.Pilot && input.Waves is not null)
        {
            errors.Add(p + "waves", "waves apply to scope type waves only (a waves scope may also name a pilot group)");
        }

        IReadOnlyDictionary<string, string>? pilot = null;
        if (input.Pilot is not null && scopeKind != ScopeKind.Full)
        {
            pilot = Selector(input.Pilot, p + "pilot", errors);
        }
        else if (scopeKind == ScopeKind.Pilot)
        {
            errors.Add(p + "pilot", "is required for scope type pilot");
        }

        return new ScopeSpec(scopeKind.Value, waves, pilot, bake, onFailure);
    }

    private static List<IReadOnlyDictionary<string, string>> ParseWaves(
        IReadOnlyList<IReadOnlyDictionary<string, string>>? waves, string field, ValidationErrors errors)
    {
        if (waves is null || waves.Count == 0)
        {
            errors.Add(field, "scope type waves needs at least one wave selector");
            return [];
        }

        if (waves.Count > MaxWaves)
        {
            errors.Add(field, $"at most {MaxWaves} waves");
            return [];
        }

        var parsed = new List<IReadOnlyDictionary<string, string>>(waves.Count);
        for (var i = 0; i < waves.Count; i++)
        {
            if (Selector(waves[i], string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]"), errors) is { } selector) parsed.Add(selector);
        }

        return parsed;
    }

    /// <summary>A selector must name at least one label (an empty one would match every host) and only well-formed labels.</summary>
    private static Dictionary<string, string>? Selector(IReadOnlyDictionary<string, string>? selector, string field, ValidationErrors errors)
    {
        if (selector is null || selector.Count == 0)
        {
            errors.Add(field, "must name at least one label; an empty selector would match every host");
            return null;
        }

        if (selector.Any(kv => !Names.IsLabel(kv.Key, kv.Value)))
        {
            errors.Add(field, "label keys and values must be letters, digits, '.', '-', '_', at most 63 characters");
            return null;
        }

        return new Dictionary<string, string>(selector, StringComparer.Ordinal);
    }

    /// <summary>The trigger's evidence window; null (the default window) when none of its fields is declared.</summary>
    private static TriggerWindow? ParseWindow(TriggerInput trigger, string at, ValidationErrors errors)
    {
        if (trigger.WindowSamples is null && trigger.MinSamples is null && trigger.MinHosts is null) return null;
        var d = TriggerWindow.Default;
        var window = new TriggerWindow(trigger.WindowSamples ?? d.Samples, trigger.MinSamples ?? d.MinSamples, trigger.MinHosts ?? d.MinHosts);
        var ok = true;
        if (window.Samples is < 1 or > TriggerWindow.MaxSamples) Fail(".windowSamples", $"must be from 1 to {TriggerWindow.MaxSamples} readings per host");
        if (window.MinHosts is < 1 or > 10_000) Fail(".minHosts", "must be from 1 to 10000 hosts");
        if (window.MinSamples is < 1 or > 100_000) Fail(".minSamples", "must be from 1 to 100000 readings");
        return ok ? window : null;

        void Fail(string field, string message)
        {
            errors.Add(at + field, message);
            ok = false;
        }
    }

    private static List<RollbackTrigger> ParseTriggers(IReadOnlyList<TriggerInput>? triggers, string field, ValidationErrors errors)
    {
        if (triggers is null) return [];
        var parsed = new List<RollbackTrigger>(triggers.Count);
        for (var i = 0; i < triggers.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]");
            var trigger = triggers[i];
            if (trigger is null)
            {
                errors.Add(at, "declare a metric and a threshold");
                continue;
            }

            TriggerMetric? metric = trigger.Metric?.ToUpperInvariant() switch
            {
                "ERRORRATEPERCENT" => TriggerMetric.ErrorRatePercent,
                "P99LATENCYMS" => TriggerMetric.P99LatencyMs,
                "FAILEDHEALTHCHECKS" => TriggerMetric.FailedHealthChecks,
                _ => null,
            };
            if (trigger.Metric is null) errors.Add(at + ".metric", "is required");
            else if (metric is null) errors.Add(at + ".metric", "must be one of errorRatePercent, p99LatencyMs, failedHealthChecks");
            else if (parsed.Any(t => t.Metric == metric)) errors.Add(at + ".metric", $"{StrategyNames.Of(metric.Value)} is already declared");

            if (trigger.Threshold is not { } threshold) errors.Add(at + ".threshold", "is required");
            else if (!double.IsFinite(threshold) || threshold < 0) errors.Add(at + ".threshold", "must be a number of 0 or more");
            else if (metric is not null && !parsed.Any(t => t.Metric == metric)) parsed.Add(new RollbackTrigger(metric.Value, threshold, ParseWindow(trigger, at, errors)));
        }

        return parsed;
    }

    private static DeadlineSpec ParseDeadlines(DeadlinesInput? input, string p, ValidationErrors errors)
    {
        if (input is null) return DeadlineSpec.Default;
        var d = DeadlineSpec.Default;
        return new DeadlineSpec(
            Duration(input.ProgressSeconds, p + "progressSeconds", errors) ?? d.Progress,
            Duration(input.AnalysisSeconds, p + "analysisSeconds", errors) ?? d.Analysis,
            Duration(input.ApprovalSeconds, p + "approvalSeconds", errors) ?? d.Approval,
            OneOf(input.OnExpiry, p + "onExpiry", errors, DeadlineAction.Abort, ("abort", DeadlineAction.Abort), ("pause", DeadlineAction.Pause)),
            Duration(input.RollbackSeconds, p + "rollbackSeconds", errors));
    }

    /// <summary>Null stays null (the caller's default applies); otherwise 1 second to 7 days.</summary>
    private static TimeSpan? Duration(int? seconds, string field, ValidationErrors errors)
    {
        if (seconds is null) return null;
        if (seconds is < 1 or > MaxDurationSeconds)
        {
            errors.Add(field, $"must be from 1 to {MaxDurationSeconds} seconds (7 days)");
            return null;
        }

        return TimeSpan.FromSeconds(seconds.Value);
    }

    private static T OneOf<T>(string? text, string field, ValidationErrors errors, T fallback, params (string Name, T Value)[] choices)
    {
        if (text is null) return fallback;
        foreach (var (name, value) in choices)
        {
            if (string.Equals(text, name, StringComparison.OrdinalIgnoreCase)) return value;
        }

        errors.Add(field, "must be one of " + string.Join(", ", choices.Select(c => c.Name)));
        return fallback;
    }
}
