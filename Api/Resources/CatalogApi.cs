using System.Globalization;
using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Catalog;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// Lists of rollouts and releases, newest first, from the catalogs (never by activating each rollout): filters, and an
/// opaque <c>cursor</c> (the <c>next</c> of the previous page) with a <c>limit</c>. A scoped key sees only its scope.
/// </summary>
public static class CatalogApi
{
    public const int MaxPageSize = 500;
    public const int DefaultPageSize = 50;

    public static IEndpointRouteBuilder MapCatalogApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/rollouts", ListRollouts).WithTags("Rollouts").RequireAuthorization(Policies.Read).ScopeFree("the list filters itself: a scoped key sees only rollouts inside its scope, and a filter outside it is a 403")
            .WithSummary("Lists rollouts, filtered and paged by the query");
        routes.MapGet("/v1/releases", ListReleases).WithTags("Releases").RequireAuthorization(Policies.Read).ScopeFree("the list filters itself: a scoped key sees only releases inside its scope, and a filter outside it is a 403")
            .WithSummary("Lists releases, filtered and paged by the query");
        routes.MapGet("/v1/environments/{name}/versions", Versions).WithTags("Environments").RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("Hosts per version per service in an environment (counted at most every 5 s)");
        return routes;
    }

    /// <summary>
    /// Hosts per version per service in one environment (the dashboard's fleet page), counted at most once per
    /// five seconds however many callers ask (one read of each host per count). A key scoped to services sees
    /// only theirs; one scoped to environments finds no other.
    /// </summary>
    public static async Task<Results<Ok<FleetVersions>, ProblemHttpResult>> Versions(string name, ClaimsPrincipal user, IGrainFactory grains)
    {
        var scope = KeyScope.Of(user);
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        // Outside the key's scope the environment is hidden, as in the lists: not found, not forbidden (which would say it exists).
        if (!scope.AllowsEnvironment(name)) return Problems.NotFound($"environment '{name}' does not exist in this key's scope");
        if (await grains.Ref<IFleetVersionsGrain>(name).Get() is not { } versions) return Problems.NotFound($"environment '{name}' does not exist");
        return TypedResults.Ok(scope.Services.Count == 0 ? versions : versions with
        {
            Services = versions.Services.Where(s => scope.AllowsService(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
        });
    }

    /// <summary>
    /// <c>status</c>: one or more statuses, comma-separated (e.g. <c>Progressing,Paused</c>); <c>since</c>: created at or
    /// after this ISO-8601 instant.
    /// </summary>
    public static async Task<Results<Ok<CursorPage<RolloutSummary>>, ValidationProblem, ProblemHttpResult>> ListRollouts(
        ClaimsPrincipal user, IGrainFactory grains, string? status, string? environment, string? service, string? release,
        string? since, string? cursor, int? limit)
    {
        var errors = new ValidationErrors();
        var statuses = new List<RolloutStatus>();
        foreach (var s in (status ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Enum.TryParse<RolloutStatus>(s, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(s, out _)) statuses.Add(parsed);
            else errors.Add("status", $"'{s}' is not a status: one of {string.Join(", ", Enum.GetNames<RolloutStatus>())}");
        }

        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add("environment", "must be an environment name");
        if (release is not null && !Names.IsHostId(release)) errors.Add("release", "must be a release id");
        var query = Common(errors, service, since, cursor, limit);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var scope = KeyScope.Of(user);
        if (scope.Refusal(environment, service) is { } refusal) return Problems.Forbidden(refusal);
        return TypedResults.Ok(await grains.Ref<IRolloutCatalogGrain>(GrainKeys.RolloutCatalog).Query(query! with
        {
            Statuses = statuses, Environment = environment, Release = release,
            ScopeEnvironments = scope.Environments.ToList(), ScopeServices = scope.Services.ToList(),
        }));
    }

    public static async Task<Results<Ok<CursorPage<ReleaseSummary>>, ValidationProblem, ProblemHttpResult>> ListReleases(
        ClaimsPrincipal user, IGrainFactory grains, string? service, string? version, string? since, string? cursor, int? limit)
    {
        var errors = new ValidationErrors();
        if (version is not null && !Names.IsVersion(version)) errors.Add("version", "must be a version");
        var query = Common(errors, service, since, cursor, limit);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var scope = KeyScope.Of(user);
        if (scope.Refusal(null, service) is { } refusal) return Problems.Forbidden(refusal);
        return TypedResults.Ok(await grains.Ref<IReleaseCatalogGrain>(GrainKeys.ReleaseCatalog).Query(query! with
        {
            Version = version, ScopeEnvironments = scope.Environments.ToList(), ScopeServices = scope.Services.ToList(),
        }));
    }

    /// <summary>The filters every list shares (service, since, cursor, limit); null when <paramref name="errors"/> holds any.</summary>
    internal static CatalogQuery? Common(ValidationErrors errors, string? service, string? since, string? cursor, int? limit)
    {
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add("service", "service names are lower-case DNS labels");
        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) from = parsed;
            else errors.Add("since", "must be an ISO-8601 instant, e.g. 2026-12-05T07:00:00Z");
        }

        CatalogCursor? after = null;
        if (cursor is not null)
        {
            if (CatalogCursor.TryParse(cursor, out var parsed)) after = parsed;
            else errors.Add("cursor", "is not a cursor this server issued: pass the 'next' of the previous page");
        }

        if (limit is < 1 or > MaxPageSize) errors.Add("limit", $"must be from 1 to {MaxPageSize}");
        return errors.Any ? null : new CatalogQuery
        {
            Service = service, Since = from, AfterCreatedAt = after?.CreatedAt, AfterId = after?.Id, Limit = limit ?? DefaultPageSize,
        };
    }
}
