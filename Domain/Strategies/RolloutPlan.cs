using Deploy.Engine.Domain.Rollouts;

namespace Deploy.Engine.Domain.Strategies;

/// <summary>A target host as the planner sees it.</summary>
public sealed record PlanHost(string Id, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>True when the host carries every label of <paramref name="selector"/> with the same value (ordinal).</summary>
    public bool Matches(IReadOnlyDictionary<string, string> selector) =>
        selector.All(kv => Labels.TryGetValue(kv.Key, out var value) && string.Equals(value, kv.Value, StringComparison.Ordinal));
}

public sealed record PlanInput
{
    /// <summary>The rollout's targets, already narrowed by the request's selector, in a stable order.</summary>
    public IReadOnlyList<PlanHost> Hosts { get; init; } = [];

    /// <summary>Blue-green: the slot value serving now; null treats the ordinal-first slot value as active.</summary>
    public string? ActiveSlot { get; init; }

    /// <summary>Immutable: ids of the new hosts the grain provisioned, one per target host.</summary>
    public IReadOnlyList<string> ProvisionedHosts { get; init; } = [];
}

/// <summary>A plan, or 422-style problems keyed by field (<c>strategy.scope.waves[1]</c>).</summary>
public sealed record PlanResult
{
    public RolloutPlan? Plan { get; init; }

    public IReadOnlyDictionary<string, string[]> Errors { get; init; } = new Dictionary<string, string[]>();

    public bool IsValid => Plan is not null;
}

/// <param name="Stages">The host groups in order (pilot, waves, or all hosts).</param>
/// <param name="Steps">What to do, in order; each step names its stage.</param>
/// <param name="Explanation">One paragraph for the dry run: stages, rounding, excluded hosts.</param>
public sealed record RolloutPlan(IReadOnlyList<PlanStage> Stages, IReadOnlyList<PlanStep> Steps, string Explanation);

/// <param name="Name">"pilot", "wave 1 (region=eu-west)", "remaining hosts", "all hosts", "idle slot slot=green".</param>
public sealed record PlanStage(int Index, string Name, IReadOnlyList<string> Hosts);

/// <summary>One thing to do. <see cref="Description"/> is short text for a human, with the arithmetic behind it.</summary>
public abstract record PlanStep(int Stage, string Description)
{
    /// <summary>What the step does, as the rollout's stepper and the API name it.</summary>
    public abstract PlanStepKind Kind { get; }

    /// <summary>Immutable surge window: old, new, serving and total host counts at this step; null elsewhere.</summary>
    public FleetCounts? Fleet { get; init; }
}

/// <summary>
/// Host counts of a surge-window step: <paramref name="Old"/> and <paramref name="New"/> once it is done,
/// <paramref name="Available"/> the fewest serving during it, <paramref name="Total"/> the most hosts at once during it.
/// </summary>
public sealed record FleetCounts(int Old, int New, int Available, int Total);

/// <summary>Apply the new artifact to these hosts, as one batch.</summary>
public sealed record DeployStep(int Stage, IReadOnlyList<string> Hosts, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Deploy;
}

/// <summary>Canary: route <paramref name="Weight"/>% of the stage's traffic to the new version.</summary>
public sealed record TrafficStep(int Stage, int Weight, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Traffic;
}

/// <summary>Wait; a null duration waits until an operator promotes.</summary>
public sealed record PausePlanStep(int Stage, TimeSpan? Duration, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Pause;
}

/// <summary>Watch the rollback triggers for <paramref name="Duration"/>.</summary>
public sealed record AnalysisPlanStep(int Stage, TimeSpan Duration, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Analysis;
}

/// <summary>Blue-green promotion: the environment's traffic moves from one slot to the other.</summary>
public sealed record SwitchStep(int Stage, string FromSlot, string ToSlot, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Switch;
}

/// <summary>The old slot stays warm this long; a rollback inside it is a switch back.</summary>
public sealed record KeepWarmStep(int Stage, string Slot, TimeSpan Duration, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.KeepWarm;
}

/// <summary>Immutable: the new hosts come into service (already provisioned by the grain).</summary>
public sealed record ProvisionStep(int Stage, IReadOnlyList<string> Hosts, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Provision;
}

/// <summary>Immutable: the old hosts leave service.</summary>
public sealed record RetireStep(int Stage, IReadOnlyList<string> Hosts, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Retire;
}

/// <summary>Wait after stage <see cref="PlanStep.Stage"/> before the next one starts; a breach here fails that stage.</summary>
public sealed record BakeStep(int Stage, TimeSpan Duration, string Description) : PlanStep(Stage, Description)
{
    public override PlanStepKind Kind => PlanStepKind.Bake;
}
