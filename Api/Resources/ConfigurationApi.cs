using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Configuration;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record SetReleaseConfigRequest(Dictionary<string, string?>? Templates);

public sealed record PutParametersRequest(Dictionary<string, string?>? Values, Dictionary<string, string?>? Secrets);

/// <summary>An environment's parameters as the API shows them: values, and the names of the secrets ("set"), never a secret.</summary>
public sealed record ParametersResponse(
    string Environment, long Version, IReadOnlyDictionary<string, string> Values, IReadOnlyDictionary<string, string> Secrets,
    string? UpdatedBy, DateTimeOffset UpdatedAt);

/// <summary>
/// A proposed parameter change as the API shows it: the proposed values and the names of the proposed secrets (never a
/// secret, nor its protected payload), what it changes, and its state; like a declaration change, how many change
/// authorities must approve it (<c>approvalsRequired</c>) and who approved so far (<c>approvedBy</c>).
/// </summary>
public sealed record ParameterChangeResponse(
    string Id, string Environment, DeclarationChangeState State, IReadOnlyDictionary<string, string> Values, IReadOnlyDictionary<string, string> Secrets,
    long ProposedAgainst, IReadOnlyList<DeclarationFieldChange> Differences, string ProposedBy, DateTimeOffset ProposedAt, string ApprovalNeeded,
    string? DecidedBy, DateTimeOffset? DecidedAt, string? DecisionReason, long? AppliedVersion, int ApprovalsRequired, IReadOnlyList<string> ApprovedBy);

/// <summary>A release's configuration rendered for one host's environment; <c>Hash</c> is the sha256 of the files in name order.</summary>
public sealed record RenderedConfigResponse(string Release, string Environment, string Host, IReadOnlyDictionary<string, string> Files, string Hash);

/// <summary>
/// Configuration and secrets: release templates (<c>{{ name }}</c>), per-environment parameter sets whose secrets are
/// protected with ASP.NET Core Data Protection before they reach a grain, and the rendered configuration, which only
/// an agent key serving the host's environment receives.
/// </summary>
public static class ConfigurationApi
{
    public const int MaxTemplates = 32;
    public const int MaxTemplateChars = 256 * 1024;
    public const int MaxParameters = 256;
    public const int MaxValueChars = 64 * 1024;

    /// <summary>Data Protection purpose; the environment and parameter name are sub-purposes, so a payload cannot be moved.</summary>
    private const string Purpose = "Deploy.Engine.Parameters.v1";

    public static IEndpointRouteBuilder MapConfigurationApi(this IEndpointRouteBuilder routes)
    {
        var releases = routes.MapGroup("/v1/releases").WithTags("Configuration");
        releases.MapPost("/{id}/config", SetTemplates).RequireAuthorization(Policies.Submit).ScopedBy(Scope.Release)
            .WithSummary("Sets a release's configuration templates");
        releases.MapGet("/{id}/config", GetTemplates).RequireAuthorization(Policies.Read).ScopedBy(Scope.Release)
            .WithSummary("A release's configuration templates");
        var environments = routes.MapGroup("/v1/environments").WithTags("Configuration");
        environments.MapPut("/{name}/parameters", PutParameters).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Sets an environment's parameters and secrets");
        environments.MapGet("/{name}/parameters", GetParameters).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("An environment's parameters, and the names of its secrets (never a secret)");
        environments.MapGet("/{name}/parameters/changes", ListParameterChanges).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("Parameter changes proposed for a production-tier or protected environment");
        environments.MapGet("/{name}/parameters/changes/{id}", GetParameterChange).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("One proposed parameter change: what it changes (secrets by name only) and its state");
        environments.MapPost("/{name}/parameters/changes/{id}/approve", (string name, string id, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            DecideParameterChange(name, id, approve: true, body, user, grains)).RequireAuthorization(Policies.DeclarationChange).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Approves a proposed parameter change (a change authority other than the proposer); it applies once enough have approved");
        environments.MapPost("/{name}/parameters/changes/{id}/reject", (string name, string id, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            DecideParameterChange(name, id, approve: false, body, user, grains)).RequireAuthorization(Policies.DeclarationChange).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Rejects a proposed parameter change, with the reason");
        routes.MapGroup("/v1/hosts").WithTags("Configuration")
            .MapGet("/{id}/config", Rendered).RequireAuthorization(Policies.HostConfig).ScopedBy(Scope.Host)
            .WithSummary("The configuration rendered for one host, for its agent");
        return routes;
    }

    public static async Task<Results<Ok<ReleaseConfig>, ValidationProblem, ProblemHttpResult>> SetTemplates(
        string id, SetReleaseConfigRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (request.Templates is not { Count: > 0 and <= MaxTemplates } templates)
        {
            errors.Add("templates", $"is required: 1 to {MaxTemplates} files, file name → template");
            return Problems.Validation(errors.ToDictionary());
        }

        foreach (var (file, template) in templates)
        {
            if (!IsFileName(file)) errors.Add($"templates.{file}", "file names: 1-128 letters, digits, '.', '-', '_'");
            else if (template is null || template.Length > MaxTemplateChars) errors.Add($"templates.{file}", $"must be text of at most {MaxTemplateChars} characters");
            else if (ConfigTemplate.Parse(template).Error is { } error) errors.Add($"templates.{file}", error);
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsHostId(id) || await grains.Ref<IReleaseGrain>(id).Get() is null) return Problems.NotFound($"release '{id}' does not exist");

        var result = await grains.Ref<IReleaseConfigGrain>(id).Set(new ReleaseConfig
        {
            Templates = templates.ToDictionary(t => t.Key, t => t.Value!, StringComparer.Ordinal),
            SetBy = user.Caller(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<ReleaseConfig>, ProblemHttpResult>> GetTemplates(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseConfigGrain>(id).Get() is { } config
            ? TypedResults.Ok(config)
            : Problems.NotFound($"release '{id}' carries no configuration templates");

    /// <summary>
    /// Replaces an environment's parameters and secrets. <c>If-Match</c> (the ETag of a GET, or <c>*</c>) and
    /// <c>If-None-Match: *</c> are checked in the same turn as the write: 412 and nothing written when they do not hold.
    /// In a production-tier or protected environment nothing is replaced, whoever sends it: the set becomes a pending
    /// parameter change (202, its location and what it changes) that change authorities other than the proposer approve
    /// (<c>POST .../parameters/changes/{id}/approve</c>; as many as a declaration change of the environment needs) or reject.
    /// </summary>
    public static async Task<Results<Ok<ParametersResponse>, Accepted<ParameterChangeResponse>, ValidationProblem, ProblemHttpResult>> PutParameters(
        string name, PutParametersRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, IDataProtectionProvider protection)
    {
        var errors = new ValidationErrors();
        var values = request.Values ?? [];
        var secrets = request.Secrets ?? [];
        if (values.Count + secrets.Count > MaxParameters) errors.Add("values", $"at most {MaxParameters} parameters and secrets together");
        Check(values, "values", errors);
        Check(secrets, "secrets", errors);
        foreach (var both in values.Keys.Intersect(secrets.Keys, StringComparer.Ordinal))
        {
            errors.Add($"secrets.{both}", "is also among values: a parameter is either a value or a secret");
        }

        var precondition = Preconditions.Read(http.Request, errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null) return Problems.NotFound($"environment '{name}' does not exist");

        // Protected here, so neither the grain, its stored state nor its events ever hold a secret in clear.
        var result = await grains.Ref<IEnvironmentParametersGrain>(name).Propose(new ParameterSet
        {
            Values = values.ToDictionary(v => v.Key, v => v.Value!, StringComparer.Ordinal),
            ProtectedSecrets = secrets.ToDictionary(s => s.Key, s => Protector(protection, name, s.Key).Protect(s.Value!), StringComparer.Ordinal),
        }, new ArtifactActor { Name = user.Caller(), Role = user.CallerRoles() }, precondition);
        if (!result.Ok) return Problems.From(result);
        if (result.Value!.Pending is { } pending)
        {
            return TypedResults.Accepted($"/v1/environments/{name}/parameters/changes/{pending.Id}", ChangeView(pending));
        }

        http.Response.Headers.ETag = Preconditions.ETag(result.Value.Applied!.Version);
        return TypedResults.Ok(View(name, result.Value.Applied!));
    }

    /// <summary>The parameters with their version as a strong ETag, for <c>If-Match</c> on the next PUT.</summary>
    public static async Task<Results<Ok<ParametersResponse>, ProblemHttpResult>> GetParameters(string name, HttpContext http, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentParametersGrain>(name).Get() is not { } set)
            return Problems.NotFound($"environment '{name}' has no parameters");
        http.Response.Headers.ETag = Preconditions.ETag(set.Version);
        return TypedResults.Ok(View(name, set));
    }

    /// <summary>The parameter changes proposed for an environment, newest first (pending ones and the last decided).</summary>
    public static async Task<Ok<IReadOnlyList<ParameterChangeResponse>>> ListParameterChanges(string name, IGrainFactory grains) =>
        TypedResults.Ok<IReadOnlyList<ParameterChangeResponse>>(Names.IsDnsLabel(name)
            ? (await grains.Ref<IEnvironmentParametersGrain>(name).Changes()).Select(ChangeView).ToList()
            : []);

    public static async Task<Results<Ok<ParameterChangeResponse>, ProblemHttpResult>> GetParameterChange(string name, string id, IGrainFactory grains) =>
        Names.IsDnsLabel(name) && (await grains.Ref<IEnvironmentParametersGrain>(name).Changes()).FirstOrDefault(c => c.Id == id) is { } change
            ? TypedResults.Ok(ChangeView(change))
            : Problems.NotFound($"environment '{name}' has no parameter change '{id}'");

    /// <summary>
    /// A change authority (approver role) approves or rejects a pending parameter change; never its proposer (422, four
    /// eyes). An approval below the required count is kept (200, still pending; the same approver counts once); the one
    /// that reaches it applies the change, only onto the parameter version it was proposed against: 409 and nothing
    /// applied when the parameters changed meanwhile. A decided change is 409 (invalid transition).
    /// </summary>
    public static async Task<Results<Ok<ParameterChangeResponse>, ValidationProblem, ProblemHttpResult>> DecideParameterChange(
        string name, string id, bool approve, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (body?.Reason is { Length: > 1000 }) return Problems.Validation("reason", "must be at most 1000 characters");
        if (!approve && string.IsNullOrWhiteSpace(body?.Reason)) return Problems.Validation("reason", "is required: why the change is rejected");
        if (!Names.IsDnsLabel(name) || !Names.IsHostId(id)) return Problems.NotFound($"environment '{name}' has no parameter change '{id}'");
        var result = await grains.Ref<IEnvironmentParametersGrain>(name).Decide(id, approve, new Actor
        {
            Name = user.Caller(),
            Roles = user.CallerRoles(),
            Reason = body?.Reason,
        });
        return result.Ok ? TypedResults.Ok(ChangeView(result.Value!)) : Problems.From(result);
    }

    /// <summary>
    /// The release's configuration rendered with the host's environment's parameters, secrets included. Only for an
    /// agent key that serves that environment, for a release rolled out there; never cached.
    /// </summary>
    public static async Task<Results<Ok<RenderedConfigResponse>, ValidationProblem, ProblemHttpResult>> Rendered(
        string id, string? release, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, IDataProtectionProvider protection)
    {
        if (!Names.IsHostId(release)) return Problems.Validation("release", "is required: the release whose configuration to render");
        if (!Names.IsHostId(id) || await grains.Ref<IHostGrain>(id).Get() is not { } host) return Problems.NotFound($"host '{id}' is not registered");
        var environment = host.Environment;
        if (!user.AgentEnvironments().Contains(environment))
        {
            return Problems.Forbidden($"this agent key does not serve environment '{environment}' (Auth:Keys:n:Environments): only the agent of a host in that environment receives its configuration");
        }

        if (HostsApi.AgentRefusal(user, host) is { } refusal) return Problems.Forbidden(refusal);

        if (await grains.Ref<IReleaseGrain>(release!).Get() is not { } snapshot) return Problems.NotFound($"release '{release}' does not exist");
        if (!snapshot.Rollouts.Contains(GrainKeys.Rollout(snapshot.Id, environment), StringComparer.Ordinal))
        {
            return Problems.Forbidden($"release '{release}' was not rolled out to environment '{environment}'");
        }

        if (await grains.Ref<IReleaseConfigGrain>(snapshot.Id).Get() is not { } config) return Problems.NotFound($"release '{release}' carries no configuration templates");
        var parameters = await grains.Ref<IEnvironmentParametersGrain>(environment).Get();
        var values = new Dictionary<string, string>(parameters?.Values ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (name, payload) in parameters?.ProtectedSecrets ?? new Dictionary<string, string>())
        {
            values[name] = Protector(protection, environment, name).Unprotect(payload);
        }

        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, template) in config.Templates)
        {
            var (text, missing, error) = ConfigTemplate.Render(template, values);
            if (text is null)
            {
                return TypedResults.Problem(error is not null ? $"template {file} is not valid: {error}"
                    : $"template {file} names parameter '{missing}', which environment '{environment}' does not define",
                    statusCode: StatusCodes.Status422UnprocessableEntity, title: "Refused by policy", type: Problems.PolicyType);
            }

            files[file] = text;
        }

        http.Response.Headers.CacheControl = "no-store";
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (file, text) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n" + text + "\n"));
        }

        return TypedResults.Ok(new RenderedConfigResponse(snapshot.Id, environment, host.Id, files, "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset())));
    }

    private static ParametersResponse View(string environment, ParameterSet set) => new(
        environment,
        set.Version,
        set.Values,
        set.ProtectedSecrets.Keys.ToDictionary(k => k, _ => "set", StringComparer.Ordinal),
        set.UpdatedBy,
        set.UpdatedAt);

    private static ParameterChangeResponse ChangeView(ParameterChangeSnapshot change) => new(
        change.Id,
        change.Environment,
        change.State,
        change.Proposed.Values,
        change.Proposed.ProtectedSecrets.Keys.ToDictionary(k => k, _ => "set", StringComparer.Ordinal),
        change.ProposedAgainst,
        change.Differences,
        change.ProposedBy,
        change.ProposedAt,
        change.ApprovalNeeded,
        change.DecidedBy,
        change.DecidedAt,
        change.DecisionReason,
        change.AppliedVersion,
        change.ApprovalsRequired,
        change.ApprovedBy);

    private static IDataProtector Protector(IDataProtectionProvider protection, string environment, string name) =>
        protection.CreateProtector(Purpose, environment, name);

    private static void Check(Dictionary<string, string?> entries, string field, ValidationErrors errors)
    {
        foreach (var (name, value) in entries)
        {
            if (!ConfigTemplate.IsName(name)) errors.Add($"{field}.{name}", "names: a letter or '_' then letters, digits, '_', '.', '-' (at most 128)");
            else if (value is null || value.Length > MaxValueChars) errors.Add($"{field}.{name}", $"must be text of at most {MaxValueChars} characters");
        }
    }

    private static bool IsFileName(string file) =>
        file.Length is > 0 and <= 128 && file is not "." and not ".." && file.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

}
