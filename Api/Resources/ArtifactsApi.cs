using System.Security.Claims;
using System.Security.Cryptography;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Resources;

public sealed record RegisterExternalArtifactRequest(string? Digest, string? Url, long? Size);

/// <summary>An artifact's metadata: the snapshot plus the environments its releases were rolled out to.</summary>
public sealed record ArtifactMetaResponse(
    string Digest,
    bool Stored,
    long? Size,
    string? UploadedBy,
    DateTimeOffset? UploadedAt,
    string? ExternalUrl,
    IReadOnlyList<ArtifactRelease> Releases,
    IReadOnlyList<string> Environments,
    DateTimeOffset? DeletedAt,
    string? DeletedWhy,
    string? LastVerificationFailure);

/// <summary>
/// The content-addressed artifact store.
/// <list type="bullet">
/// <item><c>PUT /v1/artifacts/sha256:{hex}</c> (pipeline): the body is the bytes; stored only if they hash to the
/// digest in the path (422 otherwise); 201 when stored, 200 when those bytes were stored already.</item>
/// <item><c>GET /v1/artifacts/sha256:{hex}</c> (operators; agents of environments the artifact was released to): the
/// bytes, verified (see <see cref="ArtifactOptions.VerifyBeforeSendBytes"/>); an artifact registered by URL redirects there.</item>
/// <item><c>POST /v1/artifacts/external</c> (pipeline), <c>GET /v1/artifacts/sha256:{hex}/meta</c>, <c>GET /v1/artifacts?service=</c>
/// (operators), <c>POST /v1/artifacts/retention/run</c> (operators), <c>GET /v1/artifacts/sha256:{hex}/events</c> (operators).</item>
/// </list>
/// Viewers list and read nothing here: there is no team model to scope a listing to.
/// </summary>
public static partial class ArtifactsApi
{
    private const int CopyBufferBytes = 81920;

    private static readonly string[] CredentialQueryKeys =
        ["sig", "signature", "token", "access_token", "x-amz-signature", "x-amz-credential", "x-goog-signature", "x-goog-credential", "password", "secret", "key", "code"];

    public static RouteGroupBuilder MapArtifactsApi(this IEndpointRouteBuilder routes)
    {
        var options = routes.ServiceProvider.GetRequiredService<IOptions<ArtifactOptions>>().Value;
        var group = routes.MapGroup("/v1/artifacts").WithTags("Artifacts");
        group.MapPut("/{digest}", Upload).RequireAuthorization(Policies.ArtifactUpload).ScopeFree("content-addressed bytes that must hash to the digest; no service or environment holds them until a release names them")
            .WithMetadata(new BodySizeLimit(options.MaxUploadBytes))
            .WithSummary("Uploads an artifact under its sha256 digest").WithDescription("The engine computes the digest of the body and refuses an upload whose content does not match the digest in the path; uploading the same content again changes nothing.");
        group.MapGet("/{digest}", Download).RequireAuthorization(Policies.ArtifactDownload).ScopedBy(Scope.Artifact)
            .WithSummary("Downloads an artifact");
        group.MapGet("/{digest}/meta", Meta).RequireAuthorization(Policies.ArtifactMeta).ScopedBy(Scope.Artifact)
            .WithSummary("An artifact's metadata: size, digest, who uploaded it, and which releases use it");
        group.MapGet("/{digest}/events", Events).RequireAuthorization(Policies.ArtifactAdmin).ScopedBy(Scope.Artifact)
            .WithSummary("An artifact's history: uploads, downloads by agents, verifications and retention");
        group.MapPost("/external", RegisterExternal).RequireAuthorization(Policies.ArtifactUpload).ScopeFree("registers where content-addressed bytes live; agents verify the digest; no service holds them until a release names them")
            .WithSummary("Registers an artifact stored elsewhere by its URL and digest");
        group.MapGet("/", List).RequireAuthorization(Policies.ArtifactAdmin).ScopedBy(Scope.ServiceFilter)
            .WithSummary("Lists the artifacts the engine stores or knows of");
        group.MapPost("/retention/run", RunRetention).RequireAuthorization(Policies.ArtifactAdmin).UnscopedKeysOnly("retention removes artifacts of every service and environment")
            .WithSummary("Runs artifact retention now (dryRun=true only reports what it would delete)").WithDescription("Keeps what is deployed anywhere, the rollback target of a live host, the last releases per service and environment, and anything younger than the configured age; the answer lists what was removed and what was kept, each with why.");
        return group;
    }

    public static async Task<Results<Created<ArtifactSnapshot>, Ok<ArtifactSnapshot>, ValidationProblem, ProblemHttpResult>> Upload(
        string digest, HttpRequest request, ClaimsPrincipal user, IArtifactStore store, IGrainFactory grains, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!ArtifactDigest.IsValid(digest)) return DigestProblem();

        var written = await store.Write(digest, request.Body, cancellationToken);
        if (written.Outcome == ArtifactWriteOutcome.DigestMismatch)
        {
            LogDigestMismatch(loggers.CreateLogger(typeof(ArtifactsApi)), user.Caller(), digest, written.ComputedDigest);
            return Refused($"content digest mismatch: claimed {digest}, computed {written.ComputedDigest}; nothing was stored");
        }

        var snapshot = await grains.Ref<IArtifactGrain>(digest).RecordUploaded(written.Size, Actor(user));
        return written.Outcome == ArtifactWriteOutcome.Created
            ? TypedResults.Created($"/v1/artifacts/{digest}", snapshot)
            : TypedResults.Ok(snapshot);
    }

    public static async Task<Results<FileContentHttpResult, PushStreamHttpResult, RedirectHttpResult, ValidationProblem, ProblemHttpResult>> Download(
        string digest, HttpContext http, ClaimsPrincipal user, IArtifactStore store, IGrainFactory grains,
        IOptions<ArtifactOptions> options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!ArtifactDigest.IsValid(digest)) return DigestProblem();
        var artifact = await grains.Ref<IArtifactGrain>(digest).Get();
        if (artifact is null || !await MayRead(user, artifact, grains))
        {
            // An agent is told "not found" for what it may not read, so it cannot probe which artifacts exist.
            return Problems.NotFound($"artifact '{digest}' does not exist or is not released to this agent's environments");
        }

        if (!artifact.Stored)
        {
            return artifact.ExternalUrl is { } url
                ? TypedResults.Redirect(url, permanent: false, preserveMethod: true)
                : Problems.NotFound($"the bytes of artifact '{digest}' are not in the store ({artifact.DeletedWhy ?? "never uploaded"})");
        }

        var content = await store.Open(digest, cancellationToken);
        if (content is null) return Problems.NotFound($"the bytes of artifact '{digest}' are not in the store");

        var logger = loggers.CreateLogger(typeof(ArtifactsApi));
        http.Response.Headers.ETag = $"\"{digest}\"";
        http.Response.Headers["Repr-Digest"] = ReprDigest(digest);
        if (content.Size <= options.Value.VerifyBeforeSendBytes)
        {
            // Small enough to hold: verified before the first byte leaves, so altered bytes are a clean 422.
            await using (content)
            {
                using var buffer = new MemoryStream((int)content.Size);
                await content.Content.CopyToAsync(buffer, cancellationToken);
                var computed = ArtifactDigest.Prefix + Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
                if (!string.Equals(computed, digest, StringComparison.Ordinal))
                {
                    http.Response.Headers.Remove("Repr-Digest");
                    await Tampered(grains, logger, user, digest, computed);
                    return Refused($"artifact verification failed: expected {digest}, got {computed}; the stored bytes were altered and are not served");
                }

                return TypedResults.File(buffer.ToArray(), "application/octet-stream", enableRangeProcessing: false);
            }
        }

        return TypedResults.Stream(body => StreamVerified(content, body, http, grains, logger, user, digest), "application/octet-stream");
    }

    /// <summary>
    /// Streams large artifacts while hashing, always holding back the last chunk read: only when the whole content
    /// hashes to the digest is that chunk sent. Otherwise the connection is aborted, so the client sees a body shorter
    /// than its Content-Length (a failed download), never a complete copy of altered bytes.
    /// </summary>
    private static async Task StreamVerified(StoredArtifactContent content, Stream body, HttpContext http, IGrainFactory grains, ILogger logger, ClaimsPrincipal user, string digest)
    {
        await using var _ = content;
        http.Response.ContentLength = content.Size;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var held = new byte[CopyBufferBytes];
        var next = new byte[CopyBufferBytes];
        var heldCount = 0;
        int read;
        while ((read = await content.Content.ReadAsync(next, http.RequestAborted)) > 0)
        {
            if (heldCount > 0) await body.WriteAsync(held.AsMemory(0, heldCount), http.RequestAborted);
            hash.AppendData(next, 0, read);
            (held, next, heldCount) = (next, held, read);
        }

        var computed = ArtifactDigest.Prefix + Convert.ToHexStringLower(hash.GetCurrentHash());
        if (!string.Equals(computed, digest, StringComparison.Ordinal))
        {
            await Tampered(grains, logger, user, digest, computed);
            http.Abort();
            return;
        }

        if (heldCount > 0) await body.WriteAsync(held.AsMemory(0, heldCount), http.RequestAborted);
    }

    public static async Task<Results<Ok<ArtifactMetaResponse>, ValidationProblem, ProblemHttpResult>> Meta(string digest, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!ArtifactDigest.IsValid(digest)) return DigestProblem();
        var artifact = await grains.Ref<IArtifactGrain>(digest).Get();
        if (artifact is null || (!user.IsInRole(Roles.Pipeline) && !await MayRead(user, artifact, grains)))
        {
            return Problems.NotFound($"artifact '{digest}' does not exist or is not released to this agent's environments");
        }

        var environments = await EnvironmentsOf(artifact, grains);
        return TypedResults.Ok(new ArtifactMetaResponse(artifact.Digest, artifact.Stored, artifact.Size, artifact.UploadedBy, artifact.UploadedAt,
            artifact.ExternalUrl, artifact.Releases, environments.Order(StringComparer.Ordinal).ToList(), artifact.DeletedAt, artifact.DeletedWhy,
            artifact.LastVerificationFailure));
    }

    public static async Task<Results<Ok<Page<EngineEvent>>, ValidationProblem>> Events(string digest, IGrainFactory grains, long? after, int? limit)
    {
        if (!ArtifactDigest.IsValid(digest)) return DigestProblem();
        if (after is < 0) return Problems.Validation("after", "must be zero or more");
        if (limit is < 1 or > 1000) return Problems.Validation("limit", "must be from 1 to 1000");
        return TypedResults.Ok(await grains.Ref<IEventHistoryGrain>(GrainKeys.ArtifactEvents(digest)).Read(after ?? 0, limit ?? 200));
    }

    public static async Task<Results<Created<ArtifactSnapshot>, ValidationProblem, ProblemHttpResult>> RegisterExternal(
        RegisterExternalArtifactRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!ArtifactDigest.IsValid(request.Digest)) errors.Add("digest", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");
        if (ExternalUrlError(request.Url) is { } urlError) errors.Add("url", urlError);
        if (request.Size is < 0) errors.Add("size", "must be zero or more");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IArtifactGrain>(request.Digest!).RegisterExternal(request.Url!, request.Size, Actor(user));
        return result.Ok ? TypedResults.Created($"/v1/artifacts/{request.Digest}", result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<Page<ArtifactCatalogEntry>>, ValidationProblem>> List(IGrainFactory grains, string? service, int? offset, int? limit)
    {
        if (service is not null && !Names.IsDnsLabel(service)) return Problems.Validation("service", "must be a service name");
        if (offset is < 0) return Problems.Validation("offset", "must be zero or more");
        if (limit is < 1 or > 500) return Problems.Validation("limit", "must be from 1 to 500");
        var all = await grains.Ref<IArtifactCatalogGrain>(GrainKeys.ArtifactCatalog).List(service);
        var skip = offset ?? 0;
        var take = limit ?? 100;
        return TypedResults.Ok(new Page<ArtifactCatalogEntry> { Items = all.Skip(skip).Take(take).ToList(), Total = all.Count, Offset = skip, Limit = take });
    }

    /// <summary>Runs the configured retention policy now; <c>?dryRun=true</c> reports without removing.</summary>
    public static async Task<Ok<RetentionReport>> RunRetention(ClaimsPrincipal user, IGrainFactory grains, bool? dryRun) =>
        TypedResults.Ok(await grains.Ref<IArtifactCatalogGrain>(GrainKeys.ArtifactCatalog).RunRetention(Actor(user), dryRun ?? false));

    /// <summary>Operators read everything; an agent reads an artifact released to (rolled out in) one of its key's environments.</summary>
    private static async Task<bool> MayRead(ClaimsPrincipal user, ArtifactSnapshot artifact, IGrainFactory grains)
    {
        if (user.IsInRole(Roles.Operator)) return true;
        if (!user.IsInRole(Roles.Agent)) return false;
        var mine = user.AgentEnvironments();
        return mine.Count > 0 && (await EnvironmentsOf(artifact, grains)).Overlaps(mine);
    }

    /// <summary>The environments the artifact's releases were rolled out to.</summary>
    private static async Task<HashSet<string>> EnvironmentsOf(ArtifactSnapshot artifact, IGrainFactory grains)
    {
        var releases = await Task.WhenAll(artifact.Releases.Select(r => grains.Ref<IReleaseGrain>(r.ReleaseId).Get()));
        return releases.OfType<ReleaseSnapshot>()
            .SelectMany(r => r.Rollouts)
            .Select(r => GrainKeys.TryParseRollout(r, out _, out var environment) ? environment : null)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>https only, absolute, no user info and no query parameter that carries a credential (a signed URL would leak its signature to every reader).</summary>
    internal static string? ExternalUrlError(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "must be an absolute https URL of at most 2048 characters";
        if (uri.Scheme != Uri.UriSchemeHttps) return "must use https";
        if (uri.UserInfo.Length > 0) return "must not carry credentials (user info)";
        var keys = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => Uri.UnescapeDataString(p.Split('=')[0]).ToLowerInvariant());
        return keys.FirstOrDefault(k => CredentialQueryKeys.Contains(k, StringComparer.Ordinal)) is { } key
            ? $"must not carry credentials (query parameter '{key}')"
            : null;
    }

    private static async Task Tampered(IGrainFactory grains, ILogger logger, ClaimsPrincipal user, string digest, string computed)
    {
        LogTampered(logger, digest, computed, user.Caller());
        await grains.Ref<IArtifactGrain>(digest).RecordVerificationFailure(computed, "stored bytes read back for a download", Actor(user));
    }

    private static ArtifactActor Actor(ClaimsPrincipal user) => new() { Name = user.Caller(), Role = user.CallerRoles() };

    /// <summary>RFC 9530: <c>sha-256=:base64:</c>, so a client can verify what it received.</summary>
    private static string ReprDigest(string digest) => $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(digest.AsSpan(ArtifactDigest.Prefix.Length)))}:";

    private static ValidationProblem DigestProblem() =>
        Problems.Validation("digest", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");

    private static ProblemHttpResult Refused(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Refused by policy", type: Problems.PolicyType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload by {Caller} refused: claimed {Claimed}, computed {Computed}")]
    private static partial void LogDigestMismatch(ILogger logger, string caller, string claimed, string computed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stored artifact {Digest} hashes to {Computed}: not served to {Caller}")]
    private static partial void LogTampered(ILogger logger, string digest, string computed, string caller);
}
