using System.Security.Claims;
using System.Text.Json;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record WaiverRequest(string? Finding, string? Environment, string? Reason, DateTimeOffset? ExpiresAt);

/// <summary>
/// A release's supply-chain evidence: DSSE-signed SLSA provenance, a CycloneDX SBOM, waivers of SBOM findings, and
/// what each configured environment makes of them.
/// </summary>
public static class SupplyChainApi
{
    public static RouteGroupBuilder MapSupplyChainApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/releases/{id}").WithTags("Supply chain");
        group.MapPost("/attestations", AttachAttestation).RequireAuthorization(Policies.Submit).ScopedBy(Scope.Release)
            .WithSummary("Attaches a provenance attestation to a release");
        group.MapPost("/sbom", AttachSbom).RequireAuthorization(Policies.Submit).ScopedBy(Scope.Release)
            .WithSummary("Attaches an SBOM to a release");
        group.MapPost("/waivers", GrantWaiver).RequireAuthorization(Policies.Waive).ScopedBy(Scope.Release)
            .AddEndpointFilter<IdempotencyFilter>()
            .WithSummary("Waives a supply-chain finding for a release, with a reason and an expiry");
        group.MapGet("/provenance", GetProvenance).RequireAuthorization(Policies.Read).ScopedBy(Scope.Release)
            .WithSummary("A release's provenance and whether it verifies");
        group.MapGet("/sbom-findings", GetSbomFindings).RequireAuthorization(Policies.Read).ScopedBy(Scope.Release)
            .WithSummary("The findings of a release's SBOM against the license and vulnerability policy");
        return group;
    }

    /// <summary>Body: a DSSE envelope {payloadType, payload, signatures[{keyid, sig}]} holding an in-toto SLSA v1 statement.</summary>
    public static async Task<Results<Ok<AttestationResult>, ProblemHttpResult>> AttachAttestation(
        string id, JsonElement envelope, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsHostId(id)) return Problems.NotFound($"release '{id}' does not exist");
        var result = await grains.Ref<IReleaseEvidenceGrain>(id).AttachAttestation(envelope.GetRawText(), Actor(user));
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    /// <summary>Body: a CycloneDX JSON SBOM (1.4-1.7); it replaces the one attached before.</summary>
    public static async Task<Results<Ok<SbomFindingsView>, ProblemHttpResult>> AttachSbom(
        string id, JsonElement sbom, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsHostId(id)) return Problems.NotFound($"release '{id}' does not exist");
        var result = await grains.Ref<IReleaseEvidenceGrain>(id).AttachSbom(sbom.GetRawText(), Actor(user));
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Created<WaiverSnapshot>, ValidationProblem, ProblemHttpResult>> GrantWaiver(
        string id, WaiverRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsHostId(id)) return Problems.NotFound($"release '{id}' does not exist");
        var errors = new ValidationErrors();
        if (request.Finding is not { Length: > 0 and <= 2048 }) errors.Add("finding", "is required: a finding id from GET /v1/releases/{id}/sbom-findings");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be a lower-case DNS label (the environment the waiver applies in)");
        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > 1024) errors.Add("reason", "is required: why the finding may be accepted (1-1024 characters)");
        if (request.ExpiresAt is null) errors.Add("expiresAt", "is required: when the waiver ends (ISO 8601)");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IReleaseEvidenceGrain>(id).GrantWaiver(new WaiverDraft
        {
            Finding = request.Finding!,
            Environment = request.Environment!,
            Reason = request.Reason!,
            ExpiresAt = request.ExpiresAt!.Value,
            Approver = Actor(user),
        });
        return result.Ok ? TypedResults.Created($"/v1/releases/{id}/sbom-findings", result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<ProvenanceView>, ProblemHttpResult>> GetProvenance(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseEvidenceGrain>(id).GetProvenance() is { } view
            ? TypedResults.Ok(view)
            : Problems.NotFound($"release '{id}' does not exist");

    public static async Task<Results<Ok<SbomFindingsView>, ProblemHttpResult>> GetSbomFindings(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseEvidenceGrain>(id).GetSbomFindings() is { } view
            ? TypedResults.Ok(view)
            : Problems.NotFound($"release '{id}' does not exist");

    /// <summary>What GET /v1/releases/{id} shows: the facts verified per environment (null when none).</summary>
    public static async Task<IReadOnlyDictionary<string, VerifiedProvenance>?> VerifiedProvenance(string releaseId, IGrainFactory grains)
    {
        var view = await grains.Ref<IReleaseEvidenceGrain>(releaseId).GetProvenance();
        var verified = view?.Environments.Where(e => e.Verified is not null).ToDictionary(e => e.Environment, e => e.Verified!, StringComparer.Ordinal);
        return verified is { Count: > 0 } ? verified : null;
    }

    private static EvidenceActor Actor(ClaimsPrincipal user) => new()
    {
        Name = user.Caller(),
        Roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList(),
    };
}
