using System.Collections.Concurrent;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Artifacts;

/// <summary>The artifact store of Local mode and test clusters: bytes in memory, same rules as the blob store.</summary>
public sealed class InMemoryArtifactStore : IArtifactStore
{
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    public async Task<ArtifactWriteResult> Write(string digest, Stream content, CancellationToken cancellationToken = default)
    {
        using var hashing = new HashingReadStream(content);
        using var staging = new MemoryStream();
        await hashing.CopyToAsync(staging, cancellationToken);
        var computed = hashing.Digest();
        if (!string.Equals(computed, digest, StringComparison.Ordinal))
        {
            return new ArtifactWriteResult(ArtifactWriteOutcome.DigestMismatch, computed, hashing.BytesRead);
        }

        // Conditional create: the first commit of a digest wins, later ones (same bytes, by construction) change nothing.
        var created = _blobs.TryAdd(digest, staging.ToArray());
        return new ArtifactWriteResult(created ? ArtifactWriteOutcome.Created : ArtifactWriteOutcome.AlreadyStored, computed, hashing.BytesRead);
    }

    public Task<StoredArtifactContent?> Open(string digest, CancellationToken cancellationToken = default) =>
        Task.FromResult(_blobs.TryGetValue(digest, out var bytes)
            ? new StoredArtifactContent(new MemoryStream(bytes, writable: false), bytes.LongLength)
            : null);

    public Task<bool> Delete(string digest, CancellationToken cancellationToken = default) =>
        Task.FromResult(_blobs.TryRemove(digest, out _));
}
