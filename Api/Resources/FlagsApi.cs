using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Flags;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record FlagRuleRequest(Dictionary<string, string>? Match, string? Variant, Dictionary<string, int>? Split);

/// <summary>A flag: boolean (no variants: on = true, off = false) or multivariate (named JSON values).</summary>
public sealed record PutFlagRequest(
    string? Service, Dictionary<string, JsonElement>? Variants, string? DefaultVariant, string? OffVariant, bool? Enabled,
    List<FlagRuleRequest?>? Rules, double? Percentage, string? RolloutVariant, string? Release, string? Reason);

/// <summary>An approver's vote on a proposed flag change, or the reason for turning a flag off.</summary>
public sealed record FlagDecisionRequest(string? Reason);

/// <summary>An OFREP request: <c>{"context": {"targetingKey": "...", "environment": "staging", ...attributes}}</c>.</summary>
public sealed record OfrepRequest(Dictionary<string, JsonElement>? Context);

/// <summary>
/// Feature flags per service and environment (<c>/v1/environments/{name}/flags</c>) and their evaluation over the
/// OpenFeature Remote Evaluation Protocol (<c>/ofrep/v1/evaluate/flags</c>). OFREP answers use OFREP's own shapes
/// (<c>{key, value, reason, variant}</c>, errors as <c>{key, errorCode, errorDetails}</c>), which its providers parse;
/// the management API answers ProblemDetails like every other resource.
/// </summary>
public static class FlagsApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapFlagsApi(this IEndpointRouteBuilder routes)
    {
        var flags = routes.MapGroup("/v1/environments/{name}/flags").WithTags("Flags");
        flags.MapGet("/", List).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("Lists an environment's feature flags");
        flags.MapPut("/{key}", Put).RequireAuthorization(Policies.Flags).ScopedBy(Scope.Flag)
            .WithSummary("Set a flag; in a protected environment the change waits for approval (202)");
        flags.MapDelete("/{key}", Delete).RequireAuthorization(Policies.Flags).ScopedBy(Scope.Flag)
            .WithSummary("Delete a flag; in a protected environment the deletion waits for approval (202)");
        flags.MapPost("/{key}/off", Off).RequireAuthorization(Policies.Flags).ScopedBy(Scope.Flag)
            .WithSummary("The kill switch: turn a flag off at once, in any environment (audited, never held for approval)");
        flags.MapGet("/changes", Changes).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("Flag changes proposed in a protected environment: pending first, then the latest decided");
        flags.MapGet("/changes/{id}", Change).RequireAuthorization(Policies.Read).ScopedBy(Scope.FlagChange)
            .WithSummary("One proposed flag change: its votes, what it still needs, or how it was decided");
        flags.MapPost("/changes/{id}/approve", (string name, string id, FlagDecisionRequest? request, ClaimsPrincipal user, IGrainFactory grains) =>
            Decide(name, id, approve: true, request, user, grains)).RequireAuthorization(Policies.Approve).ScopedBy(Scope.FlagChange)
            .WithSummary("Approve a proposed flag change (not the proposer's own); it applies when the approvals are there");
        flags.MapPost("/changes/{id}/reject", (string name, string id, FlagDecisionRequest? request, ClaimsPrincipal user, IGrainFactory grains) =>
            Decide(name, id, approve: false, request, user, grains)).RequireAuthorization(Policies.Approve).ScopedBy(Scope.FlagChange)
            .WithSummary("Reject a proposed flag change, with the reason");
        var ofrep = routes.MapGroup("/ofrep/v1/evaluate/flags").WithTags("OFREP").RequireAuthorization(Policies.Read);
        ofrep.MapPost("/", EvaluateAll).ScopedBy(Scope.FlagEvaluation)
            .WithSummary("Evaluates every flag for a context (OFREP bulk evaluation)");
        ofrep.MapPost("/{key}", Evaluate).ScopedBy(Scope.FlagEvaluation)
            .WithSummary("Evaluates one flag for a context (OFREP)");
    }

    public static async Task<Results<Ok<FlagSetSnapshot>, ProblemHttpResult>> List(string name, IGrainFactory grains) =>
        Names.IsDnsLabel(name) ? TypedResults.Ok(await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Get()) : Problems.NotFound($"environment '{name}' does not exist");

    public static async Task<IResult> Put(
        string name, string key, PutFlagRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        var errors = new ValidationErrors();
        if (!IsKey(key)) errors.Add("key", "letters, digits, '.', '-', '_' (1-128 characters)");
        if (!Names.IsDnsLabel(request.Service)) errors.Add("service", "is required: a service name");
        if (request.Reason is { Length: > 1024 }) errors.Add("reason", "at most 1024 characters");
        if (request.Release is not null && !Names.IsHostId(request.Release)) errors.Add("release", "must be a release id");
        var variants = request.Variants?.ToDictionary(v => v.Key, v => v.Value.GetRawText(), StringComparer.Ordinal)
            ?? new Dictionary<string, string> { ["on"] = "true", ["off"] = "false" };
        if (variants.Keys.Any(v => !IsKey(v)) || variants.Values.Any(v => v.Length > 4096)) errors.Add("variants", "names: letters, digits, '.', '-', '_'; values: JSON of at most 4096 characters");
        var rules = (request.Rules ?? []).Select(r => new FlagRuleSpec
        {
            Match = r?.Match ?? new Dictionary<string, string>(),
            Variant = r?.Variant,
            Split = r?.Split,
        }).ToList();
        if (request.Rules?.Any(r => r is null) == true || rules.Count > 50) errors.Add("rules", "at most 50 rules, none null");
        var spec = new FlagSpec
        {
            Key = key,
            Service = request.Service ?? string.Empty,
            Variants = variants,
            DefaultVariant = request.DefaultVariant ?? (variants.ContainsKey("off") ? "off" : variants.Keys.FirstOrDefault() ?? string.Empty),
            OffVariant = request.OffVariant ?? request.DefaultVariant ?? (variants.ContainsKey("off") ? "off" : variants.Keys.FirstOrDefault() ?? string.Empty),
            Enabled = request.Enabled ?? true,
            Rules = rules,
            Percentage = request.Percentage,
            RolloutVariant = request.RolloutVariant ?? (request.Percentage is not null && variants.ContainsKey("on") ? "on" : null),
            Release = request.Release,
            Reason = request.Reason,
        };
        if (!errors.Any)
        {
            foreach (var (field, message) in FlagEvaluator.Check(ToDomain(spec))) errors.Add(field, message);
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        return Answer(name, await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Change(key, spec, user.Caller(), user.CallerRoles()));
    }

    public static async Task<IResult> Delete(string name, string key, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || !IsKey(key)) return Problems.NotFound($"flag '{key}' does not exist in '{name}'");
        return Answer(name, await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Change(key, null, user.Caller(), user.CallerRoles()));
    }

    /// <summary>The kill switch: the flag as it is, turned off. Never held for approval (FlagChangeRules).</summary>
    public static async Task<IResult> Off(string name, string key, FlagDecisionRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || !IsKey(key)) return Problems.NotFound($"flag '{key}' does not exist in '{name}'");
        if (request?.Reason is not { Length: > 0 and <= 1024 } reason) return Problems.Validation("reason", "is required (at most 1024 characters): why the flag is turned off");
        var set = grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name));
        var flag = (await set.Get()).Flags.FirstOrDefault(f => f.Key == key);
        if (flag is null) return Problems.NotFound($"flag '{key}' does not exist in '{name}'");
        return Answer(name, await set.Change(key, flag with { Enabled = false, Reason = reason }, user.Caller(), user.CallerRoles()));
    }

    /// <summary>
    /// The changes of the key's services: a change shows when the flag it sets and the flag it replaces or deletes are
    /// both of them (as <see cref="Scope.FlagChange"/> holds one change).
    /// </summary>
    public static async Task<IResult> Changes(string name, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        var scope = KeyScope.Of(user);
        var set = grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name));
        var changes = await set.Changes();
        if (scope.Services.Count == 0) return TypedResults.Ok(new { changes });
        var current = (await set.Get()).Flags.ToDictionary(f => f.Key, f => f.Service, StringComparer.Ordinal);
        return TypedResults.Ok(new
        {
            changes = changes.Where(c => (c.Flag is null || scope.AllowsService(c.Flag.Service))
                && (current.TryGetValue(c.Key, out var service) ? scope.AllowsService(service) : c.Flag is not null)),
        });
    }

    public static async Task<IResult> Change(string name, string id, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        var change = (await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Changes()).FirstOrDefault(c => c.Id == id);
        return change is null ? Problems.NotFound($"flag change '{id}' does not exist in '{name}'") : TypedResults.Ok(change);
    }

    private static async Task<IResult> Decide(string name, string id, bool approve, FlagDecisionRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        if (request?.Reason is { Length: > 1024 }) return Problems.Validation("reason", "at most 1024 characters");
        if (!approve && string.IsNullOrWhiteSpace(request?.Reason)) return Problems.Validation("reason", "is required: why the change is rejected");
        var set = grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name));
        var outcome = await set.Decide(id, approve, user.Caller(), user.CallerRoles(), request?.Reason);
        return outcome.Refusal is null ? TypedResults.Ok(outcome.Change) : Answer(name, outcome);
    }

    /// <summary>200 with the flag, 202 with a change waiting for approval, 204 for a deletion, or the refusal.</summary>
    private static IResult Answer(string environment, FlagChangeOutcome outcome) => outcome switch
    {
        { Refusal: { } why, Status: 404 } => Problems.NotFound(why),
        { Refusal: { } why, Status: 403 } => Problems.Forbidden(why),
        { Refusal: { } why, Status: 422 } => Problems.SelfAuthorisation(why),
        { Refusal: { } why } => Problems.Conflict(why),
        { Applied: { } flag } => TypedResults.Ok(flag),
        { Deleted: true } => TypedResults.NoContent(),
        { Change: { State: "pending" } change } => TypedResults.Accepted($"/v1/environments/{environment}/flags/changes/{change.Id}", change),
        { Change: { } decided } => TypedResults.Ok(decided),
        _ => TypedResults.NoContent(),
    };

    public static async Task<IResult> Evaluate(string key, OfrepRequest? request, IGrainFactory grains)
    {
        if (!TryContext(request, out var environment, out var context, out var error)) return Error(400, key, error.Code, error.Details);
        var set = await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(environment)).Get();
        if (set.Flags.FirstOrDefault(f => f.Key == key) is not { } flag) return Error(404, key, "FLAG_NOT_FOUND", $"no flag '{key}' in environment '{environment}'");
        var result = FlagEvaluator.Evaluate(ToDomain(flag), context);
        return result.ErrorCode is { } code ? Error(400, key, code, result.ErrorDetails) : Results.Json(Answer(result, flag), Json);
    }

    public static async Task<IResult> EvaluateAll(OfrepRequest? request, HttpContext http, IGrainFactory grains)
    {
        if (!TryContext(request, out var environment, out var context, out var error))
        {
            return Results.Json(new { errorCode = error.Code, errorDetails = error.Details }, Json, statusCode: 400);
        }

        var set = await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(environment)).Get();
        var service = context.Attributes.GetValueOrDefault("service");

        // The answer depends on the flags (their version) and on the context: both are in the ETag.
        var etag = "\"" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{environment}\n{set.Version}\n{context.TargetingKey}\n{string.Join('\n', context.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value))}")))[..32].ToLowerInvariant() + "\"";
        http.Response.Headers.ETag = etag;
        if (http.Request.Headers.IfNoneMatch.Any(v => v == etag || v == "*")) return Results.StatusCode(StatusCodes.Status304NotModified);

        var flags = set.Flags.Where(f => service is null || f.Service == service).Select(f =>
        {
            var result = FlagEvaluator.Evaluate(ToDomain(f), context);
            return result.ErrorCode is { } code ? (object)new { key = f.Key, errorCode = code, errorDetails = result.ErrorDetails } : Answer(result, f);
        }).ToList();
        return Results.Json(new { flags }, Json);
    }

    private static bool TryContext(OfrepRequest? request, out string environment, out FlagContext context, out (string Code, string Details) error)
    {
        environment = string.Empty;
        context = new FlagContext(null, new Dictionary<string, string>());
        error = default;
        if (request?.Context is not { } raw)
        {
            error = ("INVALID_CONTEXT", "a context is required: {\"context\": {\"targetingKey\": \"...\", \"environment\": \"...\"}}");
            return false;
        }

        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in raw)
        {
            if (name == "targetingKey") continue;
            attributes[name] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => string.Empty,
            };
        }

        string? targetingKey = null;
        if (raw.TryGetValue("targetingKey", out var tk))
        {
            if (tk.ValueKind != JsonValueKind.String || tk.GetString() is not { Length: > 0 and <= 256 } key)
            {
                error = ("INVALID_CONTEXT", "targetingKey must be a string of 1-256 characters");
                return false;
            }

            targetingKey = key;
        }

        if (!attributes.TryGetValue("environment", out var env) || !Names.IsDnsLabel(env))
        {
            error = ("INVALID_CONTEXT", "context.environment must name the environment whose flags to evaluate");
            return false;
        }

        environment = env;
        context = new FlagContext(targetingKey, attributes);
        return true;
    }

    private static object Answer(FlagEvaluation result, FlagSpec flag) => new
    {
        key = result.Key,
        value = result.Value,
        reason = result.Reason.ToString(),
        variant = result.Variant,
        metadata = new { service = flag.Service },
    };

    private static IResult Error(int status, string key, string code, string? details) =>
        Results.Json(new { key, errorCode = code, errorDetails = details }, Json, statusCode: status);

    private static FlagDefinition ToDomain(FlagSpec f) => new(
        f.Key,
        f.Variants.ToDictionary(v => v.Key, v => JsonNode.Parse(v.Value), StringComparer.Ordinal),
        f.DefaultVariant,
        f.OffVariant,
        f.Enabled,
        f.Rules.Select(r => new FlagRule(r.Match, r.Variant, r.Split)).ToList(),
        f.Percentage,
        f.RolloutVariant);

    private static bool IsKey(string? key) => key is { Length: > 0 and <= 128 } && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');
}
