using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// Who the presented key is: its name, roles, its scope (the environments and services it is bound to; empty means
/// every one), and the policies it satisfies
/// (<see cref="Policies"/>: read, submit, operate, approve, govern, calendar, incident, agent). The dashboard shows
/// only the actions a key can take; the server still checks every call, so this answer grants nothing.
/// </summary>
public sealed record MeResponse(string Name, IReadOnlyList<string> Roles, IReadOnlyList<string> Environments, IReadOnlyList<string> Services, IReadOnlyList<string> Can);

public static class MeApi
{
    public static RouteHandlerBuilder MapMeApi(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/v1/me", Get).WithTags("Me").RequireAuthorization(Policies.Self)
            .WithSummary("The calling key: its name, roles, and the actions it may take");

    public static Ok<MeResponse> Get(ClaimsPrincipal user)
    {
        var roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var can = Policies.RolesByPolicy
            .Where(p => p.Key != Policies.Self && p.Value.Any(roles.Contains)) // every key may ask who it is: no action to show
            .Select(p => p.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
        var scope = KeyScope.Of(user);
        return TypedResults.Ok(new MeResponse(user.Caller(), roles,
            scope.Environments.Order(StringComparer.Ordinal).ToList(), scope.Services.Order(StringComparer.Ordinal).ToList(), can));
    }
}
