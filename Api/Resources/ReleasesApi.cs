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
    Dictionary<string, string>? Metadata,
    string? Class = null,
    ReleaseRiskRequest? Risk = null,
    string? ChangeRecord = null,
    List<KnownIssueRequest?>? KnownIssues = null,
    DateTimeOffset? CommitTime = null,
    ReleaseSchemaRequest? Schema = null);

/// <summary>Expand/contract: <c>{phase: contract, requires: 3, drops: 2}</c> (docs/rollouts.md).</summary>
public sealed record ReleaseSchemaRequest(string? Phase, int? Requires, int? Drops);

/// <summary>Declared risk signals: customerFacing, visibility (none, low, high), schemaChange (none, compatible, breaking), dataMigration.</summary>
public sealed record ReleaseRiskRequest(bool? CustomerFacing, string? Visibility, string? SchemaChange, bool? DataMigration);

public sealed record KnownIssueRequest(string? Issue, string? Workaround);

public sealed record ApprovalRequest(string? Environment, string? Decision, string? Reason);

public sealed record ReadinessRequest(string? Item, string? SignedOffBy, string? Note);

public static class ReleasesApi
{
    public static RouteGroupBuilder MapReleasesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/releases").WithTags("Releases");
        group.MapPost("/", Create).RequireAuthorization(Policies.Submit).ScopedBy(Scope.NewRelease).AddEndpointFilter<IdempotencyFilter>()
            .WithSummary("Submits a release (an Idempotency-Key makes a retry safe)");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Release)
            .WithSummary("A release and its rollouts");
        group.MapGet("/{id}/governance", Governance).RequireAuthorization(Policies.Read).ScopedBy(Scope.ReleaseAndBodyEnvironment)
            .WithSummary("A release's governance: approvals, readiness sign-offs, change records and what is still missing");
        group.MapPost("/{id}/approvals", Vote).RequireAuthorization(Policies.Approve).ScopedBy(Scope.ReleaseAndBodyEnvironment)
            .WithSummary("Approves or rejects a release (an approver cannot approve their own submission)");
        group.MapPost("/{id}/readiness", SignOff).RequireAuthorization(Policies.Approve).ScopedBy(Scope.Release)
            .WithSummary("Signs off one item of a release's readiness checklist");
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
        if (request.CommitTime is { } committed && committed > clock.GetUtcNow().AddMinutes(5))
            errors.Add("commitTime", "must not be in the future (an RFC 3339 time with an offset, e.g. 2026-12-05T08:00:00Z)");
        if (request.Metadata is { } metadata && (metadata.Count > 64 || metadata.Any(kv => kv.Key.Length is 0 or > 128 || kv.Value is null || kv.Value.Length > 1024)))
            errors.Add("metadata", "at most 64 entries; keys 1-128 characters, values up to 1024 characters");
        if (request.Metadata?.ContainsKey(EnvironmentMetadataKeys.Reconciles) == true)
            errors.Add("metadata", $"'{EnvironmentMetadataKeys.Reconciles}' is reserved: only the engine's drift reconcile marks a release as re-applying another");
        ValidateGovernance(request, errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var id = "rel-" + Guid.NewGuid().ToString("n")[..16];
        var result = await grains.Ref<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = request.Service!,
            Version = request.Version!,
            Artifact = request.Artifact!,
            Commit = request.Commit,
            CommitTime = request.CommitTime,
            Metadata = request.Metadata ?? [],
            SubmittedBy = user.Caller(),
            Class = request.Class?.ToLowerInvariant() ?? "standard",
            Risk = new ReleaseRiskDeclaration
            {
                CustomerFacing = request.Risk?.CustomerFacing ?? false,
                Visibility = request.Risk?.Visibility?.ToLowerInvariant() ?? "none",
                SchemaChange = request.Risk?.SchemaChange?.ToLowerInvariant() ?? "none",
                DataMigration = request.Risk?.DataMigration ?? false,
            },
            ChangeRecord = request.ChangeRecord,
            KnownIssues = (request.KnownIssues ?? []).Select(k => new KnownIssue { Issue = k!.Issue!, Workaround = k.Workaround }).ToList(),
            Schema = request.Schema is { } schema ? new ReleaseSchema { Phase = schema.Phase!.ToLowerInvariant(), Requires = schema.Requires!.Value, Drops = schema.Drops } : null,
        });
        if (!result.Ok) return Problems.From(result);

        try
        {
            await grains.RecordAction(user, EventTypes.ReleaseSubmitted, "release/" + id,
                $"release {request.Service} {request.Version} submitted", clock,
                new Dictionary<string, string?> { ["release"] = id, ["service"] = request.Service, ["artifact"] = request.Artifact, ["commit"] = request.Commit });
        }
        catch
        {
            // Not audited, so not acknowledged: the release is taken back before the failure becomes a 503 that
            // says nothing was changed. Nothing can name it yet (its id was never returned).
            await grains.Ref<IReleaseGrain>(id).Withdraw();
            throw;
        }

        return TypedResults.Created($"/v1/releases/{id}", result.Value!);
    }

    public static async Task<Results<Ok<ReleaseSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseGrain>(id).Get() is { } release
            ? TypedResults.Ok(release with { Provenance = await SupplyChainApi.VerifiedProvenance(id, grains) })
            : Problems.NotFound($"release '{id}' does not exist");

    private static readonly string[] Classes = ["standard", "emergency", "major"];

    private static void ValidateGovernance(CreateReleaseRequest request, ValidationErrors errors)
    {
        if (request.Class is { } c && !Classes.Contains(c.ToLowerInvariant())) errors.Add("class", "must be standard, emergency or major");
        if (request.Risk?.Visibility is { } v && v.ToLowerInvariant() is not ("none" or "low" or "high")) errors.Add("risk.visibility", "must be none, low or high");
        if (request.Risk?.SchemaChange is { } sc && sc.ToLowerInvariant() is not ("none" or "compatible" or "breaking"))
            errors.Add("risk.schemaChange", "must be none, compatible or breaking (not backward-compatible)");
        if (request.ChangeRecord is { } record && (!Names.IsHostId(record) || record.Length > 64))
            errors.Add("changeRecord", "must be 1-64 characters: letters, digits, '.', '-', '_'");
        if (request.KnownIssues is { } issues && (issues.Count > 32 || issues.Any(i => i is null || string.IsNullOrWhiteSpace(i.Issue) || i.Issue.Length > 1024 || i.Workaround?.Length > 2048)))
            errors.Add("knownIssues", "at most 32 entries, each with an issue (1-1024 characters) and an optional workaround (up to 2048)");
        if (request.Schema is { } schema)
        {
            foreach (var (field, message) in Domain.Schema.SchemaRules.Validate(schema.Phase, schema.Requires, schema.Drops)) errors.Add("schema." + field, message);
        }
    }

    /// <summary>Class, risk and reasons, required gates, approvals, readiness, change record and what blocks, for one environment.</summary>
    public static async Task<Results<Ok<GovernanceSnapshot>, ValidationProblem, ProblemHttpResult>> Governance(string id, string? environment, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(environment)) return Problems.Validation("environment", "must be the name of an environment (a lower-case DNS label)");
        return Names.IsHostId(id) && await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(id, environment!) is { } view
            ? TypedResults.Ok(view)
            : Problems.NotFound($"release '{id}' does not exist");
    }

    public static async Task<Results<Ok<GovernanceSnapshot>, ValidationProblem, ProblemHttpResult>> Vote(
        string id, ApprovalRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be the name of an environment (a lower-case DNS label)");
        var decision = request.Decision?.ToLowerInvariant();
        if (decision is not ("approve" or "reject")) errors.Add("decision", "must be approve or reject");
        if (decision == "reject" && string.IsNullOrWhiteSpace(request.Reason)) errors.Add("reason", "a rejection needs a reason");
        if (request.Reason?.Length > 1024) errors.Add("reason", "at most 1024 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsHostId(id)) return Problems.NotFound($"release '{id}' does not exist");

        var result = await grains.Ref<IReleaseGrain>(id).Vote(new ApprovalCommand
        {
            Environment = request.Environment!,
            Approve = decision == "approve",
            Reason = request.Reason,
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        if (!result.Ok) return Problems.From(result);
        var view = await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(id, request.Environment!);
        return TypedResults.Ok(view!);
    }

    public static async Task<Results<Ok<ReleaseSnapshot>, ValidationProblem, ProblemHttpResult>> SignOff(
        string id, ReadinessRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Item) || request.Item.Length > 64) errors.Add("item", "must name a readiness checklist item");
        if (request.SignedOffBy is { } by && (string.IsNullOrWhiteSpace(by) || by.Length > 128 || by.Any(char.IsControl))) errors.Add("signedOffBy", "must be 1-128 printable characters");
        if (request.Note?.Length > 2048) errors.Add("note", "at most 2048 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsHostId(id)) return Problems.NotFound($"release '{id}' does not exist");

        var result = await grains.Ref<IReleaseGrain>(id).SignOff(new ReadinessCommand
        {
            Item = request.Item!,
            SignedOffBy = request.SignedOffBy,
            Note = request.Note,
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!)
            : result.Error == ErrorKind.Validation ? Problems.Validation(result.Errors!, result.Detail!)
            : Problems.From(result);
    }
}
