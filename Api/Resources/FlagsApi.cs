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
        flags.MapGet("/", List).RequireAuthorization(Policies.Read)
            .WithSummary("Lists an environment's feature flags");
        flags.MapPut("/{key}", Put).RequireAuthorization(Policies.Flags)
            .WithSummary("Creates or replaces a feature flag");
        flags.MapDelete("/{key}", Delete).RequireAuthorization(Policies.Flags)
            .WithSummary("Deletes a feature flag");
        var ofrep = routes.MapGroup("/ofrep/v1/evaluate/flags").WithTags("OFREP").RequireAuthorization(Policies.Read);
        ofrep.MapPost("/", EvaluateAll)
            .WithSummary("Evaluates every flag for a context (OFREP bulk evaluation)");
        ofrep.MapPost("/{key}", Evaluate)
            .WithSummary("Evaluates one flag for a context (OFREP)");
    }

    public static async Task<Results<Ok<FlagSetSnapshot>, ProblemHttpResult>> List(string name, IGrainFactory grains) =>
        Names.IsDnsLabel(name) ? TypedResults.Ok(await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Get()) : Problems.NotFound($"environment '{name}' does not exist");

    public static async Task<Results<Ok<FlagSpec>, ValidationProblem, ProblemHttpResult>> Put(
        string name, string key, PutFlagRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        if (await Refused(name, user, grains) is { } refusal) return refusal;
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
        return TypedResults.Ok(await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Put(spec, user.Caller(), user.CallerRoles()));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(string name, string key, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || !IsKey(key)) return Problems.NotFound($"flag '{key}' does not exist in '{name}'");
        if (await Refused(name, user, grains) is { } refusal) return refusal;
        return await grains.Ref<IFlagSetGrain>(GrainKeys.FlagSet(name)).Delete(key, user.Caller(), user.CallerRoles())
            ? TypedResults.NoContent()
            : Problems.NotFound($"flag '{key}' does not exist in '{name}'");
    }

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

    /// <summary>In a protected environment a flag is a production change: only an approver's key may make it.</summary>
    private static async Task<ProblemHttpResult?> Refused(string environment, ClaimsPrincipal user, IGrainFactory grains)
    {
        var declaration = await grains.Ref<IEnvironmentDeclarationGrain>(environment).Get();
        return declaration?.Declaration.Protected == true && !user.IsInRole(Roles.Approver)
            ? Problems.Forbidden($"'{environment}' is a protected environment: its flags are changed by an approver's key only")
            : null;
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
