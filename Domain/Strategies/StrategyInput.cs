namespace Deploy.Engine.Domain.Strategies;

/// <summary>
/// A deployment strategy exactly as the API declared it: every field optional, nothing validated yet.
/// <see cref="StrategySpecParser"/> turns it into a <see cref="StrategySpec"/> or names every offending field.
/// </summary>
public sealed record StrategyInput
{
    /// <summary>"rolling" (when null) | "canary" | "blueGreen" | "immutable", case-insensitive.</summary>
    public string? Type { get; init; }

    /// <summary>Rolling batch fields; also batch the deploy steps of blue-green, immutable and a canary's final step.</summary>
    public RollingInput? Rolling { get; init; }

    /// <summary>Canary only: the ordered steps.</summary>
    public IReadOnlyList<CanaryStepInput>? Steps { get; init; }

    /// <summary>Blue-green only.</summary>
    public BlueGreenInput? BlueGreen { get; init; }

    public ScopeInput? Scope { get; init; }

    public IReadOnlyList<TriggerInput>? RollbackTriggers { get; init; }

    public DeadlinesInput? Deadlines { get; init; }

    /// <summary>"queue" (when null) | "supersede": what a new rollout does to one already running in the environment.</summary>
    public string? OnConflict { get; init; }
}

/// <summary>The rolling fields, parsed by <see cref="Rolling.RollingSpecParser"/>.</summary>
public sealed record RollingInput
{
    public string? MaxSurge { get; init; }

    public string? MaxUnavailable { get; init; }

    public string? MinimumHealthyType { get; init; }

    public int? MinimumHealthyValue { get; init; }

    public string? Preset { get; init; }

    public string? MaxFailures { get; init; }
}

/// <summary>One canary step: exactly one of the three is declared.</summary>
public sealed record CanaryStepInput
{
    public int? SetWeight { get; init; }

    public PauseInput? Pause { get; init; }

    public AnalysisInput? Analysis { get; init; }
}

/// <summary>A pause; no duration means until an operator promotes.</summary>
public sealed record PauseInput
{
    public int? DurationSeconds { get; init; }
}

/// <summary>Watch the rollback triggers for this long.</summary>
public sealed record AnalysisInput
{
    public int? DurationSeconds { get; init; }
}

public sealed record BlueGreenInput
{
    /// <summary>The host label whose value names a host's slot ("slot" when null).</summary>
    public string? SlotLabel { get; init; }

    public int? PrePromotionAnalysisSeconds { get; init; }

    /// <summary>Promote by itself after this long; null waits for an operator.</summary>
    public int? AutoPromoteAfterSeconds { get; init; }

    /// <summary>How long the old slot stays warm after the switch (300 when null).</summary>
    public int? ScaleDownDelaySeconds { get; init; }
}

public sealed record ScopeInput
{
    /// <summary>"full" (when null) | "waves" | "pilot".</summary>
    public string? Type { get; init; }

    /// <summary>Ordered label selectors; a host must carry every label of a selector to match it.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>>? Waves { get; init; }

    /// <summary>Wait between stages (0 when null).</summary>
    public int? BakeSeconds { get; init; }

    /// <summary>"all" (when null): roll back every wave | "wave": roll back the failing wave only.</summary>
    public string? OnFailure { get; init; }

    /// <summary>Selector of opted-in hosts: required for type pilot, allowed with waves (pilot stage first).</summary>
    public IReadOnlyDictionary<string, string>? Pilot { get; init; }
}

/// <summary>"errorRatePercent" | "p99LatencyMs" | "failedHealthChecks"; breached when the observed value exceeds the threshold.</summary>
public sealed record TriggerInput
{
    public string? Metric { get; init; }

    public double? Threshold { get; init; }

    /// <summary>Readings kept per host in the window (default 5).</summary>
    public int? WindowSamples { get; init; }

    /// <summary>Usable readings the window must hold before the trigger is judged (default 2).</summary>
    public int? MinSamples { get; init; }

    /// <summary>Hosts the window must cover before the trigger is judged (default 1).</summary>
    public int? MinHosts { get; init; }
}

public sealed record DeadlinesInput
{
    public int? ProgressSeconds { get; init; }

    public int? AnalysisSeconds { get; init; }

    public int? ApprovalSeconds { get; init; }

    /// <summary>The rollback's own deadline; null: the environment's declared rollback timeout, else the progress deadline.</summary>
    public int? RollbackSeconds { get; init; }

    /// <summary>"abort" (when null) | "pause".</summary>
    public string? OnExpiry { get; init; }
}
