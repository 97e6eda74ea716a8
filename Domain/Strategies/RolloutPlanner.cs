using System.Globalization;
using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Strategies;

/// <summary>
/// Turns a <see cref="StrategySpec"/> and the rollout's targets into stages and steps, or into 422-style problems.
/// <para><b>Stages.</b> Full: one stage, "all hosts". Pilot: the hosts matching the pilot selector, then the rest (a
/// stage with no host is left out; a pilot matching no host is an error). Waves: one stage per selector in order; a
/// host matching several waves belongs to the first; hosts matching no wave are not targeted (the explanation names
/// them); a pilot group, if declared, goes first and its hosts leave the waves. A wave left with no host is an error.</para>
/// <para><b>Steps per stage.</b> Rolling: one <see cref="DeployStep"/> per batch of <see cref="RollingPlanner"/> over the
/// stage's host count, with its exact semantics. Canary: see <see cref="HostsForWeight"/>; after the last declared step,
/// if the weight is below 100, the remaining hosts are deployed in rolling batches and all traffic moves.
/// Blue-green (full scope): deploy the idle slot in rolling batches, optional analysis, a pause (auto-promote or wait),
/// the switch, then the old slot kept warm. Immutable (full scope): a surge window (<see cref="SurgeWindowPlanner"/>,
/// Kubernetes' Deployment controller): per window step, provision the new hosts capacity allows, retire the old hosts
/// the serving floor allows, deploy the new ones; no analysis step of its own (the deploy batches are watched like any
/// rolling batch, and the deadlines are the grain's).</para>
/// <para>A <see cref="BakeStep"/> follows every stage but the last when the scope's bake is above zero.</para>
/// </summary>
public static class RolloutPlanner
{
    private const int ListedHosts = 10;

    public static PlanResult Plan(StrategySpec spec, PlanInput input, string fieldPrefix = "strategy.")
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(input);
        var errors = new ValidationErrors();
        var notes = new List<string>();

        // Why first: nothing else can be said about an empty set of targets.
        if (input.Hosts.Count == 0)
        {
            errors.Add("selector", "no target hosts: the environment has no host matching the rollout's selector");
            return Invalid(errors);
        }

        var steps = new List<PlanStep>();
        List<PlanStage> stages;
        switch (spec.Kind)
        {
            case StrategyKind.BlueGreen:
                stages = PlanBlueGreen(spec, input, fieldPrefix, errors, steps, notes);
                break;
            case StrategyKind.Immutable:
                stages = PlanImmutable(spec, input, fieldPrefix, errors, steps, notes);
                break;
            default:
                stages = BuildStages(spec.Scope, input.Hosts, fieldPrefix + "scope.", errors, notes);
                if (errors.Any) break;
                notes.Insert(0, Summary(spec.Kind, input.Hosts.Count, stages));
                for (var i = 0; i < stages.Count; i++)
                {
                    if (spec.Kind == StrategyKind.Canary) PlanCanaryStage(spec, stages[i], fieldPrefix, errors, steps);
                    else PlanRollingStage(spec, stages[i], fieldPrefix, errors, steps);
                    if (i < stages.Count - 1 && spec.Scope.Bake > TimeSpan.Zero)
                    {
                        steps.Add(new BakeStep(i, spec.Scope.Bake, $"bake {Format(spec.Scope.Bake)} before {stages[i + 1].Name}"));
                    }
                }

                if (spec.Kind == StrategyKind.Rolling && !errors.Any)
                {
                    notes.Add("Rolling batches per stage, sized over the stage's hosts (maxSurge rounds up, maxUnavailable down): "
                        + string.Join(", ", stages.Select(st => $"{st.Name} [{string.Join(", ", steps.OfType<DeployStep>().Where(d => d.Stage == st.Index).Select(d => d.Hosts.Count))}]")));
                }

                if (spec.Kind == StrategyKind.Canary)
                {
                    notes.Add("Hosts per canary weight w over a stage of n hosts: ⌈w × n / 100⌉, at least 1; the hosts left after the last step are deployed in rolling batches sized over the whole stage");
                }

                AddScopeNotes(spec.Scope, stages.Count, notes);
                break;
        }

        if (errors.Any) return Invalid(errors);
        return new PlanResult { Plan = new RolloutPlan(stages, steps, string.Join(". ", notes) + ".") };
    }

    /// <summary>
    /// The hosts a canary weight needs: <c>h(w) = max(1, ⌈w × n / 100⌉)</c>, never more than n. Rounding up means
    /// the new version never takes more traffic than its share of hosts can serve.
    /// Worked examples: n = 25, w = 10 → ⌈2.5⌉ = 3; n = 3, w = 10 → ⌈0.3⌉ = 1; n = 10, w = 50 → 5; n = 0 → 0.
    /// </summary>
    public static int HostsForWeight(int weight, int hostCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hostCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, 100);
        if (hostCount == 0) return 0;
        return Math.Min(hostCount, Math.Max(1, IntOrPercent.Percent(weight).Resolve(hostCount, roundUp: true)));
    }

    private static List<PlanStage> BuildStages(
        ScopeSpec scope, IReadOnlyList<PlanHost> hosts, string p, ValidationErrors errors, List<string> notes)
    {
        var stages = new List<PlanStage>();
        var claimed = new HashSet<string>(StringComparer.Ordinal);

        if (scope.Kind == ScopeKind.Full)
        {
            stages.Add(new PlanStage(0, "all hosts", hosts.Select(h => h.Id).ToList()));
            return stages;
        }

        if (scope.Pilot is { } pilot)
        {
            var pilotHosts = hosts.Where(h => h.Matches(pilot)).Select(h => h.Id).ToList();
            if (pilotHosts.Count == 0)
            {
                errors.Add(p + "pilot", $"matches no host of the targets ({StrategyNames.Of(pilot)})");
                return stages;
            }

            stages.Add(new PlanStage(0, "pilot", pilotHosts));
            claimed.UnionWith(pilotHosts);
        }
        else if (scope.Kind == ScopeKind.Pilot)
        {
            errors.Add(p + "pilot", "is required for scope type pilot");
            return stages;
        }

        if (scope.Kind == ScopeKind.Pilot)
        {
            var rest = hosts.Where(h => !claimed.Contains(h.Id)).Select(h => h.Id).ToList();
            if (rest.Count > 0) stages.Add(new PlanStage(stages.Count, "remaining hosts", rest));
            return stages;
        }

        if (scope.Waves.Count == 0) errors.Add(p + "waves", "scope type waves needs at least one wave selector");
        for (var i = 0; i < scope.Waves.Count; i++)
        {
            var selector = scope.Waves[i];
            var field = string.Create(CultureInfo.InvariantCulture, $"{p}waves[{i}]");
            var matching = hosts.Where(h => h.Matches(selector)).ToList();
            var wave = matching.Where(h => !claimed.Contains(h.Id)).Select(h => h.Id).ToList();
            if (matching.Count == 0)
            {
                errors.Add(field, "matches no host of the targets");
                continue;
            }

            if (wave.Count == 0)
            {
                errors.Add(field, "every host it matches is already in the pilot group or an earlier wave");
                continue;
            }

            stages.Add(new PlanStage(stages.Count, string.Create(CultureInfo.InvariantCulture, $"wave {i + 1} ({StrategyNames.Of(selector)})"), wave));
            claimed.UnionWith(wave);
        }

        var excluded = hosts.Where(h => !claimed.Contains(h.Id)).Select(h => h.Id).ToList();
        if (excluded.Count > 0)
        {
            notes.Add($"{Hosts(excluded.Count)} {(excluded.Count == 1 ? "matches" : "match")} no wave and {(excluded.Count == 1 ? "is" : "are")} not targeted: {List(excluded)}");
        }

        return stages;
    }

    private static void PlanRollingStage(StrategySpec spec, PlanStage stage, string p, ValidationErrors errors, List<PlanStep> steps)
    {
        var batches = Batches(spec.Rolling, stage, stage.Hosts, p, errors, out var batchSize);
        for (var b = 0; b < batches.Count; b++)
        {
            steps.Add(new DeployStep(stage.Index, batches[b],
                Invariant($"deploy batch {b + 1} of {batches.Count}: {Hosts(batches[b].Count)} (rolling batch size {batchSize} of {stage.Hosts.Count})")));
        }
    }

    private static void PlanCanaryStage(StrategySpec spec, PlanStage stage, string p, ValidationErrors errors, List<PlanStep> steps)
    {
        var n = stage.Hosts.Count;
        var deployed = 0;
        var weight = 0;
        foreach (var step in spec.Steps)
        {
            switch (step)
            {
                case SetWeightStep { Percent: var w }:
                    var needed = HostsForWeight(w, n);
                    if (needed > deployed)
                    {
                        var more = deployed > 0 ? " more" : "";
                        steps.Add(new DeployStep(stage.Index, stage.Hosts.Skip(deployed).Take(needed - deployed).ToList(),
                            Invariant($"deploy {needed - deployed}{more} host{(needed - deployed == 1 ? "" : "s")} (weight {w}%: ceil({w}% of {n}) = {needed})")));
                        deployed = needed;
                    }

                    weight = w;
                    steps.Add(new TrafficStep(stage.Index, w, Invariant($"route {w}% of traffic to the new version ({deployed} of {n} hosts run it)")));
                    break;
                case PauseStep { Duration: var d }:
                    steps.Add(new PausePlanStep(stage.Index, d, d is { } pause ? $"pause {Format(pause)}" : "pause until an operator promotes"));
                    break;
                case AnalysisStep { Duration: var d }:
                    steps.Add(new AnalysisPlanStep(stage.Index, d, $"analyse the rollback triggers for {Format(d)}"));
                    break;
            }
        }

        if (weight >= 100) return;

        // Why over the whole stage: the canary hosts already serve, so the rolling budget (surge, unavailable,
        // minimum healthy) is a share of the stage's fleet, not of the hosts left.
        var remaining = stage.Hosts.Skip(deployed).ToList();
        if (remaining.Count > 0)
        {
            var batches = Batches(spec.Rolling, stage, remaining, p, errors, out var batchSize);
            for (var b = 0; b < batches.Count; b++)
            {
                steps.Add(new DeployStep(stage.Index, batches[b],
                    Invariant($"deploy the remaining {remaining.Count} hosts, batch {b + 1} of {batches.Count}: {Hosts(batches[b].Count)} (rolling batch size {batchSize} of {n})")));
            }
        }

        steps.Add(new TrafficStep(stage.Index, 100, Invariant($"route all traffic to the new version ({n} of {n} hosts run it)")));
    }

    private static List<PlanStage> PlanBlueGreen(
        StrategySpec spec, PlanInput input, string p, ValidationErrors errors, List<PlanStep> steps, List<string> notes)
    {
        var blueGreen = spec.BlueGreen ?? new BlueGreenSpec(BlueGreenSpec.DefaultSlotLabel, null, null, BlueGreenSpec.DefaultScaleDownDelay);
        var label = blueGreen.SlotLabel;
        var field = p + "blueGreen.slotLabel";
        if (spec.Scope.Kind != ScopeKind.Full)
        {
            errors.Add(p + "scope.type", "blue-green switches the environment's slot as a whole; regional waves and pilot groups are not supported");
            return [];
        }

        var missing = input.Hosts.Where(h => !h.Labels.ContainsKey(label)).Select(h => h.Id).ToList();
        if (missing.Count > 0)
        {
            errors.Add(field, $"{Hosts(missing.Count)} of the targets lack the label '{label}': {List(missing)}");
            return [];
        }

        var slots = input.Hosts.Select(h => h.Labels[label]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (slots.Count == 1)
        {
            errors.Add(field, $"every target is on slot '{slots[0]}': the idle slot has no host to deploy to");
            return [];
        }

        if (slots.Count > 2)
        {
            errors.Add(field, $"the targets carry {slots.Count} values of '{label}' ({string.Join(", ", slots)}); blue-green needs exactly two slots");
            return [];
        }

        var active = input.ActiveSlot ?? slots[0];
        if (!slots.Contains(active, StringComparer.Ordinal))
        {
            errors.Add("activeSlot", $"'{active}' is not a slot of the targets ({string.Join(", ", slots)})");
            return [];
        }

        var idle = slots.First(s => !string.Equals(s, active, StringComparison.Ordinal));
        var idleHosts = input.Hosts.Where(h => string.Equals(h.Labels[label], idle, StringComparison.Ordinal)).Select(h => h.Id).ToList();
        var stage = new PlanStage(0, $"idle slot {label}={idle}", idleHosts);

        var batches = Batches(spec.Rolling, stage, idleHosts, p, errors, out var batchSize, HostUpdate.Idle);
        for (var b = 0; b < batches.Count; b++)
        {
            steps.Add(new DeployStep(0, batches[b],
                Invariant($"deploy idle slot {idle}, batch {b + 1} of {batches.Count}: {Hosts(batches[b].Count)} (rolling batch size {batchSize} of {idleHosts.Count})")));
        }

        if (blueGreen.PrePromotionAnalysis is { } analysis)
        {
            steps.Add(new AnalysisPlanStep(0, analysis, $"analyse the rollback triggers on slot {idle} for {Format(analysis)} before the switch"));
        }

        steps.Add(new PausePlanStep(0, blueGreen.AutoPromoteAfter, blueGreen.AutoPromoteAfter is { } after
            ? $"promote by itself after {Format(after)} unless an operator acts first"
            : "pause until an operator promotes"));
        steps.Add(new SwitchStep(0, active, idle, $"switch traffic from slot {active} to slot {idle}"));
        steps.Add(new KeepWarmStep(0, active, blueGreen.ScaleDownDelay,
            $"keep slot {active} warm for {Format(blueGreen.ScaleDownDelay)}; a rollback inside it switches back"));

        var activeCount = input.Hosts.Count - idleHosts.Count;
        notes.Add($"Blue-green over {Hosts(input.Hosts.Count)}: slot {active} ({Hosts(activeCount)}) keeps serving while slot {idle} ({Hosts(idleHosts.Count)}) gets the new version, then traffic switches as a whole");
        notes.Add(input.ActiveSlot is null
            ? $"No active slot was recorded, so the first slot value in ordinal order ({active}) is taken as active"
            : $"Slot {active} is the one recorded as active");
        return [stage];
    }

    private static List<PlanStage> PlanImmutable(
        StrategySpec spec, PlanInput input, string p, ValidationErrors errors, List<PlanStep> steps, List<string> notes)
    {
        if (spec.Scope.Kind != ScopeKind.Full)
        {
            errors.Add(p + "scope.type", "immutable replaces the environment's hosts as a whole; regional waves and pilot groups are not supported");
            return [];
        }

        var old = input.Hosts.Select(h => h.Id).ToList();
        var fresh = input.ProvisionedHosts;
        if (fresh.Count != old.Count)
        {
            errors.Add("provisionedHosts", $"{Hosts(fresh.Count)} provisioned for {Hosts(old.Count)}; immutable needs one new host per target");
            return [];
        }

        var reused = fresh.Intersect(old, StringComparer.Ordinal).ToList();
        if (reused.Count > 0)
        {
            errors.Add("provisionedHosts", $"provisioned hosts must be new, but {List(reused)} already serve");
            return [];
        }

        var stage = new PlanStage(0, "new hosts", fresh.ToList());
        var window = SurgeWindowPlanner.Plan(spec.Rolling, old.Count);
        if (!window.IsFeasible)
        {
            errors.Add(p + (spec.Rolling.UsesSurgeStyle ? "maxUnavailable" : "minimumHealthyHosts"), Invariant($"{stage.Name} ({Hosts(old.Count)}): {window.Infeasible}"));
            return [];
        }

        var (provisioned, retired) = (0, 0);
        for (var w = 0; w < window.Steps.Count; w++)
        {
            var at = window.Steps[w];
            var fleet = new FleetCounts(at.Old, at.New, at.Available, at.Total);
            var counts = Invariant($"window step {w + 1} of {window.Steps.Count}: {at.Old} old + {at.New} new after it, at least {at.Available} serving (floor {window.MinAvailable}), at most {at.Total} hosts (ceiling {window.MaxTotal})");
            var adding = fresh.Skip(provisioned).Take(at.Provision).ToList();
            if (adding.Count > 0)
            {
                steps.Add(new ProvisionStep(0, adding, Invariant($"provision {Hosts(adding.Count)}; {counts}")) { Fleet = fleet });
            }

            if (at.Retire > 0)
            {
                steps.Add(new RetireStep(0, old.Skip(retired).Take(at.Retire).ToList(), Invariant($"retire {Hosts(at.Retire)} that ran the old version; {counts}")) { Fleet = fleet });
            }

            if (adding.Count > 0)
            {
                steps.Add(new DeployStep(0, adding, Invariant($"deploy the {Hosts(adding.Count)} just provisioned; {counts}")) { Fleet = fleet });
            }

            (provisioned, retired) = (provisioned + at.Provision, retired + at.Retire);
        }

        notes.Add($"Immutable over {Hosts(old.Count)} as a surge window: {window.Explanation}; until the last old host retires a rollback retires the new hosts and brings back the old ones retired so far");
        return [stage];
    }

    /// <summary>The hosts in chunks of the rolling batch size computed over the stage's host count.</summary>
    private static List<List<string>> Batches(
        RollingSpec rolling, PlanStage stage, IReadOnlyList<string> hosts, string p, ValidationErrors errors, out int batchSize,
        HostUpdate update = HostUpdate.InPlace)
    {
        var plan = RollingPlanner.Plan(rolling, stage.Hosts.Count, update);
        batchSize = plan.BatchSize;
        if (!plan.IsFeasible)
        {
            errors.Add(p + plan.InfeasibleField, Invariant($"{stage.Name} ({Hosts(stage.Hosts.Count)}): {plan.Infeasible}"));
            return [];
        }

        return hosts.Chunk(plan.BatchSize).Select(c => c.ToList()).ToList();
    }

    private static string Summary(StrategyKind kind, int hostCount, List<PlanStage> stages) =>
        Invariant($"{Capitalised(StrategyNames.Of(kind))} rollout of {Hosts(hostCount)} in {stages.Count} stage{(stages.Count == 1 ? "" : "s")}: ")
        + string.Join(", ", stages.Select(s => Invariant($"{s.Name} ({s.Hosts.Count})")));

    private static void AddScopeNotes(ScopeSpec scope, int stageCount, List<string> notes)
    {
        if (stageCount < 2) return;
        if (scope.Bake > TimeSpan.Zero) notes.Add($"Each stage but the last bakes {Format(scope.Bake)} before the next starts");
        notes.Add(scope.OnFailure == WaveFailurePolicy.RollBackWave
            ? "A failing stage rolls back alone; earlier stages keep the new version"
            : "A failure in any stage rolls back every stage");
    }

    private static PlanResult Invalid(ValidationErrors errors) => new() { Errors = errors.ToDictionary() };

    private static string Hosts(int count) => Invariant($"{count} host{(count == 1 ? "" : "s")}");

    private static string List(List<string> ids) => ids.Count <= ListedHosts
        ? string.Join(", ", ids)
        : string.Join(", ", ids.Take(ListedHosts)) + Invariant($" and {ids.Count - ListedHosts} more");

    private static string Capitalised(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    /// <summary>Durations as a person writes them: 90s → "1m30s", 3600s → "1h", 0 → "0s".</summary>
    public static string Format(TimeSpan duration)
    {
        var total = (long)duration.TotalSeconds;
        if (total <= 0) return "0s";
        var parts = new List<string>(4);
        if (total >= 86_400) parts.Add(Invariant($"{total / 86_400}d"));
        if (total % 86_400 / 3600 > 0) parts.Add(Invariant($"{total % 86_400 / 3600}h"));
        if (total % 3600 / 60 > 0) parts.Add(Invariant($"{total % 3600 / 60}m"));
        if (total % 60 > 0) parts.Add(Invariant($"{total % 60}s"));
        return string.Concat(parts);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
