using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>The roles a key can hold.</summary>
public static class Roles
{
    public const string Pipeline = "pipeline";
    public const string Operator = "operator";
    public const string Viewer = "viewer";
    public const string Agent = "agent";

    /// <summary>A change authority: approves or rejects releases, signs off readiness; reads everything; never deploys.</summary>
    public const string Approver = "approver";

    /// <summary>The ITSM adapter: keeps the built-in change records in step with the ITSM system; nothing else.</summary>
    public const string Itsm = "itsm";

    public static readonly string[] All = [Pipeline, Operator, Viewer, Agent, Approver, Itsm];
}

/// <summary>Authorization policies, each a set of roles.</summary>
public static class Policies
{
    /// <summary>Read releases, rollouts, environments, hosts.</summary>
    public const string Read = "read";

    /// <summary>Submit releases and rollouts.</summary>
    public const string Submit = "submit";

    /// <summary>Control rollouts, configure environments, create simulated fleets.</summary>
    public const string Operate = "operate";

    /// <summary>Host agents: register, heartbeat, fetch desired state, report.</summary>
    public const string Agent = "agent";

    /// <summary>Approve or reject releases, sign off readiness: approvers only (never operator or pipeline).</summary>
    public const string Approve = "approve";

    /// <summary>File post-implementation reviews.</summary>
    public const string Govern = "govern";

    /// <summary>
    /// Create built-in change records and change their state: the change authority (approver) or the ITSM adapter only,
    /// never an operator or pipeline key for its own change.
    /// </summary>
    public const string ChangeRecord = "change-record";

    /// <summary>Replace a deployment calendar (windows, freezes) and grant freeze exceptions: operators only, never the pipeline a freeze holds back.</summary>
    public const string Calendar = "calendar";

    /// <summary>Declare and resolve incidents (and the incident tool's webhook): operators only, never the pipeline an incident holds back.</summary>
    public const string Incident = "incident";

    /// <summary>
    /// Resolve an incident: operators of the team it belongs to (or its declarer), and approvers as incident commanders
    /// across teams (checked by the endpoint); never the pipeline an incident holds back.
    /// </summary>
    public const string IncidentResolve = "incident-resolve";

    /// <summary>Start rollback drills: operators only (a drill rolls a release back on purpose; the pipeline a missing drill holds back does not run it).</summary>
    public const string Drill = "drill";

    /// <summary>Waive a release's SBOM finding: an approver or an operator (never the pipeline that submitted it; never the release's own authors).</summary>
    public const string Waive = "waive";

    /// <summary>Upload an artifact or register one by URL: the pipeline that builds it.</summary>
    public const string ArtifactUpload = "artifact-upload";

    /// <summary>Download an artifact's bytes: agents (scoped to the environments it is released to) and operators.</summary>
    public const string ArtifactDownload = "artifact-download";

    /// <summary>Read an artifact's metadata.</summary>
    public const string ArtifactMeta = "artifact-meta";

    /// <summary>List artifacts, read their audit trail, run retention: operators.</summary>
    public const string ArtifactAdmin = "artifact-admin";

    /// <summary>Read a host's rendered configuration (secrets included): the agent of that host only.</summary>
    public const string HostConfig = "host-config";

    /// <summary>Manage webhook subscriptions and their dead letters: operators only (a subscription reads every event it matches and makes the engine call out).</summary>
    public const string Webhooks = "webhooks";

    /// <summary>Set, delete and turn off feature flags: operators, pipelines (tying flags to releases) and approvers; in a protected environment a change waits for approval by other keys (the kill switch never waits).</summary>
    public const string Flags = "flags";

    /// <summary>
    /// Approve or reject a proposed change to the declaration, or to the parameters and secrets, of a production-tier or
    /// protected environment: the change authority (approver) only, never the operator or pipeline keys the declaration
    /// constrains, never the proposer.
    /// </summary>
    public const string DeclarationChange = "declaration-change";

    /// <summary>Read what the calling key is (name, roles, scopes): every role, so a page can show only what the key may do.</summary>
    public const string Self = "self";

    /// <summary>
    /// The one policy table: every /v1 route names one of these policies, the engine enforces it, and docs/permissions.md's
    /// permission table is generated from it (<see cref="PermissionTable"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> RolesByPolicy = new Dictionary<string, string[]>
    {
        [Read] = [Roles.Viewer, Roles.Operator, Roles.Pipeline, Roles.Approver],
        [Self] = Roles.All,
        [Submit] = [Roles.Pipeline, Roles.Operator],
        [Operate] = [Roles.Operator, Roles.Pipeline],
        [Agent] = [Roles.Agent, Roles.Operator],
        [Approve] = [Roles.Approver],
        [Govern] = [Roles.Operator, Roles.Approver],
        [ChangeRecord] = [Roles.Approver, Roles.Itsm],
        [DeclarationChange] = [Roles.Approver],
        [Calendar] = [Roles.Operator],
        [Incident] = [Roles.Operator],
        [IncidentResolve] = [Roles.Operator, Roles.Approver],
        [Drill] = [Roles.Operator],
        [Waive] = [Roles.Operator, Roles.Approver],
        [ArtifactUpload] = [Roles.Pipeline],
        [ArtifactDownload] = [Roles.Operator, Roles.Agent],
        [ArtifactMeta] = [Roles.Operator, Roles.Pipeline, Roles.Agent],
        [ArtifactAdmin] = [Roles.Operator],
        [HostConfig] = [Roles.Agent],
        [Webhooks] = [Roles.Operator],
        [Flags] = [Roles.Operator, Roles.Pipeline, Roles.Approver],
    };
}

public sealed class ApiKey
{
    public string Name { get; set; } = string.Empty;

    public string Key { get; set; } = string.Empty;

    /// <summary>Comma-separated roles, e.g. "pipeline,viewer".</summary>
    public string Roles { get; set; } = string.Empty;

    /// <summary>
    /// For agent keys: comma-separated environments whose agents hold the key, e.g. "staging". An agent reads only
    /// artifacts released to, and rendered configuration of, these environments, and speaks only for hosts there.
    /// Required for every key whose roles include agent: the engine refuses to start with an unbound agent key
    /// (<see cref="ApiKeyOptionsValidator"/>).
    /// </summary>
    public string Environments { get; set; } = string.Empty;

    /// <summary>Comma-separated services the key is scoped to (empty: every service); lists and the event stream show only these.</summary>
    public string Services { get; set; } = string.Empty;

    /// <summary>Comma-separated teams the key acts for (e.g. "payments"): incidents of other teams are not its to resolve.</summary>
    public string Teams { get; set; } = string.Empty;
}

/// <summary>Bound from configuration section "Auth".</summary>
public sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    public List<ApiKey> Keys { get; set; } = [];
}

/// <summary>
/// Checked at start: a key whose roles include agent must list the environments it serves. An unbound agent key would
/// speak for every host in every environment (register into production, forge reports and metrics), so the engine
/// refuses to start with one rather than serve it.
/// </summary>
public sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var roles = key.Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var environments = key.Environments.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (roles.Contains(Roles.Agent, StringComparer.OrdinalIgnoreCase) && environments.Length == 0)
            {
                failures.Add($"Auth:Keys:{i} ('{key.Name}') holds the agent role but lists no environments: bind it with " +
                    $"Auth:Keys:{i}:Environments (comma-separated environment names); an unbound agent key would speak for every host");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>. Keys are compared by SHA-256 digest in constant time; the key
/// itself is never logged or echoed. The key's name becomes the caller's identity in decisions and audit.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("expected a Bearer API key"));
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        foreach (var key in KeyTable.For(Options))
        {
            if (CryptographicOperations.FixedTimeEquals(presented, key.Digest))
            {
                var principal = new ClaimsPrincipal(new ClaimsIdentity(key.Claims, SchemeName));
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
            }
        }

        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblem(Context, 401, Problems.UnauthorizedType, "Unauthorized", "A valid API key is required: Authorization: Bearer <key>.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblem(Context, 403, Problems.ForbiddenType, "Forbidden", "This API key's roles do not allow this operation.");
    }

    private static Task WriteProblem(HttpContext context, int status, string type, string title, string detail)
    {
        var problems = context.RequestServices.GetService(typeof(IProblemDetailsService)) as IProblemDetailsService;
        return problems is null
            ? Task.CompletedTask
            : problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Type = type, Title = title, Detail = detail },
            }).AsTask();
    }
}

public static class CallerExtensions
{
    /// <summary>The claim naming an environment an agent key serves (from <see cref="ApiKey.Environments"/>).</summary>
    public const string EnvironmentClaim = "urn:deploy-engine:environment";

    /// <summary>The claim naming a service a key is scoped to (from <see cref="ApiKey.Services"/>).</summary>
    public const string ServiceClaim = "urn:deploy-engine:service";

    /// <summary>The claim naming a team a key acts for (from <see cref="ApiKey.Teams"/>).</summary>
    public const string TeamClaim = "urn:deploy-engine:team";

    /// <summary>The teams a key acts for.</summary>
    public static IReadOnlyList<string> Teams(this ClaimsPrincipal user) =>
        user.FindAll(TeamClaim).Select(c => c.Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>The environments an agent key serves.</summary>
    public static IReadOnlySet<string> AgentEnvironments(this ClaimsPrincipal user) =>
        user.FindAll(EnvironmentClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The caller's key name, recorded with every decision it causes.</summary>
    public static string Caller(this ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    /// <summary>The caller's roles, comma-separated in a stable order, as the audit trail records them.</summary>
    public static string CallerRoles(this ClaimsPrincipal user) =>
        string.Join(',', user.FindAll(ClaimTypes.Role).Select(c => c.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
}

/// <summary>
/// The configured keys as the handler compares them: each key's SHA-256 digest and its claims, computed once per options
/// instance (a configuration reload makes a new one) instead of hashing every configured key on every request.
/// </summary>
internal sealed class KeyTable
{
    private static readonly ConditionalWeakTable<ApiKeyOptions, IReadOnlyList<Entry>> Tables = new();

    public sealed record Entry(byte[] Digest, IReadOnlyList<Claim> Claims);

    public static IReadOnlyList<Entry> For(ApiKeyOptions options) => Tables.GetValue(options, Build);

    private static IReadOnlyList<Entry> Build(ApiKeyOptions options) => options.Keys
        .Where(k => !string.IsNullOrEmpty(k.Key))
        .Select(k => new Entry(SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), Claims(k)))
        .ToList();

    private static List<Claim> Claims(ApiKey key)
    {
        static IEnumerable<string> Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var claims = new List<Claim> { new(ClaimTypes.Name, string.IsNullOrEmpty(key.Name) ? "anonymous-key" : key.Name) };
        claims.AddRange(Split(key.Roles).Select(r => new Claim(ClaimTypes.Role, r.ToLowerInvariant())));
        claims.AddRange(Split(key.Environments).Select(e => new Claim(CallerExtensions.EnvironmentClaim, e)));
        claims.AddRange(Split(key.Services).Select(e => new Claim(CallerExtensions.ServiceClaim, e)));
        claims.AddRange(Split(key.Teams).Select(e => new Claim(CallerExtensions.TeamClaim, e)));
        return claims;
    }
}
