using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record CreateReleaseRequest(
    string? Service,
    string? Version,
    string? Artifact,
    string? Commit,
    Dictionary<string, string>? Metadata);

public static class ReleasesApi
{
    public static RouteGroupBuilder MapReleasesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/releases").WithTags("Releases");
        group.MapPost("/", Create).RequireAuthorization(Policies.Submit).AddEndpointFilter<IdempotencyFilter>();
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read);
        return group;
    }

    public static async Task<Results<Created<ReleaseSnapshot>, ValidationProblem, ProblemHttpResult>> Create(
        CreateReleaseRequest request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(request.Service)) errors.Add("service", "must be a lower-case DNS label (a-z, 0-9, '-'; 1-63 characters)");
        if (!Names.IsVersion(request.Version)) errors.Add("version", "must be 1-64 characters: letters, digits, '.', '+', '_', '-'");
        if (!ArtifactDigest.IsValid(request.Artifact)) errors.Add("artifact", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");
        if (request.Commit is { } commit && (commit.Length is 0 or > 64 || !commit.All(char.IsAsciiLetterOrDigit)))
            errors.Add("commit", "must be 1-64 letters or digits (a commit hash)");
        if (request.Metadata is { } metadata && (metadata.Count > 64 || metadata.Any(kv => kv.Key.Length is 0 or > 128 || kv.Value is null || kv.Value.Length > 1024)))
            errors.Add("metadata", "at most 64 entries; keys 1-128 characters, values up to 1024 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var id = "rel-" + Guid.NewGuid().ToString("n")[..16];
        var result = await grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = request.Service!,
            Version = request.Version!,
            Artifact = request.Artifact!,
            Commit = request.Commit,
            Metadata = request.Metadata ?? [],
            SubmittedBy = user.Caller(),
        });
        if (!result.Ok) return Problems.Conflict(result.Detail!);

        await grains.RecordAction(user, EventTypes.ReleaseSubmitted, "release/" + id,
            $"release {request.Service} {request.Version} submitted", clock,
            new Dictionary<string, string?> { ["release"] = id, ["service"] = request.Service, ["artifact"] = request.Artifact, ["commit"] = request.Commit });
        return TypedResults.Created($"/v1/releases/{id}", result.Value!);
    }

    public static async Task<Results<Ok<ReleaseSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.GetGrain<IReleaseGrain>(id).Get() is { } release
            ? TypedResults.Ok(release with { Provenance = await SupplyChainApi.VerifiedProvenance(id, grains) })
            : Problems.NotFound($"release '{id}' does not exist");
}
