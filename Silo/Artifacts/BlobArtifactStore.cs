using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Grains.Artifacts;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Silo.Artifacts;

/// <summary>
/// The artifact store on Azure Blob storage (Azurite locally). Layout in the container: <c>sha256/{hex}</c> for
/// committed artifacts, <c>staging/{guid}</c> while an upload is in flight. An upload streams into its own staging
/// blob while the sha256 is computed; only a matching digest is copied to <c>sha256/{hex}</c>, with
/// <c>If-None-Match: *</c> so a committed digest is never overwritten; the staging blob is deleted either way.
/// </summary>
public sealed class BlobArtifactStore(BlobContainerClient container) : IArtifactStore, IDisposable
{
    private const string StagingPrefix = "staging/";
    private const string CommittedPrefix = "sha256/";

    private readonly SemaphoreSlim _ensure = new(1, 1);
    private bool _containerExists;

    public BlobContainerClient Container => container;

    /// <summary>The store is a singleton: the container check's lock goes with the host.</summary>
    public void Dispose() => _ensure.Dispose();

    /// <summary>The blob holding a digest's bytes.</summary>
    public static string BlobName(string digest) => CommittedPrefix + digest[ArtifactDigest.Prefix.Length..];

    public async Task<ArtifactWriteResult> Write(string digest, Stream content, CancellationToken cancellationToken = default)
    {
        await EnsureContainer(cancellationToken);
        var staging = container.GetBlockBlobClient(StagingPrefix + Guid.NewGuid().ToString("n"));
        try
        {
            using var hashing = new HashingReadStream(content);
            await staging.UploadAsync(hashing, new BlobUploadOptions(), cancellationToken);
            var computed = hashing.Digest();
            if (!string.Equals(computed, digest, StringComparison.Ordinal))
            {
                return new ArtifactWriteResult(ArtifactWriteOutcome.DigestMismatch, computed, hashing.BytesRead);
            }

            var target = container.GetBlobClient(BlobName(digest));
            try
            {
                var copy = await target.StartCopyFromUriAsync(staging.Uri, new BlobCopyFromUriOptions
                {
                    DestinationConditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                }, cancellationToken);
                await copy.WaitForCompletionAsync(cancellationToken);
                return new ArtifactWriteResult(ArtifactWriteOutcome.Created, computed, hashing.BytesRead);
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Committed before (BlobAlreadyExists / ConditionNotMet): content addressing makes it the same bytes.
                return new ArtifactWriteResult(ArtifactWriteOutcome.AlreadyStored, computed, hashing.BytesRead);
            }
        }
        finally
        {
            await staging.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
    }

    public async Task<StoredArtifactContent?> Open(string digest, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await container.GetBlobClient(BlobName(digest)).DownloadStreamingAsync(cancellationToken: cancellationToken);
            return new StoredArtifactContent(response.Value.Content, response.Value.Details.ContentLength);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> Delete(string digest, CancellationToken cancellationToken = default) =>
        (await container.GetBlobClient(BlobName(digest)).DeleteIfExistsAsync(cancellationToken: cancellationToken)).Value;

    private async Task EnsureContainer(CancellationToken cancellationToken)
    {
        if (_containerExists)
        {
            return;
        }

        await _ensure.WaitAsync(cancellationToken);
        try
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerExists = true;
        }
        finally
        {
            _ensure.Release();
        }
    }
}
