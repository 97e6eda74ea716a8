namespace Deploy.Engine.Grains.Interfaces;

/// <summary>How a write to the content-addressed store ended.</summary>
public enum ArtifactWriteOutcome
{
    /// <summary>The bytes hash to the claimed digest and are now stored under it.</summary>
    Created = 0,

    /// <summary>The bytes hash to the claimed digest, which was stored already (same bytes: content addressing).</summary>
    AlreadyStored = 1,

    /// <summary>The bytes hash to another digest; nothing was stored.</summary>
    DigestMismatch = 2,
}

public sealed record ArtifactWriteResult(ArtifactWriteOutcome Outcome, string ComputedDigest, long Size);

/// <summary>Stored bytes being read; the caller verifies them against the digest while it reads.</summary>
public sealed record StoredArtifactContent(Stream Content, long Size) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

/// <summary>
/// A content-addressed byte store. Bytes are written to a staging area while their sha256 is computed, and
/// committed under the digest only when it equals the claimed one; a committed digest is never overwritten
/// (a conditional create). Azure Blob storage (Azurite locally) in Azure mode; memory in Local mode and test clusters.
/// A silo service: the co-hosted API streams uploads and downloads through it, never through a grain.
/// </summary>
public interface IArtifactStore
{
    Task<ArtifactWriteResult> Write(string digest, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The stored bytes, or null when the digest is not stored.</summary>
    Task<StoredArtifactContent?> Open(string digest, CancellationToken cancellationToken = default);

    /// <summary>Removes the bytes; false when they were not there.</summary>
    Task<bool> Delete(string digest, CancellationToken cancellationToken = default);
}

/// <summary>Bound from configuration section "Artifacts".</summary>
public sealed class ArtifactOptions
{
    public const string Section = "Artifacts";

    /// <summary>The largest artifact upload accepted, in bytes (default 2 GiB); the API's general body limit does not apply to uploads.</summary>
    public long MaxUploadBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Downloads up to this size (default 8 MiB) are read and verified before the first byte is sent, so tampered
    /// bytes are a clean 422; larger ones are verified while streaming and the connection is aborted before the last
    /// chunk when the hash is wrong, so a client never receives a complete body of altered bytes.
    /// </summary>
    public long VerifyBeforeSendBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>The blob container of the store in Azure mode.</summary>
    public string Container { get; set; } = "deploy-engine-artifacts";

    public ArtifactRetentionOptions Retention { get; set; } = new();

    /// <summary>
    /// When true (Artifacts:RequireStored), a release is accepted only for an artifact the engine knows: uploaded to the
    /// store (PUT /v1/artifacts/{digest}) or registered by URL (POST /v1/artifacts/external). Otherwise a release
    /// may name a digest nobody ever uploaded, and only the agents' download would find out.
    /// </summary>
    public bool RequireStored { get; set; }
}

/// <summary>Section "Artifacts:Retention".</summary>
public sealed class ArtifactRetentionOptions
{
    /// <summary>The artifacts of the last N releases of each service rolled out to each environment are kept.</summary>
    public int KeepLastReleasesPerServicePerEnvironment { get; set; } = 3;

    /// <summary>Other artifacts that are not live are deleted once they are this many days old.</summary>
    public int DeleteAfterDays { get; set; } = 30;
}
