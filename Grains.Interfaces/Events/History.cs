namespace Deploy.Engine.Grains.Interfaces;

/// <summary>
/// The event history of one subject (a rollout, an environment), appended by an implicit stream subscription.
/// Key: the event stream key (<see cref="GrainKeys.RolloutEvents"/>, <see cref="GrainKeys.EnvironmentEvents"/>).
/// </summary>
[Alias("IEventHistoryGrain")]
public interface IEventHistoryGrain : IGrainWithStringKey
{
    [Alias("Read")]
    Task<Page<EngineEvent>> Read(long afterSequence, int limit);
}

/// <summary>A sealed, full page of an event history. Key: <see cref="GrainKeys.EventPage"/>.</summary>
[Alias("IEventPageGrain")]
public interface IEventPageGrain : IGrainWithStringKey
{
    [Alias("Seal")]
    Task Seal(IReadOnlyList<EngineEvent> events);

    [Alias("Read")]
    Task<IReadOnlyList<EngineEvent>> Read();
}

[GenerateSerializer, Immutable]
[Alias("IdempotentResponse")]
public sealed record IdempotentResponse
{
    [Id(0)] public required string RequestHash { get; init; }

    [Id(1)] public int StatusCode { get; init; }

    [Id(2)] public string? Body { get; init; }

    [Id(3)] public string? Location { get; init; }
}

[GenerateSerializer]
[Alias("IdempotencyPhase")]
public enum IdempotencyPhase
{
    /// <summary>First use of the key: the caller runs the request and then completes it.</summary>
    Started = 0,

    /// <summary>Another request with this key is running.</summary>
    InProgress = 1,

    /// <summary>The key was used with this request before: replay the stored response.</summary>
    Completed = 2,

    /// <summary>The key was used with a different request.</summary>
    Mismatch = 3,
}

[GenerateSerializer, Immutable]
[Alias("IdempotencyClaim")]
public sealed record IdempotencyClaim
{
    [Id(0)] public IdempotencyPhase Phase { get; init; }

    [Id(1)] public IdempotentResponse? Response { get; init; }
}

/// <summary>One Idempotency-Key of one caller on one route. Key: <see cref="GrainKeys.Idempotency"/>.</summary>
[Alias("IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    [Alias("Claim")]
    Task<IdempotencyClaim> Claim(string requestHash);

    [Alias("Complete")]
    Task Complete(IdempotentResponse response);

    /// <summary>Releases a claim whose request did not succeed, so a retry runs it again.</summary>
    [Alias("Abandon")]
    Task Abandon(string requestHash);
}
