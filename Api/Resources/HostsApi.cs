using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record RegisterHostRequest(
    string? Id,
    string? Environment,
    Dictionary<string, string>? Labels,
    string? CurrentArtifact,
    string? CurrentVersion);

public sealed record HeartbeatRequest(bool? Healthy);

/// <summary>
/// An agent's outcome. <c>ComputedDigest</c>: the sha256 the agent computed over its download; when it differs from
/// <c>Artifact</c> the agent did not activate it and the host fails with "artifact verification failed: expected …, got …".
/// </summary>
public sealed record HostReportRequest(string? Rollout, string? Artifact, bool? Succeeded, bool? Healthy, string? Message, string? ComputedDigest = null);

/// <summary>A health and metrics sample from an agent: what the rollback triggers read.</summary>
public sealed record HostMetricsRequest(double? ErrorRatePercent, double? P99LatencyMs, int? FailedHealthChecks, long? Requests, Dictionary<string, double>? Values = null);

public static class HostsApi
{
    public const int MaxPageSize = 500;

    public static RouteGroupBuilder MapHostsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/hosts").WithTags("Hosts");
        group.MapPost("/", Register).RequireAuthorization(Policies.Agent);
        group.MapGet("/", List).RequireAuthorization(Policies.Read);
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read);
        group.MapPost("/{id}/heartbeat", Heartbeat).RequireAuthorization(Policies.Agent);
        group.MapGet("/{id}/desired", Desired).RequireAuthorization(Policies.Agent);
        group.MapPost("/{id}/reports", Report).RequireAuthorization(Policies.Agent);
        group.MapPost("/{id}/metrics", Metrics).RequireAuthorization(Policies.Agent);
        return group;
    }

    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Register(RegisterHostRequest request, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsHostId(request.Id)) errors.Add("id", "must be 1-128 characters: letters, digits, '.', '-', '_'");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        ValidateLabels(request.Labels, errors);
        if (request.CurrentArtifact is not null && !ArtifactDigest.IsValid(request.CurrentArtifact))
            errors.Add("currentArtifact", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");
        if (request.CurrentVersion is not null && !Names.IsVersion(request.CurrentVersion)) errors.Add("currentVersion", "must be a version");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var environment = grains.Ref<IEnvironmentGrain>(request.Environment!);
        if (await environment.Get() is null) return Problems.NotFound($"environment '{request.Environment}' does not exist");

        var results = await environment.RegisterHosts([new HostEnrollment
        {
            HostId = request.Id!,
            Registration = new HostRegistration
            {
                Environment = request.Environment!,
                Labels = request.Labels ?? [],
                CurrentArtifact = request.CurrentArtifact,
                CurrentVersion = request.CurrentVersion,
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
        IGrainFactory grains, string? environment, string? state, string? artifact, string? version,
        string[]? label, int? offset, int? limit)
    {
        var errors = new ValidationErrors();
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
        var needsState = wantedState is not null || artifact is not null || version is not null;
        var skip = offset ?? 0;
        var take = limit ?? 100;

        if (!needsState)
        {
            var page = await Snapshots(grains, candidates.Skip(skip).Take(take));
            return TypedResults.Ok(new Page<HostSnapshot> { Items = page, Total = candidates.Count, Offset = skip, Limit = take });
        }

        var matching = (await Snapshots(grains, candidates))
            .Where(h => (wantedState is null || h.State == wantedState)
                && (artifact is null || h.CurrentArtifact == artifact)
                && (version is null || h.CurrentVersion == version))
            .ToList();
        return TypedResults.Ok(new Page<HostSnapshot> { Items = matching.Skip(skip).Take(take).ToList(), Total = matching.Count, Offset = skip, Limit = take });
    }

    public static async Task<Results<Ok<HostSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IHostGrain>(id).Get() is { } host
            ? TypedResults.Ok(host)
            : Problems.NotFound($"host '{id}' is not registered");

    public static async Task<Results<Ok<HostSnapshot>, ProblemHttpResult>> Heartbeat(string id, HeartbeatRequest? request, IGrainFactory grains)
    {
        if (!Names.IsHostId(id)) return Problems.NotFound($"host '{id}' is not registered");
        var result = await grains.Ref<IHostGrain>(id).Heartbeat(request?.Healthy ?? true);
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.NotFound(result.Detail!);
    }

    public static async Task<Results<Ok<DesiredState>, ProblemHttpResult>> Desired(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IHostGrain>(id).GetDesired() is { } desired
            ? TypedResults.Ok(desired)
            : Problems.NotFound($"host '{id}' is not registered");

    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Report(string id, HostReportRequest request, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Rollout) || request.Rollout.Length > 200) errors.Add("rollout", "is required: the rollout named in the desired state");
        if (!ArtifactDigest.IsValid(request.Artifact)) errors.Add("artifact", "must be the digest the host applied");
        if (request.Succeeded is null) errors.Add("succeeded", "is required");
        if (request.Message is { Length: > 2000 }) errors.Add("message", "must be at most 2000 characters");
        if (request.ComputedDigest is not null && !ArtifactDigest.IsValid(request.ComputedDigest)) errors.Add("computedDigest", "must be the sha256 digest the agent computed over its download");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsHostId(id)) return Problems.NotFound($"host '{id}' is not registered");

        var result = await grains.Ref<IHostGrain>(id).Report(new HostOutcomeReport
        {
            RolloutId = request.Rollout!,
            Artifact = request.Artifact!,
            Succeeded = request.Succeeded!.Value,
            Healthy = request.Healthy ?? request.Succeeded.Value,
            Message = request.Message,
            ComputedDigest = request.ComputedDigest,
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<HostSnapshot>, ValidationProblem, ProblemHttpResult>> Metrics(string id, HostMetricsRequest request, IGrainFactory grains)
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
        ValidateValues(request.Values, errors, "values");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!Names.IsHostId(id)) return Problems.NotFound($"host '{id}' is not registered");

        var result = await grains.Ref<IHostGrain>(id).ReportMetrics(new HostMetricsSample
        {
            HostId = id,
            ErrorRatePercent = sample.ErrorRatePercent,
            P99LatencyMs = sample.P99LatencyMs,
            FailedHealthChecks = sample.FailedHealthChecks,
            Requests = request.Requests ?? 0,
            Values = request.Values ?? [],
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
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
