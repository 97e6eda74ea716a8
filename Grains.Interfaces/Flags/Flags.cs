namespace Deploy.Engine.Grains.Interfaces;

/// <summary>One targeting rule of a flag (see <c>Domain.Flags.FlagRule</c>).</summary>
[GenerateSerializer, Immutable]
[Alias("FlagRuleSpec")]
public sealed record FlagRuleSpec
{
    [Id(0)] public IReadOnlyDictionary<string, string> Match { get; init; } = new Dictionary<string, string>();

    [Id(1)] public string? Variant { get; init; }

    [Id(2)] public IReadOnlyDictionary<string, int>? Split { get; init; }
}

/// <summary>A feature flag of one service in one environment, as stored and shown.</summary>
[GenerateSerializer, Immutable]
[Alias("FlagSpec")]
public sealed record FlagSpec
{
    [Id(0)] public required string Key { get; init; }

    [Id(1)] public required string Service { get; init; }

    /// <summary>Variant name → its value as JSON text (<c>true</c>, <c>"blue"</c>, <c>{"limit":5}</c>).</summary>
    [Id(2)] public required IReadOnlyDictionary<string, string> Variants { get; init; }

    [Id(3)] public required string DefaultVariant { get; init; }

    [Id(4)] public required string OffVariant { get; init; }

    /// <summary>The kill switch.</summary>
    [Id(5)] public bool Enabled { get; init; } = true;

    [Id(6)] public IReadOnlyList<FlagRuleSpec> Rules { get; init; } = [];

    [Id(7)] public double? Percentage { get; init; }

    [Id(8)] public string? RolloutVariant { get; init; }

    /// <summary>A release this flag belongs to: its canary's weights set <see cref="Percentage"/>, its rollback turns the flag off.</summary>
    [Id(9)] public string? Release { get; init; }

    [Id(10)] public string UpdatedBy { get; init; } = string.Empty;

    [Id(11)] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Why it last changed (an operator's reason, or the canary step or rollback that moved it).</summary>
    [Id(12)] public string? Reason { get; init; }
}

/// <summary>Every flag of an environment, and a version that changes with any of them (the bulk evaluation's ETag).</summary>
[GenerateSerializer, Immutable]
[Alias("FlagSetSnapshot")]
public sealed record FlagSetSnapshot
{
    [Id(0)] public required IReadOnlyList<FlagSpec> Flags { get; init; }

    [Id(1)] public long Version { get; init; }
}

/// <summary>One approver's vote on a proposed flag change.</summary>
[GenerateSerializer, Immutable]
[Alias("FlagVote")]
public sealed record FlagVote
{
    [Id(0)] public required string Approver { get; init; }

    /// <summary>approve or reject.</summary>
    [Id(1)] public required string Decision { get; init; }

    [Id(2)] public DateTimeOffset At { get; init; }

    [Id(3)] public string? Reason { get; init; }
}

/// <summary>
/// A flag change proposed in a protected environment (see <c>Domain.Flags.FlagChangeRules</c>): it applies once the
/// approvals are there. <see cref="Flag"/> is the flag to set, or null for a deletion of <see cref="Key"/>.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("FlagChange")]
public sealed record FlagChange
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Key { get; init; }

    [Id(2)] public FlagSpec? Flag { get; init; }

    [Id(3)] public required string ProposedBy { get; init; }

    [Id(4)] public DateTimeOffset ProposedAt { get; init; }

    [Id(5)] public string? Reason { get; init; }

    /// <summary>pending, applied, rejected, superseded (the flag changed after the proposal) or withdrawn.</summary>
    [Id(6)] public required string State { get; init; }

    [Id(7)] public IReadOnlyList<FlagVote> Votes { get; init; } = [];

    /// <summary>The flag's <see cref="FlagSpec.UpdatedAt"/> when proposed (null: it did not exist); a change applies only to that flag.</summary>
    [Id(8)] public DateTimeOffset? Base { get; init; }

    /// <summary>What is still needed, or who decided and why.</summary>
    [Id(9)] public string Summary { get; init; } = string.Empty;

    /// <summary>The approval it needs, in words ("1 approval from group team").</summary>
    [Id(10)] public string Requirement { get; init; } = string.Empty;

    [Id(11)] public DateTimeOffset? DecidedAt { get; init; }
}

/// <summary>How a flag change request ended: applied (<see cref="Applied"/>, or a deletion), held for approval
/// (<see cref="Pending"/>), or refused (<see cref="Refusal"/> with <see cref="Status"/> 403, 404 or 409).</summary>
[GenerateSerializer, Immutable]
[Alias("FlagChangeOutcome")]
public sealed record FlagChangeOutcome
{
    [Id(0)] public FlagSpec? Applied { get; init; }

    [Id(1)] public FlagChange? Change { get; init; }

    [Id(2)] public string? Refusal { get; init; }

    [Id(3)] public int Status { get; init; }

    [Id(4)] public bool Deleted { get; init; }
}

/// <summary>The feature flags of one environment. Key: <see cref="GrainKeys.FlagSet"/>.</summary>
[Alias("IFlagSetGrain")]
public interface IFlagSetGrain : IGrainWithStringKey
{
    /// <summary>Creates or replaces a flag (validated by the caller); audited with the actor.</summary>
    [Alias("Put")]
    Task<FlagSpec> Put(FlagSpec flag, string actor, string? role);

    [Alias("Delete")]
    Task<bool> Delete(string key, string actor, string? role);

    [Alias("Get")]
    Task<FlagSetSnapshot> Get();

    /// <summary>
    /// A person's change (<paramref name="flag"/>, or null to delete <paramref name="key"/>): applied at once, or in a
    /// protected environment held as a <see cref="FlagChange"/> until approved (turning a flag off is never held).
    /// </summary>
    [Alias("Change")]
    Task<FlagChangeOutcome> Change(string key, FlagSpec? flag, string actor, string? role);

    /// <summary>An approver's vote on a pending change; the change applies when the approvals are there.</summary>
    [Alias("Decide")]
    Task<FlagChangeOutcome> Decide(string changeId, bool approve, string actor, string? role, string? reason);

    /// <summary>Pending changes first, then the latest decided ones (newest first).</summary>
    [Alias("Changes")]
    Task<IReadOnlyList<FlagChange>> Changes();

    /// <summary>Flags of <paramref name="release"/> that are on take the canary's weight as their percentage.</summary>
    [Alias("FollowCanary")]
    Task FollowCanary(string release, int weight, string reason);

    /// <summary>Flags of <paramref name="release"/> are turned off (its rollback).</summary>
    [Alias("TurnOffRelease")]
    Task TurnOffRelease(string release, string reason);
}
