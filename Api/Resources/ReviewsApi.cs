using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record FileReviewRequest(string? Findings, string? RootCause, List<string?>? Actions);

/// <summary>Post-implementation reviews: opened by the engine when a rollout rolls back or fails, filed by people.</summary>
public static class ReviewsApi
{
    public static RouteGroupBuilder MapReviewsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/reviews").WithTags("Reviews");
        group.MapGet("/", List).RequireAuthorization(Policies.Read);
        group.MapPost("/{id}", File).RequireAuthorization(Policies.Govern);
        return group;
    }

    public static async Task<Results<Ok<IReadOnlyList<ReviewSnapshot>>, ValidationProblem>> List(string? service, string? state, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(service)) errors.Add("service", "must name a service (a lower-case DNS label)");
        if (state is not (null or "open" or "filed")) errors.Add("state", "must be open or filed");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var reviews = await grains.Ref<IReviewBookGrain>(service!).List();
        return TypedResults.Ok<IReadOnlyList<ReviewSnapshot>>(reviews.Where(r => state is null || r.State == state).ToList());
    }

    public static async Task<Results<Ok<ReviewSnapshot>, ValidationProblem, ProblemHttpResult>> File(
        string id, FileReviewRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Findings) || request.Findings.Length > 8192) errors.Add("findings", "required, at most 8192 characters");
        if (string.IsNullOrWhiteSpace(request.RootCause) || request.RootCause.Length > 4096) errors.Add("rootCause", "required, at most 4096 characters");
        if (request.Actions is null || request.Actions.Count is 0 or > 50 || request.Actions.Any(a => string.IsNullOrWhiteSpace(a) || a.Length > 1024))
            errors.Add("actions", "1-50 follow-up actions, each 1-1024 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        if (!Names.IsHostId(id) || !GrainKeys.TryParseReview(id, out var rolloutId)
            || await grains.Ref<IRolloutGrain>(rolloutId).Get() is not { } rollout)
        {
            return Problems.NotFound($"review '{id}' does not exist");
        }

        var result = await grains.Ref<IReviewBookGrain>(rollout.Service).File(id, new ReviewFiling
        {
            Findings = request.Findings!,
            RootCause = request.RootCause!,
            Actions = request.Actions!.Select(a => a!).ToList(),
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }
}
