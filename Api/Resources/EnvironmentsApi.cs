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

public sealed record PutEnvironmentRequest(int? ConcurrencyLimit, string? Description);

/// <summary>
/// Creates simulated hosts <c>{idPrefix}-0001 …</c> in an environment, driven through the same host grains
/// as real agents.
/// </summary>
public sealed record SimulatedFleetRequest(
    int Count,
    string? IdPrefix,
    Dictionary<string, string>? Labels,
    int? StepLatencyMs,
    Dictionary<string, double>? FailureProbability,
    double? DefaultFailureProbability,
    string? CurrentArtifact,
    string? CurrentVersion,
    Dictionary<string, SimulatedMetrics>? Metrics = null,
    SimulatedMetrics? DefaultMetrics = null,
    List<string>? CorruptDownloadVersions = null);

public sealed record SimulatedFleetResponse(string Environment, int Created, IReadOnlyList<string> HostIds);

public static class EnvironmentsApi
{
    public const int MaxSimulatedHostsPerCall = 10_000;

    public static RouteGroupBuilder MapEnvironmentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/environments").WithTags("Environments");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopeFree("filtered to the key's environments and services").AddEndpointFilter(ScopeRules.OnlyEnvironmentsInScope)
            .WithSummary("Lists environments");
        group.MapPut("/{name}", Put).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Creates or updates an environment (concurrency limit and settings)");
        group.MapGet("/{name}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("An environment: its services and versions, running and queued rollouts, quarantined hosts");
        group.MapGet("/{name}/events", Events).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("An environment's event history, oldest first, in pages");
        group.MapPost("/{name}/simulated-hosts", CreateSimulatedFleet).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment).AddEndpointFilter<IdempotencyFilter>()
            .WithSummary("Adds a simulated fleet to an environment, for trying the engine without agents");
        return group;
    }

    /// <summary>Every environment with its spec, slots, queue and deployed versions.</summary>
    public static async Task<Ok<Page<EnvironmentSnapshot>>> List(IGrainFactory grains)
    {
        var names = await grains.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).List();
        var snapshots = (await Task.WhenAll(names.Select(n => WithDeclaration(grains, grains.Ref<IEnvironmentGrain>(n).Get())))).OfType<EnvironmentSnapshot>().ToList();
        return TypedResults.Ok(new Page<EnvironmentSnapshot> { Items = snapshots, Total = snapshots.Count, Offset = 0, Limit = snapshots.Count });
    }

    /// <summary>
    /// Creates or replaces an environment's spec. Optimistic concurrency: <c>If-Match</c> with the ETag of a GET
    /// (or <c>*</c>: it must exist) and <c>If-None-Match: *</c> (it must not exist yet) are checked by the
    /// environment grain in the same turn as the write, so of two writers holding the same ETag exactly one wins
    /// and the other gets 412 with nothing changed. An existing production-tier or protected environment is not changed
    /// here by anyone (409: its limit and description change through an approved declaration change); the same values
    /// again answer 200 with nothing written. This route never touches the tier (it is not a field of this body).
    /// </summary>
    public static async Task<Results<Ok<EnvironmentSnapshot>, ValidationProblem, ProblemHttpResult>> Put(
        string name, PutEnvironmentRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(name)) errors.Add("name", "must be a lower-case DNS label (a-z, 0-9, '-'; 1-63 characters)");
        if (request.ConcurrencyLimit is < 1 or > 1000) errors.Add("concurrencyLimit", "must be from 1 to 1000");
        if (request.Description is { Length: > 1024 }) errors.Add("description", "must be at most 1024 characters");
        var precondition = Preconditions.Read(http.Request, errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        // Through the declaration: a production-tier or protected environment is not rewritten by the keys it constrains.
        var result = await grains.Ref<IEnvironmentDeclarationGrain>(name).ConfigureEnvironment(new EnvironmentSpec
        {
            // Not given: the environment keeps its limit (1 when new); the grain reads it in the same turn as the write.
            ConcurrencyLimit = request.ConcurrencyLimit ?? 0,
            Description = request.Description,
        }, precondition);
        if (!result.Ok) return Problems.From(result);

        await grains.RecordAction(user, EventTypes.EnvironmentModified, "environment/" + name,
            $"configured: concurrency limit {result.Value!.Spec.ConcurrencyLimit}", clock,
            new Dictionary<string, string?> { ["environment"] = name, ["version"] = result.Value.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        http.Response.Headers.ETag = ETag(result.Value!);
        return TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<EnvironmentSnapshot>, ProblemHttpResult>> Get(string name, HttpContext http, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await WithDeclaration(grains, grains.Ref<IEnvironmentGrain>(name).Get()) is not { } environment)
            return Problems.NotFound($"environment '{name}' does not exist");

        http.Response.Headers.ETag = ETag(environment);
        return TypedResults.Ok(environment);
    }

    /// <summary>The environment with its declaration (tier, protection, promotion order, gates, lifecycle), when declared.</summary>
    private static async Task<EnvironmentSnapshot?> WithDeclaration(IGrainFactory grains, Task<EnvironmentSnapshot?> environment) =>
        await environment is { } snapshot
            ? snapshot with { Declaration = await grains.Ref<IEnvironmentDeclarationGrain>(snapshot.Name).Get() }
            : null;

    /// <summary>A strong ETag: the configuration version, quoted (<c>"3"</c>).</summary>
    public static string ETag(EnvironmentSnapshot environment) => Preconditions.ETag(environment.Version);

    /// <summary>
    /// The history after sequence <c>after</c>, at most <c>limit</c> events; fewer than <c>limit</c> means the end. A key
    /// scoped to services gets only its services' events (<see cref="ScopeViews.Shows(KeyScope, EngineEvent, IGrainFactory, Dictionary{string, string?})"/>),
    /// read on until <c>limit</c> of them or the end, so it resumes after the last one it got as anyone does.
    /// </summary>
    public static async Task<Results<Ok<Page<EngineEvent>>, ProblemHttpResult, ValidationProblem>> Events(
        string name, ClaimsPrincipal user, IGrainFactory grains, long? after, int? limit)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' does not exist");
        if (limit is < 1 or > 1000) return Problems.Validation("limit", "must be from 1 to 1000");
        var history = grains.Ref<IEventHistoryGrain>(GrainKeys.EnvironmentEvents(name));
        var (from, size, scope) = (after ?? 0, limit ?? 200, KeyScope.Of(user));
        if (scope.Services.Count == 0) return TypedResults.Ok(await history.Read(from, size));

        var mine = new List<EngineEvent>(size);
        var rollouts = new Dictionary<string, string?>(StringComparer.Ordinal);
        Page<EngineEvent> read;
        var cursor = from;
        do
        {
            read = await history.Read(cursor, size);
            foreach (var item in read.Items)
            {
                if (mine.Count == size) break;
                cursor = item.Sequence;
                if (await scope.Shows(item, grains, rollouts)) mine.Add(item);
            }
        }
        while (mine.Count < size && read.Items.Count == size);

        return TypedResults.Ok(new Page<EngineEvent> { Items = mine, Total = read.Total, Offset = (int)Math.Min(from, int.MaxValue), Limit = size });
    }

    public static async Task<Results<Created<SimulatedFleetResponse>, ValidationProblem, ProblemHttpResult>> CreateSimulatedFleet(
        string name, SimulatedFleetRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        var prefix = request.IdPrefix ?? name;
        if (request.Count is < 1 or > MaxSimulatedHostsPerCall) errors.Add("count", $"must be from 1 to {MaxSimulatedHostsPerCall}");
        if (!Names.IsHostId(prefix) || prefix.Length > 100) errors.Add("idPrefix", "must be 1-100 characters: letters, digits, '.', '-', '_'");
        if (request.StepLatencyMs is < 0 or > 3_600_000) errors.Add("stepLatencyMs", "must be from 0 to 3600000");
        if (request.DefaultFailureProbability is < 0 or > 1) errors.Add("defaultFailureProbability", "must be from 0 to 1");
        foreach (var (version, p) in request.FailureProbability ?? [])
        {
            if (!Names.IsVersion(version) || p is < 0 or > 1 || double.IsNaN(p)) errors.Add($"failureProbability.{version}", "must map a version to a probability from 0 to 1");
        }

        foreach (var (version, m) in request.Metrics ?? [])
        {
            if (!Names.IsVersion(version)) errors.Add($"metrics.{version}", "must map a version to the metrics its hosts report");
            else HostsApi.ValidateMetrics(m, errors, $"metrics.{version}");
        }

        if (request.DefaultMetrics is { } defaults) HostsApi.ValidateMetrics(defaults, errors, "defaultMetrics");
        if (request.CorruptDownloadVersions is { } corrupt && (corrupt.Count > 64 || corrupt.Any(v => !Names.IsVersion(v))))
            errors.Add("corruptDownloadVersions", "at most 64 versions whose downloads fail sha256 verification on these hosts");
        HostsApi.ValidateLabels(request.Labels, errors);
        if (request.CurrentArtifact is not null && !ArtifactDigest.IsValid(request.CurrentArtifact))
            errors.Add("currentArtifact", "must be a content digest 'sha256:' followed by 64 lower-case hex digits");
        if (request.CurrentVersion is not null && !Names.IsVersion(request.CurrentVersion)) errors.Add("currentVersion", "must be a version");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var environment = grains.Ref<IEnvironmentGrain>(name);
        if (!Names.IsDnsLabel(name) || await environment.Get() is null) return Problems.NotFound($"environment '{name}' does not exist");

        var profile = new SimulationProfile
        {
            StepLatencyMs = request.StepLatencyMs ?? 0,
            FailureProbabilityByVersion = request.FailureProbability ?? [],
            DefaultFailureProbability = request.DefaultFailureProbability ?? 0,
            MetricsByVersion = request.Metrics ?? [],
            DefaultMetrics = request.DefaultMetrics,
            CorruptDownloadVersions = request.CorruptDownloadVersions ?? new List<string>(),
        };
        var width = Math.Max(4, request.Count.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        var hosts = Enumerable.Range(1, request.Count).Select(i => new HostEnrollment
        {
            HostId = $"{prefix}-{i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0')}",
            Registration = new HostRegistration
            {
                Environment = name,
                Labels = request.Labels ?? [],
                CurrentArtifact = request.CurrentArtifact,
                CurrentVersion = request.CurrentVersion,
                Simulation = profile,
            },
        }).ToList();

        var results = await environment.RegisterHosts(hosts);
        var refused = results.FirstOrDefault(r => !r.Ok);
        if (refused is not null) return Problems.From(refused);

        return TypedResults.Created($"/v1/hosts?environment={name}", new SimulatedFleetResponse(name, hosts.Count, hosts.Select(h => h.HostId).ToList()));
    }
}
