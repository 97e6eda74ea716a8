namespace Deploy.Engine.Grains.Interfaces;

/// <summary>One entry of the audit trail, as stored and as the API shows it, with the hashes that chain it.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditEntry")]
public sealed record AuditEntry
{
    [Id(0)] public long Sequence { get; init; }

    [Id(1)] public DateTimeOffset At { get; init; }

    /// <summary>Who: the API key's name, or "engine" for the engine's own decisions.</summary>
    [Id(2)] public required string Principal { get; init; }

    /// <summary>The roles the principal acted with (comma-separated), or "engine".</summary>
    [Id(3)] public required string Role { get; init; }

    /// <summary>What: the event type (e.g. <c>dev.cdeventsx.deploy-engine.rollout.paused</c>) or the API action.</summary>
    [Id(4)] public required string Action { get; init; }

    [Id(5)] public required string Subject { get; init; }

    [Id(6)] public string? Release { get; init; }

    [Id(7)] public string? Environment { get; init; }

    [Id(8)] public string? Artifact { get; init; }

    [Id(9)] public string? Commit { get; init; }

    /// <summary>Why.</summary>
    [Id(10)] public string? Reason { get; init; }

    [Id(11)] public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>();

    [Id(12)] public required string PreviousHash { get; init; }

    [Id(13)] public required string Hash { get; init; }

    /// <summary>The event (or request) this entry records; a redelivered event is not recorded twice.</summary>
    [Id(14)] public required string SourceId { get; init; }
}

/// <summary>Filters over the audit trail; every filter is optional, all given ones must hold.</summary>
[GenerateSerializer, Immutable]
[Alias("AuditQuery")]
public sealed record AuditQuery
{
    [Id(0)] public string? Release { get; init; }

    [Id(1)] public string? Environment { get; init; }

    [Id(2)] public string? Principal { get; init; }

    [Id(3)] public DateTimeOffset? From { get; init; }

    [Id(4)] public DateTimeOffset? To { get; init; }

    /// <summary>Entries after this sequence number (paging: pass the last sequence of the previous page).</summary>
    [Id(5)] public long After { get; init; }

    [Id(6)] public int Limit { get; init; } = 100;
}

[GenerateSerializer, Immutable]
[Alias("AuditVerification")]
public sealed record AuditVerification
{
    [Id(0)] public bool Valid { get; init; }

    [Id(1)] public long Entries { get; init; }

    /// <summary>The first entry that does not hold, when one does not.</summary>
    [Id(2)] public long? BrokenAt { get; init; }

    [Id(3)] public string? Reason { get; init; }

    [Id(4)] public string? HeadHash { get; init; }

    /// <summary>False when the engine runs with the development audit key (Audit:AllowUnkeyed): the chain is then forgeable.</summary>
    [Id(5)] public bool Keyed { get; init; }
}

/// <summary>
/// The append-only, hash-chained audit trail of the whole engine. Key: <see cref="GrainKeys.AuditLog"/>.
/// Fed by the event histories (every action event) and by API calls that change configuration.
/// </summary>
[Alias("IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>Appends an entry for the event unless one with the same id is already recorded; returns once stored.</summary>
    [Alias("Record")]
    Task Record(EngineEvent action);

    [Alias("Query")]
    Task<Page<AuditEntry>> Query(AuditQuery query);

    /// <summary>Recomputes every hash from the stored entries and compares the chain with the head kept apart.</summary>
    [Alias("Verify")]
    Task<AuditVerification> Verify();
}

/// <summary>A sealed page of the audit trail; written once. Key: <see cref="GrainKeys.AuditPage"/>.</summary>
[Alias("IAuditPageGrain")]
public interface IAuditPageGrain : IGrainWithStringKey
{
    [Alias("Seal")]
    Task Seal(IReadOnlyList<AuditEntry> entries);

    [Alias("Read")]
    Task<IReadOnlyList<AuditEntry>> Read();
}

/// <summary>Which events are actions worth an audit entry, and the names they carry.</summary>
public static class AuditFields
{
    /// <summary>Who acted (principal name) and with which roles: set by whoever publishes an action event.</summary>
    public const string Actor = "actor";

    public const string Role = "role";

    /// <summary>
    /// Every event someone caused (it names an actor) and the engine's own decisions about rollouts are audited;
    /// the per-host and per-step progress events are not (they are the rollout's event history, thousands per rollout).
    /// </summary>
    public static bool IsAudited(EngineEvent e) =>
        e.Data.ContainsKey(Actor) || e.Type is
            EventTypes.RolloutCreated or EventTypes.RolloutPaused or EventTypes.RolloutResumed or EventTypes.RolloutHeld
            or EventTypes.RolloutRollbackDecided or EventTypes.RolloutFailed or EventTypes.RolloutAborted or EventTypes.RolloutPromoted
            or EventTypes.RolloutSuperseded or EventTypes.TriggerBreached or EventTypes.DeadlineExpired or EventTypes.SlotSwitched
            or EventTypes.PipelineRunQueued or EventTypes.PipelineRunStarted or EventTypes.PipelineRunFinished or EventTypes.ServiceRolledBack
            or EventTypes.EnvironmentCreated or EventTypes.EnvironmentModified;
}
