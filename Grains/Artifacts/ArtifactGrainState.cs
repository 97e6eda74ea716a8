using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Artifacts;

[GenerateSerializer]
[Alias("ArtifactGrainState")]
public sealed class ArtifactGrainState
{
    [Id(0)] public bool Stored { get; set; }

    [Id(1)] public long? Size { get; set; }

    [Id(2)] public string? UploadedBy { get; set; }

    [Id(3)] public DateTimeOffset? UploadedAt { get; set; }

    [Id(4)] public string? ExternalUrl { get; set; }

    [Id(5)] public string? RegisteredBy { get; set; }

    [Id(6)] public DateTimeOffset? RegisteredAt { get; set; }

    /// <summary>A concrete list: stored state is JSON with type names.</summary>
    [Id(7)] public List<ArtifactRelease> Releases { get; set; } = new();

    [Id(8)] public DateTimeOffset? DeletedAt { get; set; }

    [Id(9)] public string? DeletedWhy { get; set; }

    [Id(10)] public string? LastVerificationFailure { get; set; }
}

[GenerateSerializer]
[Alias("ArtifactCatalogState")]
public sealed class ArtifactCatalogState
{
    [Id(0)] public Dictionary<string, ArtifactCatalogRecord> Entries { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer]
[Alias("ArtifactCatalogRecord")]
public sealed class ArtifactCatalogRecord
{
    [Id(0)] public List<string> Services { get; set; } = new();

    [Id(1)] public DateTimeOffset AddedAt { get; set; }

    [Id(2)] public bool Stored { get; set; }
}
