namespace Deploy.Engine.Grains.Interfaces;

/// <summary>What a pipeline declares when it submits a release.</summary>
[GenerateSerializer, Immutable]
[Alias("ReleaseDraft")]
public sealed record ReleaseDraft
{
    [Id(0)] public required string Service { get; init; }

    [Id(1)] public required string Version { get; init; }

    /// <summary>The artifact's content address, <c>sha256:</c> + 64 hex digits.</summary>
    [Id(2)] public required string Artifact { get; init; }

    [Id(3)] public string? Commit { get; init; }

    [Id(4)] public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    [Id(5)] public required string SubmittedBy { get; init; }
}

[GenerateSerializer, Immutable]
[Alias("ReleaseSnapshot")]
public sealed record ReleaseSnapshot
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public required string Service { get; init; }

    [Id(2)] public required string Version { get; init; }

    [Id(3)] public required string Artifact { get; init; }

    [Id(4)] public string? Commit { get; init; }

    [Id(5)] public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    [Id(6)] public required string SubmittedBy { get; init; }

    [Id(7)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Rollouts of this release, one per environment, in the order they were started.</summary>
    [Id(8)] public IReadOnlyList<string> Rollouts { get; init; } = [];

    /// <summary>
    /// Environment → the provenance facts verified for this release there (builder, source, commit). Filled in by the
    /// API from the release's evidence (<see cref="IReleaseEvidenceGrain"/>); never stored with the release.
    /// </summary>
    [Id(180)] public IReadOnlyDictionary<string, VerifiedProvenance>? Provenance { get; init; }
}

/// <summary>One release: what is being released. Key: the release id.</summary>
[Alias("IReleaseGrain")]
public interface IReleaseGrain : IGrainWithStringKey
{
    /// <summary>Creates the release; creating it again with the same draft returns it unchanged (409 otherwise).</summary>
    [Alias("Create")]
    Task<CommandResult<ReleaseSnapshot>> Create(ReleaseDraft draft);

    [Alias("Get")]
    Task<ReleaseSnapshot?> Get();

    [Alias("AddRollout")]
    Task AddRollout(string rolloutId);
}
