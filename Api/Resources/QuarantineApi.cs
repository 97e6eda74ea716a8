using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>Why an operator clears a quarantined host (what was done to it), for the environment's history.</summary>
public sealed record ClearQuarantineRequest(string? Reason);

/// <summary>
/// Hosts a rollback quarantined (they never acknowledged it by its deadline) are listed on their environment
/// (<c>GET /v1/environments/{name}</c>, <c>quarantined</c>) and left out of every later rollout until an operator clears them here.
/// </summary>
public static class QuarantineApi
{
    public static RouteGroupBuilder MapQuarantineApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/hosts").WithTags("Hosts");
        group.MapPost("/{id}/quarantine/clear", Clear).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeHost)
            .WithSummary("Clears a host a rollback quarantined, so later rollouts target it again");
        return group;
    }

    public static async Task<Results<Ok<EnvironmentSnapshot>, ValidationProblem, ProblemHttpResult>> Clear(
        string id, ClearQuarantineRequest? body, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (body?.Reason is { Length: > 1000 }) return Problems.Validation("reason", "must be at most 1000 characters");
        if (!Names.IsHostId(id) || await grains.Ref<IHostGrain>(id).Get() is not { } host) return Problems.NotFound($"host '{id}' does not exist");
        var result = await grains.Ref<IEnvironmentGrain>(host.Environment).ClearQuarantine(id, user.Caller(), body?.Reason);
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }
}
