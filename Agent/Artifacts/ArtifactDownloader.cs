using System.Security.Cryptography;
using Deploy.Engine.Agent.Engine;

namespace Deploy.Engine.Agent.Artifacts;

/// <summary>A downloaded artifact: where its bytes are and the sha256 computed over them while they streamed in.</summary>
public sealed record DownloadedArtifact(string Path, string ComputedDigest, long Bytes);

/// <summary>
/// Streams an artifact to <c>downloads/</c>, hashing as it writes and refusing past <c>MaxArtifactBytes</c>
/// (whatever Content-Length claims). A broken transfer is retried from the start a few times.
/// </summary>
public sealed class ArtifactDownloader(EngineClient engine)
{
    public async Task<DownloadedArtifact> DownloadAsync(string digest, string downloadsDirectory, long maxBytes, CancellationToken ct, int attempts = 3)
    {
        Directory.CreateDirectory(downloadsDirectory);
        for (var attempt = 1; ; attempt++)
        {
            var temp = Path.Combine(downloadsDirectory, $"{HexOf(digest)}.{Guid.NewGuid().ToString("N")[..8]}.part");
            try
            {
                using var response = await engine.OpenArtifactAsync(digest, ct);
                if (response.Content.Headers.ContentLength is > 0 and var length && length > maxBytes)
                    throw new ArtifactTooLargeException($"artifact is {length} bytes, past MaxArtifactBytes ({maxBytes})");
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                var computed = await CopyHashedAsync(body, temp, maxBytes, ct);
                return new DownloadedArtifact(temp, computed.Digest, computed.Bytes);
            }
            catch (Exception e) when (attempt < attempts && e is IOException or HttpRequestException && !ct.IsCancellationRequested)
            {
                TryDeleteFile(temp);
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
            }
            catch
            {
                TryDeleteFile(temp);
                throw;
            }
        }
    }

    /// <summary>Copies <paramref name="source"/> into a new file, returning "sha256:&lt;hex&gt;" of what was written.</summary>
    public static async Task<(string Digest, long Bytes)> CopyHashedAsync(Stream source, string path, long maxBytes, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0)
        {
            total += n;
            if (total > maxBytes) throw new ArtifactTooLargeException($"artifact exceeds MaxArtifactBytes ({maxBytes} bytes)");
            hash.AppendData(buffer, 0, n);
            await file.WriteAsync(buffer.AsMemory(0, n), ct);
        }

        return ("sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()), total);
    }

    public static async Task<string> DigestOfFileAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }

    /// <summary>The hex of "sha256:&lt;hex&gt;" (or of a bare hex string).</summary>
    public static string HexOf(string digest) => digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest;

    public static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

public sealed class ArtifactTooLargeException(string message) : Exception(message);
