using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// A blameless post-mortem: findings, root cause, follow-ups (<c>actions</c> as text and/or <c>actionItems</c> with an
/// owner each), <c>contributingFactors</c> as short labels (counted across reviews), and the <c>incidents</c> and other
/// <c>rollouts</c> it links.
/// </summary>
public sealed record FileReviewRequest(
    string? Findings,
    string? RootCause,
    List<string?>? Actions,
    List<string?>? ContributingFactors = null,
    List<ActionItemRequest?>? ActionItems = null,
    List<string?>? Incidents = null,
    List<string?>? Rollouts = null);

public sealed record ActionItemRequest(string? Title, string? Owner);

public sealed record ActionStatusRequest(string? Status);

public sealed record ProposalDecisionRequest(string? Decision, string? Reason);

/// <summary>One entry of a post-mortem's timeline, from the audit trail.</summary>
public sealed record TimelineEntry(DateTimeOffset At, string Principal, string Action, string Subject, string? Environment, string? Reason);

/// <summary>A review with its timeline: the audit entries of its release(s) and its incidents, oldest first.</summary>
public sealed record ReviewView(ReviewSnapshot Review, IReadOnlyList<TimelineEntry> Timeline);

public sealed record FactorView(string Factor, int Count, IReadOnlyList<string> Reviews);

public sealed record ProposalView(string Item, int Count, IReadOnlyList<string> Reviews, string Status, string? DecidedBy, DateTimeOffset? DecidedAt, string? Reason);

/// <summary>Contributing factors across every filed review, most frequent first, and the checklist items proposed from them.</summary>
public sealed record LearningsView(IReadOnlyList<FactorView> Factors, IReadOnlyList<ProposalView> Proposals, IReadOnlyList<string> ReadinessChecklist);

/// <summary>Post-implementation reviews: opened by the engine when a rollout rolls back or fails, filed by people.</summary>
public static class ReviewsApi
{
    public static RouteGroupBuilder MapReviewsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/reviews").WithTags("Reviews");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopedBy(Scope.ServiceFilter)
            .WithSummary("Lists post-implementation reviews");
        group.MapPost("/{id}", File).RequireAuthorization(Policies.Govern).ScopedBy(Scope.Review)
            .WithSummary("Files a review: findings, root cause, contributing factors and follow-ups");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Review)
            .WithSummary("A review with its timeline from the audit trail");
        group.MapPost("/{id}/actions/{number}", UpdateAction).RequireAuthorization(Policies.Govern).ScopedBy(Scope.Review)
            .WithSummary("Updates one follow-up action of a review");
        group.MapGet("/factors", Factors).RequireAuthorization(Policies.Read).UnscopedKeysOnly("contributing factors are counted across the reviews of every service")
            .WithSummary("Contributing factors counted across reviews, and the checklist items proposed from them");
        group.MapPost("/proposals/{item}", Decide).RequireAuthorization(Policies.Approve).UnscopedKeysOnly("a readiness checklist item applies to the releases of every service")
            .WithSummary("Adopts or dismisses a proposed readiness checklist item");
        return group;
    }

    /// <summary>The reviews of one service (its key's service, for a service-scoped key); a key scoped to environments sees those of its environments.</summary>
    public static async Task<Results<Ok<IReadOnlyList<ReviewSnapshot>>, ValidationProblem>> List(string? service, string? state, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(service)) errors.Add("service", "must name a service (a lower-case DNS label)");
        if (state is not (null or "open" or "filed")) errors.Add("state", "must be open or filed");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var reviews = await grains.Ref<IReviewBookGrain>(service!).List();
        var scope = KeyScope.Of(user);
        return TypedResults.Ok<IReadOnlyList<ReviewSnapshot>>(reviews.Where(r => (state is null || r.State == state) && scope.AllowsEnvironment(r.Environment)).ToList());
    }

    public static async Task<Results<Ok<ReviewSnapshot>, ValidationProblem, ProblemHttpResult>> File(
        string id, FileReviewRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Findings) || request.Findings.Length > 8192) errors.Add("findings", "required, at most 8192 characters");
        if (string.IsNullOrWhiteSpace(request.RootCause) || request.RootCause.Length > 4096) errors.Add("rootCause", "required, at most 4096 characters");
        var items = request.ActionItems ?? [];
        if (request.ActionItems is null && request.Actions is null || (request.Actions?.Count ?? 0) + items.Count is 0 or > 50
            || request.Actions?.Any(a => string.IsNullOrWhiteSpace(a) || a.Length > 1024) == true)
            errors.Add("actions", "1-50 follow-ups in all (actions and actionItems), each action 1-1024 characters");
        for (var i = 0; i < items.Count && items.Count <= 50; i++)
        {
            if (items[i] is not { } item) errors.Add($"actionItems[{i}]", "must be an object {title, owner}");
            else
            {
                if (string.IsNullOrWhiteSpace(item.Title) || item.Title.Length > 1024) errors.Add($"actionItems[{i}].title", "required, at most 1024 characters");
                if (string.IsNullOrWhiteSpace(item.Owner) || item.Owner.Length > 128) errors.Add($"actionItems[{i}].owner", "required: who owns it (at most 128 characters)");
            }
        }

        var factors = request.ContributingFactors ?? [];
        if (factors.Count > 20 || factors.Any(f => !PostmortemLearning.IsValid(f)))
            errors.Add("contributingFactors", "at most 20 short labels, each 1-64 letters, digits, spaces, '-' or '_' (e.g. \"config drift\")");
        var incidents = request.Incidents ?? [];
        if (incidents.Count > 20 || incidents.Any(i => i is not { Length: > 0 and <= 64 } || !Names.IsHostId(i))) errors.Add("incidents", "at most 20 incident ids");
        var rollouts = request.Rollouts ?? [];
        if (rollouts.Count > 20 || rollouts.Any(r => r is null || !GrainKeys.TryParseRollout(r, out _, out _))) errors.Add("rollouts", "at most 20 rollout ids");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        if (!Names.IsHostId(id) || !GrainKeys.TryParseReview(id, out var rolloutId)
            || await grains.Ref<IRolloutGrain>(rolloutId).Get() is not { } rollout)
        {
            return Problems.NotFound($"review '{id}' does not exist");
        }

        foreach (var incident in incidents)
        {
            if (await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Get(incident!) is null) errors.Add("incidents", $"incident '{incident}' does not exist");
        }

        foreach (var linked in rollouts)
        {
            if (await grains.Ref<IRolloutGrain>(linked!).Get() is null) errors.Add("rollouts", $"rollout '{linked}' does not exist");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IReviewBookGrain>(rollout.Service).File(id, new ReviewFiling
        {
            Findings = request.Findings!,
            RootCause = request.RootCause!,
            Actions = (request.Actions ?? []).Select(a => a!).ToList(),
            Actor = user.Caller(),
            Role = user.CallerRoles(),
            ContributingFactors = factors.Select(f => PostmortemLearning.Normalise(f!)).Distinct(StringComparer.Ordinal).ToList(),
            ActionItems = items.Select(a => new ActionItem { Title = a!.Title!, Owner = a.Owner! }).ToList(),
            Incidents = incidents.Select(i => i!).Distinct(StringComparer.Ordinal).ToList(),
            LinkedRollouts = rollouts.Select(r => r!).Distinct(StringComparer.Ordinal).ToList(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    /// <summary>A review and its timeline: the audit entries of its release and linked rollouts' releases, and of its incidents.</summary>
    public static async Task<Results<Ok<ReviewView>, ProblemHttpResult>> Get(string id, IGrainFactory grains)
    {
        if (await Find(id, grains) is not { } review) return Problems.NotFound($"review '{id}' does not exist");
        var audit = grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog);
        var releases = new HashSet<string>(StringComparer.Ordinal) { review.ReleaseId };
        foreach (var linked in review.LinkedRollouts)
        {
            if (GrainKeys.TryParseRollout(linked, out var release, out _)) releases.Add(release);
        }

        var entries = new List<AuditEntry>();
        foreach (var release in releases)
        {
            entries.AddRange((await audit.Query(new AuditQuery { Release = release, Limit = 500 })).Items);
        }

        if (review.Incidents.Count > 0)
        {
            var subjects = review.Incidents.Select(i => "incident/" + i).ToHashSet(StringComparer.Ordinal);
            var around = await audit.Query(new AuditQuery { From = review.OpenedAt - TimelineReach, To = review.OpenedAt + TimelineReach, Limit = 1000 });
            entries.AddRange(around.Items.Where(e => subjects.Contains(e.Subject)));
        }

        var timeline = entries.DistinctBy(e => e.Sequence).OrderBy(e => e.At).ThenBy(e => e.Sequence)
            .Select(e => new TimelineEntry(e.At, e.Principal, e.Action, e.Subject, e.Environment, e.Reason)).ToList();
        return TypedResults.Ok(new ReviewView(review, timeline));
    }

    /// <summary>How far from a review's opening the timeline looks for its incidents' audit entries.</summary>
    public static readonly TimeSpan TimelineReach = TimeSpan.FromDays(7);

    public static async Task<Results<Ok<ReviewSnapshot>, ValidationProblem, ProblemHttpResult>> UpdateAction(
        string id, int number, ActionStatusRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (request.Status is not ("open" or "done")) return Problems.Validation("status", "must be open or done");
        if (await Find(id, grains) is not { } review) return Problems.NotFound($"review '{id}' does not exist");
        var result = await grains.Ref<IReviewBookGrain>(review.Service).UpdateAction(id, number, request.Status,
            new GovernanceActor { Name = user.Caller(), Role = user.CallerRoles() });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    /// <summary>Contributing factors counted across every filed review, the checklist items proposed from them, and the checklist as it stands.</summary>
    public static async Task<Ok<LearningsView>> Factors(IGrainFactory grains)
    {
        var learnings = await grains.Ref<ILearningsGrain>(GrainKeys.Learnings).Get();
        var factors = PostmortemLearning.Count(learnings.Reviews.Select(r => new ReviewFactors(r.ReviewId, r.Factors)));
        var decided = learnings.Decisions.ToDictionary(d => d.Item, StringComparer.Ordinal);
        var proposals = PostmortemLearning.Propose(factors, decided.ToDictionary(d => d.Key, d => d.Value.Decision == "adopted" ? ProposalDecision.Adopted : ProposalDecision.Dismissed))
            .Select(p => new ProposalView(p.Item, p.Factor.Count, p.Factor.Reviews, p.Decision.ToString().ToLowerInvariant(),
                decided.GetValueOrDefault(p.Item)?.DecidedBy, decided.GetValueOrDefault(p.Item)?.DecidedAt, decided.GetValueOrDefault(p.Item)?.Reason))
            .ToList();
        var checklist = await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).ReadinessItems();
        return TypedResults.Ok(new LearningsView(factors.Select(f => new FactorView(f.Factor, f.Count, f.Reviews)).ToList(), proposals, checklist));
    }

    /// <summary>An approver adopts (the item joins the readiness checklist) or dismisses a proposed item; audited either way.</summary>
    public static async Task<Results<Ok<ChecklistDecisionRecord>, ValidationProblem, ProblemHttpResult>> Decide(
        string item, ProposalDecisionRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (request.Decision is not ("adopt" or "dismiss")) errors.Add("decision", "must be adopt or dismiss");
        if (request.Reason is { Length: > 1024 }) errors.Add("reason", "at most 1024 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var result = await grains.Ref<ILearningsGrain>(GrainKeys.Learnings).Decide(item, request.Decision == "adopt",
            new GovernanceActor { Name = user.Caller(), Role = user.CallerRoles(), Reason = request.Reason });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    private static async Task<ReviewSnapshot?> Find(string id, IGrainFactory grains)
    {
        if (!Names.IsHostId(id) || !GrainKeys.TryParseReview(id, out var rolloutId) || await grains.Ref<IRolloutGrain>(rolloutId).Get() is not { } rollout)
        {
            return null;
        }

        return (await grains.Ref<IReviewBookGrain>(rollout.Service).List()).FirstOrDefault(r => r.Id == id);
    }
}
