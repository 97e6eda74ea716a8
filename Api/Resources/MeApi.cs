using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
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

/// <summary>A rollout waiting for an approval: whether it waits for the calling key (<c>Reason</c> says why, or why not).</summary>
public sealed record ApprovalInboxItem(
    string Rollout, string ReleaseId, string Environment, string Service, string Version, DateTimeOffset Since, string Reason, GovernanceSnapshot Governance);

/// <summary><c>Items</c>: the approvals this key's vote would move; <c>Others</c>: those waiting for someone else, with the reason.</summary>
public sealed record ApprovalInboxResponse(IReadOnlyList<ApprovalInboxItem> Items, IReadOnlyList<ApprovalInboxItem> Others);

public static class MeApi
{
    /// <summary>The most rollouts waiting for approval that one inbox read evaluates (the newest first).</summary>
    public const int MaxInbox = 200;

    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/me", Get).WithTags("Me").RequireAuthorization(Policies.Self).ScopeFree("describes the calling key itself, scope included")
            .WithSummary("The calling key: its name, roles, and the actions it may take");
        routes.MapGet("/v1/me/approvals", Approvals).WithTags("Me").RequireAuthorization(Policies.Approve).ScopeFree("the inbox filters itself: only rollouts inside the key's scope")
            .WithSummary("Rollouts waiting for this key's approval (its groups, not its own releases), and why the others do not");
        return routes;
    }

    /// <summary>
    /// The approvals waiting for the calling key: rollouts AwaitingApproval inside the key's scope whose approval gate
    /// still needs a vote from one of the key's approver groups, leaving out releases the key submitted or deployed
    /// (four eyes). The rest are listed under <c>others</c> with the reason they do not wait for this key.
    /// </summary>
    public static async Task<Ok<ApprovalInboxResponse>> Approvals(ClaimsPrincipal user, IGrainFactory grains)
    {
        var scope = KeyScope.Of(user);
        var catalog = grains.Ref<IRolloutCatalogGrain>(GrainKeys.RolloutCatalog);
        var page = await catalog.Query(new CatalogQuery
        {
            Statuses = [RolloutStatus.AwaitingApproval], Limit = MaxInbox,
            ScopeEnvironments = scope.Environments.ToList(), ScopeServices = scope.Services.ToList(),
        });
        var governance = grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance);
        var actor = user.Caller();
        var views = await Task.WhenAll(page.Items.Select(r => governance.WaitingFor(r.ReleaseId, r.Environment, actor)));
        var items = new List<ApprovalInboxItem>();
        var others = new List<ApprovalInboxItem>();
        foreach (var (rollout, view) in page.Items.Zip(views))
        {
            if (view is null) continue; // the release is gone: nothing to approve
            var item = new ApprovalInboxItem(rollout.Id, rollout.ReleaseId, rollout.Environment, rollout.Service, rollout.Version,
                rollout.UpdatedAt, view.Reason, view.Governance);
            (view.Waits ? items : others).Add(item);
        }

        return TypedResults.Ok(new ApprovalInboxResponse(items, others));
    }

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
