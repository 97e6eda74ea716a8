using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// A host joins an environment. <c>Services</c>: what it already runs, per service; <c>CurrentArtifact</c> and
/// <c>CurrentVersion</c> (with an optional <c>Service</c>) say the same for a host that runs one.
/// </summary>
public sealed record RegisterHostRequest(
    string? Id,
    string? Environment,
    Dictionary<string, string>? Labels,
    string? CurrentArtifact,
    string? CurrentVersion,
    string? Service = null,
    Dictionary<string, ServiceArtifactRequest?>? Services = null,
    string? Owner = null);

public sealed record ServiceArtifactRequest(string? Artifact, string? Version);

public sealed record HeartbeatRequest(bool? Healthy);

/// <summary>
/// An agent's outcome. <c>ComputedDigest</c>: the sha256 the agent computed over its download; when it differs from
/// <c>Artifact</c> the agent did not activate it and the host fails with "artifact verification failed: expected …, got …".
/// </summary>
/// <remarks>
/// <c>Nonce</c> (the command's, from the desired state) is required, and <c>ComputedDigest</c> with a success: a report is
/// evidence of what the agent did to the bytes it was given (a failure before any bytes arrived has no digest). <c>Steps</c>: how each step went (download, verify, unpack, hooks,
/// switch, health), shown on the host.
/// </remarks>
public sealed record HostReportRequest(
    string? Rollout, string? Artifact, bool? Succeeded, bool? Healthy, string? Message, string? ComputedDigest = null,
    string? Service = null, string? Nonce = null, List<ApplyStepRequest?>? Steps = null, long? DurationMs = null);

public sealed record ApplyStepRequest(string? Name, bool? Succeeded, long? DurationMs, int? ExitCode, string? Output);

/// <summary>A health and metrics sample from an agent: what the rollback triggers read.</summary>
public sealed record HostMetricsRequest(
    double? ErrorRatePercent, double? P99LatencyMs, int? FailedHealthChecks, long? Requests, Dictionary<string, double>? Values = null, string? Service = null);

public static class HostsApi
{
    public const int MaxPageSize = 500;

    /// <summary>The longest a desired-state long-poll waits (below Orleans' 30 s response timeout).</summary>
    public const int MaxWaitSeconds = 25;

    public const int MaxReportSteps = 32;

    public const int MaxStepOutputChars = 2000;

    public static RouteGroupBuilder MapHostsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/hosts").WithTags("Hosts");
        group.MapPost("/", Register).RequireAuthorization(Policies.Agent).ScopedBy(Scope.NewHost)
            .WithSummary("An agent registers its host in an environment");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopedBy(Scope.EnvironmentFilter)
            .WithSummary("Lists hosts, filtered and paged by the query");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Host)
            .WithSummary("A host: what it runs per service, its last report and heartbeat");
        group.MapPost("/{id}/heartbeat", Heartbeat).RequireAuthorization(Policies.Agent).ScopedBy(Scope.WholeHost)
            .WithSummary("An agent's heartbeat");
        group.MapGet("/{id}/desired", Desired).RequireAuthorization(Policies.Agent).ScopedBy(Scope.Host)
            .WithSummary("What an agent's host should run, per service (long-poll)").WithDescription("With a known version in the request, the answer waits until the desired state changes or the poll times out.");
        group.MapPost("/{id}/reports", Report).RequireAuthorization(Policies.Agent).ScopedBy(Scope.HostSlot)
            .WithSummary("An agent reports the outcome of a command, with the digest it computed");
        group.MapPost("/{id}/metrics", Metrics).RequireAuthorization(Policies.Agent).ScopedBy(Scope.HostSlot)
            .WithSummary("An agent pushes its service's error rate and latency, which the rollback triggers and analyses read");
        return group;
    }

    /// <summary>
    /// Registers a host; the registering agent key owns it. A host with no owning key (a simulated one, or one stored
    /// before hosts had owners) is taken over by no agent key: an operator hands it to one by naming the key in
    /// <c>owner</c> (which must be an agent key serving the environment). Ownership is decided again in the host's turn,
    /// so a registration racing another for the same host cannot take it.
    /// </summary>
    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterHostRequest request, ClaimsPrincipal user, IGrainFactory grains, IOptionsMonitor<ApiKeyOptions> keys)
    {
        var errors = new ValidationErrors();
        if (!Names.IsHostId(request.Id)) errors.Add("id", "must be 1-128 characters: letters, digits, '.', '-', '_'");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        ValidateLabels(request.Labels, errors);
        if (request.CurrentArtifact is not null && !ArtifactDigest.IsValid(request.CurrentArtifact))
            errors.Add("currentArtifact", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");
        if (request.CurrentVersion is not null && !Names.IsVersion(request.CurrentVersion)) errors.Add("currentVersion", "must be a version");
        if (request.Service is not null && !Names.IsDnsLabel(request.Service)) errors.Add("service", "service names are lower-case DNS labels");
        // Without the artifact these say nothing the engine could record: refused rather than dropped.
        if (request.CurrentArtifact is null && request.CurrentVersion is not null) errors.Add("currentVersion", "needs currentArtifact: the digest the host runs at that version");
        if (request.CurrentArtifact is null && request.Service is not null) errors.Add("service", "needs currentArtifact: the digest the host runs for that service");
        if (request.Services is { Count: > 64 }) errors.Add("services", "at most 64 services");
        foreach (var (service, running) in request.Services ?? [])
        {
            var at = "services." + service;
            if (!Names.IsDnsLabel(service)) errors.Add(at, "service names are lower-case DNS labels");
            else if (running is null || !ArtifactDigest.IsValid(running.Artifact)) errors.Add(at + ".artifact", "must be the digest the service runs");
            else if (running.Version is not null && !Names.IsVersion(running.Version)) errors.Add(at + ".version", "must be a version");
        }

        if (request.Owner is not null && !user.IsInRole(Roles.Operator))
        {
            return Problems.Forbidden("owner hands a host to an agent key: an operator's action; an agent key owns the hosts it registers");
        }

        if (request.Owner is not null && Names.IsDnsLabel(request.Environment) && !ServesAsAgent(keys.Get(ApiKeyAuthenticationHandler.SchemeName), request.Owner, request.Environment!))
        {
            errors.Add("owner", $"must name an agent key (Auth:Keys:n:Name) that serves environment '{request.Environment}'");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        if (!ServesEnvironment(user, request.Environment!))
        {
            return Problems.Forbidden($"this agent key does not serve environment '{request.Environment}' (Auth:Keys:n:Environments)");
        }

        var environment = grains.Ref<IEnvironmentGrain>(request.Environment!);
        if (await environment.Get() is null) return Problems.NotFound($"environment '{request.Environment}' does not exist");
        if (await grains.Ref<IHostGrain>(request.Id!).Get() is { } existing && ReregistrationRefusal(user, existing, request.Labels ?? []) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        var results = await environment.RegisterHosts([new HostEnrollment
        {
            HostId = request.Id!,
            Registration = new HostRegistration
            {
                Environment = request.Environment!,
                Labels = request.Labels ?? [],
                CurrentArtifact = request.CurrentArtifact,
                CurrentVersion = request.CurrentVersion,
                Service = request.Service,
                Services = (request.Services ?? []).ToDictionary(
                    s => s.Key, s => new ServiceArtifact { Artifact = s.Value!.Artifact, Version = s.Value.Version }, StringComparer.Ordinal),
                Owner = user.Caller(),
                ByOperator = user.IsInRole(Roles.Operator),
                AdoptBy = request.Owner,
            },
        }]);
        // A host quota (ephemeral environments) refuses with 422; a host registered elsewhere is a conflict.
        return results[0].Ok ? TypedResults.Ok(results[0].Value!)
            : results[0].Error == ErrorKind.PolicyRefused ? Problems.From(results[0]) : Problems.Conflict(results[0].Detail!);
    }

    /// <summary>
    /// Lists an environment's hosts, filtered by label (<c>label=region=eu-west</c>, repeatable, all must match),
    /// state, artifact digest or version, ordered by id and paged with offset/limit.
    /// </summary>
    public static async Task<Results<Ok<Page<HostSnapshot>>, ValidationProblem, ProblemHttpResult>> List(
        ClaimsPrincipal user, IGrainFactory grains, string? environment, string? state, string? artifact, string? version,
        string[]? label, int? offset, int? limit, string? service = null)
    {
        var errors = new ValidationErrors();
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add("service", "service names are lower-case DNS labels");
        if (!Names.IsDnsLabel(environment)) errors.Add("environment", "is required: the environment whose hosts to list");
        HostState? wantedState = null;
        if (state is not null)
        {
            if (Enum.TryParse<HostState>(state, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)) wantedState = parsed;
            else errors.Add("state", $"must be one of {string.Join(", ", Enum.GetNames<HostState>())}");
        }

        var selectors = new List<KeyValuePair<string, string>>();
        foreach (var l in label ?? [])
        {
            var eq = l.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !Names.IsLabel(l[..eq], l[(eq + 1)..])) errors.Add("label", $"'{l}' must be key=value");
            else selectors.Add(new(l[..eq], l[(eq + 1)..]));
        }

        if (offset is < 0) errors.Add("offset", "must be zero or more");
        if (limit is < 1 or > MaxPageSize) errors.Add("limit", $"must be from 1 to {MaxPageSize}");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var env = grains.Ref<IEnvironmentGrain>(environment!);
        if (await env.Get() is null) return Problems.NotFound($"environment '{environment}' does not exist");

        // The index answers label filters without touching hosts; the rest needs each candidate's state.
        var candidates = (await env.GetHostIndex())
            .Where(h => selectors.All(s => h.Labels.TryGetValue(s.Key, out var v) && v == s.Value))
            .Select(h => h.HostId)
            .ToList();
        // A key scoped to services sees the hosts that run one of them, and only their slots (ScopeViews): that needs each host.
        var scope = KeyScope.Of(user);
        var needsState = wantedState is not null || artifact is not null || version is not null || service is not null || scope.Services.Count > 0;
        var skip = offset ?? 0;
        var take = limit ?? 100;

        if (!needsState)
        {
            var page = await Snapshots(grains, candidates.Skip(skip).Take(take));
            return TypedResults.Ok(new Page<HostSnapshot> { Items = page, Total = candidates.Count, Offset = skip, Limit = take });
        }

        // With a service, the filters read that service's slot; without one, any service on the host may match.
        var matching = (await Snapshots(grains, candidates))
            .Where(scope.Shows)
            .Select(h => ScopeViews.Host(scope, h))
            .Where(h => (service is null ? h.Services.Count == 0 ? [new HostServiceSnapshot { State = h.State }] : h.Services.Values
                    : h.Services.TryGetValue(service, out var slot) ? [slot] : (IEnumerable<HostServiceSnapshot>)[])
                .Any(s => (wantedState is null || s.State == wantedState)
                    && (artifact is null || s.CurrentArtifact == artifact)
                    && (version is null || s.CurrentVersion == version)))
            .ToList();
        return TypedResults.Ok(new Page<HostSnapshot> { Items = matching.Skip(skip).Take(take).ToList(), Total = matching.Count, Offset = skip, Limit = take });
    }

    public static async Task<Results<Ok<HostSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IHostGrain>(id).Get() is { } host
            ? TypedResults.Ok(host)
            : Problems.NotFound($"host '{id}' is not registered");

    public static async Task<Results<Ok<HostSnapshot>, ProblemHttpResult>> Heartbeat(
        string id, HeartbeatRequest? request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (await SpeakFor(id, http, user, grains) is { } refused) return refused;
        var result = await grains.Ref<IHostGrain>(id).Heartbeat(request?.Healthy ?? true);
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.NotFound(result.Detail!);
    }

    /// <summary>
    /// What the host should run, per service, with each command's nonce. <c>wait</c> (seconds, at most
    /// <see cref="MaxWaitSeconds"/>) makes it a long-poll: it answers once the generation passes <c>after</c>.
    /// </summary>
    public static async Task<Results<Ok<DesiredState>, ValidationProblem, ProblemHttpResult>> Desired(
        string id, int? wait, long? after, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (wait is < 0 or > MaxWaitSeconds) return Problems.Validation("wait", $"must be from 0 to {MaxWaitSeconds} seconds");
        if (after is < 0) return Problems.Validation("after", "must be a generation the host answered before (zero or more)");
        if (await SpeakFor(id, http, user, grains) is { } refused) return refused;
        var host = grains.Ref<IHostGrain>(id);
        var desired = wait is > 0 ? await host.WaitDesired(after ?? -1, TimeSpan.FromSeconds(wait.Value)) : await host.GetDesired();
        if (desired is null) return Problems.NotFound($"host '{id}' is not registered");

        // Each command to carry out carries its release's provenance envelope, so an agent with trusted keys verifies the
        // signature itself (one read per pending command; a service at rest needs none).
        var services = new List<DesiredService>(desired.Services.Count);
        foreach (var service in desired.Services)
        {
            services.Add(service is { State: HostState.Updating or HostState.RollingBack, Release: { } release }
                ? service with { Provenance = await grains.Ref<IReleaseEvidenceGrain>(release).GetLatestEnvelope() }
                : service);
        }

        return TypedResults.Ok(desired with { Services = services });
    }

    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Report(
        string id, HostReportRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Rollout) || request.Rollout.Length > 200) errors.Add("rollout", "is required: the rollout named in the desired state");
        if (!ArtifactDigest.IsValid(request.Artifact)) errors.Add("artifact", "must be the digest the host applied");
        if (request.Succeeded is null) errors.Add("succeeded", "is required");
        if (request.Message is { Length: > 2000 }) errors.Add("message", "must be at most 2000 characters");
        // A success is evidence only with the digest the agent computed; a failure before any bytes arrived has none.
        if (request.ComputedDigest is not null ? !ArtifactDigest.IsValid(request.ComputedDigest) : request.Succeeded is true)
            errors.Add("computedDigest", "is required with a success: the sha256 digest the agent computed over the artifact it applied");
        if (string.IsNullOrWhiteSpace(request.Nonce) || request.Nonce.Length > 64) errors.Add("nonce", "is required: the nonce of the command, from the desired state");
        if (request.Service is not null && !Names.IsDnsLabel(request.Service)) errors.Add("service", "service names are lower-case DNS labels");
        if (request.DurationMs is < 0) errors.Add("durationMs", "must be zero or more");
        if (request.Steps is { Count: > MaxReportSteps }) errors.Add("steps", $"at most {MaxReportSteps} steps");
        for (var i = 0; i < (request.Steps?.Count ?? 0); i++)
        {
            var step = request.Steps![i];
            if (step is null || string.IsNullOrWhiteSpace(step.Name) || step.Name.Length > 64) errors.Add($"steps[{i}].name", "is required: at most 64 characters");
            else if (step.Output is { Length: > MaxStepOutputChars }) errors.Add($"steps[{i}].output", $"at most {MaxStepOutputChars} characters (the tail)");
            else if (step.DurationMs is < 0) errors.Add($"steps[{i}].durationMs", "must be zero or more");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (await SpeakFor(id, http, user, grains) is { } refused) return refused;

        var result = await grains.Ref<IHostGrain>(id).Report(new HostOutcomeReport
        {
            RolloutId = request.Rollout!,
            Artifact = request.Artifact!,
            Succeeded = request.Succeeded!.Value,
            Healthy = request.Healthy ?? request.Succeeded.Value,
            Message = request.Message,
            ComputedDigest = request.ComputedDigest,
            Service = request.Service,
            Nonce = request.Nonce,
            DurationMs = request.DurationMs,
            Steps = (request.Steps ?? []).Select(s => new ApplyStepRecord
            {
                Name = s!.Name!, Succeeded = s.Succeeded ?? false, DurationMs = s.DurationMs ?? 0, ExitCode = s.ExitCode, Output = s.Output,
            }).ToList(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Metrics(
        string id, HostMetricsRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        var sample = new SimulatedMetrics
        {
            ErrorRatePercent = request.ErrorRatePercent ?? 0,
            P99LatencyMs = request.P99LatencyMs ?? 0,
            FailedHealthChecks = request.FailedHealthChecks ?? 0,
        };
        ValidateMetrics(sample, errors, string.Empty);
        if (request.Requests is < 0) errors.Add("requests", "must be zero or more");
        if (request.Service is not null && !Names.IsDnsLabel(request.Service)) errors.Add("service", "service names are lower-case DNS labels");
        ValidateValues(request.Values, errors, "values");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (await SpeakFor(id, http, user, grains) is { } refused) return refused;

        var result = await grains.Ref<IHostGrain>(id).ReportMetrics(new HostMetricsSample
        {
            HostId = id,
            Service = request.Service,
            ErrorRatePercent = sample.ErrorRatePercent,
            P99LatencyMs = sample.P99LatencyMs,
            FailedHealthChecks = sample.FailedHealthChecks,
            Requests = request.Requests ?? 0,
            Values = request.Values ?? [],
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    /// <summary>
    /// Whether the caller may speak for host <paramref name="id"/>: 404 when it is not registered, 403 when the key does
    /// not serve its environment or another agent key registered it; null when it may.
    /// </summary>
    internal static async Task<ProblemHttpResult?> SpeakFor(string id, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        // A scoped key's host was read by its scope check in this request (every agent key is scoped): the same snapshot
        // answers both checks, one read instead of two. An unscoped key's was not read yet.
        var host = KeyScopeFilter.HostRead(http, id) ?? (Names.IsHostId(id) ? await grains.Ref<IHostGrain>(id).Get() : null);
        if (host is null) return Problems.NotFound($"host '{id}' is not registered");
        return AgentRefusal(user, host) is { } refusal ? Problems.Forbidden(refusal) : null;
    }

    /// <summary>
    /// An agent key bound to environments (<c>Auth:Keys:n:Environments</c>) speaks only for hosts there; a host a key
    /// registered answers to that key alone, so one host's agent can never report, heartbeat or push metrics for another;
    /// and a host the engine created (a simulated host: no key registered it) answers to no agent key at all, only to
    /// operators, so an agent key cannot forge a simulated host's success or metrics.
    /// </summary>
    internal static string? AgentRefusal(ClaimsPrincipal user, HostSnapshot host)
    {
        if (!ServesEnvironment(user, host.Environment))
        {
            return $"this agent key does not serve environment '{host.Environment}' (Auth:Keys:n:Environments)";
        }

        if (host.Owner is null)
        {
            return user.IsInRole(Roles.Operator)
                ? null
                : $"host '{host.Id}' was created by the engine (a simulated host), not registered by an agent key: no agent key speaks for it or takes it over";
        }

        return !string.Equals(host.Owner, user.Caller(), StringComparison.Ordinal)
            ? $"host '{host.Id}' was registered by another agent key; only that key speaks for it"
            : null;
    }

    /// <summary>
    /// Registering a host that exists: its own agent may say again what it runs, but labels decide which hosts a
    /// selector, wave or budget takes, so changing them is an operator's change; and a host the engine created (no
    /// agent key registered it) is not an agent's to take over.
    /// </summary>
    private static string? ReregistrationRefusal(ClaimsPrincipal user, HostSnapshot existing, Dictionary<string, string> labels)
    {
        if (user.IsInRole(Roles.Operator)) return null;
        if (AgentRefusal(user, existing) is { } refusal) return refusal;
        var same = existing.Labels.Count == labels.Count
            && existing.Labels.All(l => labels.TryGetValue(l.Key, out var v) && string.Equals(v, l.Value, StringComparison.Ordinal));
        return same ? null : $"host '{existing.Id}' is labelled {Describe(existing.Labels)}; re-labelling a host is an operator's change";
    }

    private static string Describe(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "with no labels" : string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    /// <summary>Whether a configured key named <paramref name="name"/> holds the agent role and serves <paramref name="environment"/>.</summary>
    private static bool ServesAsAgent(ApiKeyOptions options, string name, string environment) =>
        options.Keys.Any(k => string.Equals(k.Name, name, StringComparison.Ordinal)
            && k.Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(Roles.Agent, StringComparer.OrdinalIgnoreCase)
            && k.Environments.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(environment, StringComparer.Ordinal));

    private static bool ServesEnvironment(ClaimsPrincipal user, string environment)
    {
        var served = user.AgentEnvironments();
        return served.Count == 0 || served.Contains(environment);
    }

    internal static void ValidateMetrics(SimulatedMetrics metrics, ValidationErrors errors, string prefix)
    {
        var at = prefix.Length == 0 ? string.Empty : prefix + ".";
        if (metrics.ErrorRatePercent is < 0 or > 100 || double.IsNaN(metrics.ErrorRatePercent)) errors.Add(at + "errorRatePercent", "must be from 0 to 100");
        if (metrics.P99LatencyMs is < 0 or > 3_600_000 || double.IsNaN(metrics.P99LatencyMs)) errors.Add(at + "p99LatencyMs", "must be from 0 to 3600000");
        if (metrics.FailedHealthChecks is < 0 or > 1_000_000) errors.Add(at + "failedHealthChecks", "must be from 0 to 1000000");
        ValidateValues(metrics.Values as Dictionary<string, double> ?? metrics.Values.ToDictionary(v => v.Key, v => v.Value), errors, at + "values");
    }

    /// <summary>Named metrics: up to 64, names like labels, finite values.</summary>
    internal static void ValidateValues(Dictionary<string, double>? values, ValidationErrors errors, string field)
    {
        if (values is null) return;
        if (values.Count > 64) errors.Add(field, "at most 64 named metrics");
        foreach (var (name, value) in values)
        {
            if (!Names.IsLabel(name, "x")) errors.Add($"{field}.{name}", "metric names: up to 63 letters, digits, '.', '-', '_'");
            else if (!double.IsFinite(value)) errors.Add($"{field}.{name}", "must be a finite number");
        }
    }

    internal static void ValidateLabels(Dictionary<string, string>? labels, ValidationErrors errors, string field = "labels")
    {
        if (labels is null) return;
        if (labels.Count > 32) errors.Add(field, "at most 32 labels");
        foreach (var (key, value) in labels)
        {
            if (!Names.IsLabel(key, value)) errors.Add($"{field}.{key}", "keys and values: up to 63 letters, digits, '.', '-', '_', starting and ending alphanumeric");
        }
    }

    private static async Task<List<HostSnapshot>> Snapshots(IGrainFactory grains, IEnumerable<string> ids)
    {
        var snapshots = await Task.WhenAll(ids.Select(id => grains.Ref<IHostGrain>(id).Get()));
        return snapshots.OfType<HostSnapshot>().ToList();
    }
}
