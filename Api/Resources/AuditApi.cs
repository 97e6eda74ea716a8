using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>The audit trail: every action with who, what, which release, when and why; hash-chained.</summary>
public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/audit").WithTags("Audit");
        group.MapGet("/", Query).RequireAuthorization(Policies.Read).UnscopedKeysOnly("the audit trail records every service and environment")
            .WithSummary("Queries the audit trail by subject, actor, action or time");
        group.MapGet("/verify", Verify).RequireAuthorization(Policies.Read).UnscopedKeysOnly("verifying the chain reads every entry of every service and environment")
            .WithSummary("Verifies the audit trail's hash chain and names the first entry that breaks it");
        return group;
    }

    /// <summary>
    /// Entries in order, filtered by release, environment, principal and time range [from, to); paged with
    /// <c>after</c> = the last sequence number of the previous page.
    /// </summary>
    public static async Task<Results<Ok<Page<AuditEntry>>, ValidationProblem>> Query(
        IGrainFactory grains, string? release, string? environment, string? principal, DateTimeOffset? from, DateTimeOffset? to, long? after, int? limit)
    {
        var errors = new ValidationErrors();
        if (release is not null && (release.Length > 64 || !Names.IsHostId(release))) errors.Add("release", "must be a release id");
        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add("environment", "must be an environment name");
        if (principal is { Length: 0 or > 128 }) errors.Add("principal", "must be 1-128 characters");
        if (from is not null && to is not null && from > to) errors.Add("from", "must not be after 'to'");
        if (after is < 0) errors.Add("after", "must be zero or more");
        if (limit is < 1 or > 1000) errors.Add("limit", "must be from 1 to 1000");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        return TypedResults.Ok(await grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog).Query(new AuditQuery
        {
            Release = release,
            Environment = environment,
            Principal = principal,
            From = from,
            To = to,
            After = after ?? 0,
            Limit = limit ?? 100,
        }));
    }

    /// <summary>Recomputes the whole chain: valid, or the first entry that was altered, removed or inserted.</summary>
    public static async Task<Ok<AuditVerification>> Verify(IGrainFactory grains) =>
        TypedResults.Ok(await grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog).Verify());
}
