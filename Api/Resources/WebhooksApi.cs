using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>A subscription: where to POST, and which events (each list narrows; empty or absent accepts all).</summary>
public sealed record CreateWebhookRequest(string? Url, List<string?>? Types, List<string?>? Environments, List<string?>? Services, string? Description);

/// <summary>The only answer that carries the secret: keep it, it is never shown again.</summary>
public sealed record WebhookCreatedResponse(
    string Id, string Url, IReadOnlyList<string> Types, IReadOnlyList<string> Environments, IReadOnlyList<string> Services,
    string? Description, string CreatedBy, DateTimeOffset CreatedAt, string Secret);

public sealed record WebhookResponse(
    string Id, string Url, IReadOnlyList<string> Types, IReadOnlyList<string> Environments, IReadOnlyList<string> Services,
    string? Description, string CreatedBy, DateTimeOffset CreatedAt, WebhookDeliveryStatus Delivery);

public sealed record DeadLetterResponse(
    string EventId, string Type, string Subject, DateTimeOffset Time, int Attempts, string Reason, DateTimeOffset DeadLetteredAt);

/// <summary>Which dead letters to send again: those named, or every one when <c>eventIds</c> is absent.</summary>
public sealed record RedriveRequest(List<string?>? EventIds);

public sealed record RedriveResponse(int Redriven);

/// <summary>Which dead letters to drop for good: those named, or every one when <c>eventIds</c> is absent.</summary>
public sealed record DiscardResponse(int Discarded);

/// <summary>A page of dead letters, oldest first: <c>next</c> (absent on the last page) is the <c>cursor</c> of the next one.</summary>
public sealed record DeadLetterPageResponse(IReadOnlyList<DeadLetterResponse> Items, int Total, int Limit, string? Next);

/// <summary>
/// Webhook subscriptions (operators only: a subscription reads every event it matches and makes the engine call out).
/// No Idempotency-Key on create: a replayed answer would have to keep the secret, which is shown once and stored
/// nowhere in clear.
/// </summary>
public static class WebhooksApi
{
    public const int MaxFilterEntries = 50;
    public const int DefaultDeadLetterPage = 100;
    public const int MaxDeadLetterPage = 500;

    public static RouteGroupBuilder MapWebhooksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.Webhooks)
            .UnscopedKeysOnly("a subscription receives the events it matches from every service and environment, and makes the engine call out");
        group.MapPost("/", Create)
            .WithSummary("Subscribes a URL to engine events (deliveries are signed)");
        group.MapGet("/", List)
            .WithSummary("Lists webhook subscriptions");
        group.MapGet("/{id}", Get)
            .WithSummary("A webhook subscription and its delivery state");
        group.MapDelete("/{id}", Delete)
            .WithSummary("Deletes a webhook subscription");
        group.MapGet("/{id}/dead-letters", DeadLetters)
            .WithSummary("Deliveries that failed every retry");
        group.MapPost("/{id}/dead-letters/redrive", Redrive)
            .WithSummary("Delivers dead letters again");
        group.MapPost("/{id}/dead-letters/discard", Discard)
            .WithSummary("Drops dead letters for good");
        return group;
    }

    public static async Task<Results<Created<WebhookCreatedResponse>, ValidationProblem, ProblemHttpResult>> Create(
        CreateWebhookRequest request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Url) || request.Url.Length > 2048
            || !Uri.TryCreate(request.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("url", "is required: an absolute http or https URL (at most 2048 characters)");
        }

        var types = Entries(request.Types, "types", WebhookFilter.IsPattern, "event types, or prefixes ending in '*' (letters, digits, '.', '-', '_')", errors);
        var environments = Entries(request.Environments, "environments", Names.IsDnsLabel, "environment names", errors);
        var services = Entries(request.Services, "services", Names.IsDnsLabel, "service names", errors);
        if (request.Description is { Length: > 200 }) errors.Add("description", "at most 200 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IWebhookRegistryGrain>(GrainKeys.Webhooks).Create(new WebhookDraft
        {
            Url = request.Url!,
            Types = types,
            Environments = environments,
            Services = services,
            Description = request.Description,
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        if (!result.Ok) return Problems.From(result);

        var s = result.Value!.Subscription;
        await grains.RecordAction(user, EventTypes.WebhookSubscribed, "webhook/" + s.Id, s.Description, clock, new Dictionary<string, string?>
        {
            ["url"] = Redacted(s.Url),
            ["types"] = string.Join(',', s.Types),
            ["environments"] = string.Join(',', s.Environments),
            ["services"] = string.Join(',', s.Services),
        });
        return TypedResults.Created($"/v1/webhooks/{s.Id}", new WebhookCreatedResponse(
            s.Id, s.Url, s.Types, s.Environments, s.Services, s.Description, s.CreatedBy, s.CreatedAt, result.Value.Secret));
    }

    public static async Task<Ok<Page<WebhookResponse>>> List(IGrainFactory grains)
    {
        var subscriptions = await grains.Ref<IWebhookRegistryGrain>(GrainKeys.Webhooks).List();
        var items = await Task.WhenAll(subscriptions.Select(s => View(s, grains)));
        return TypedResults.Ok(new Page<WebhookResponse> { Items = items, Total = items.Length, Offset = 0, Limit = items.Length });
    }

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        await Find(id, grains) is { } s ? TypedResults.Ok(await View(s, grains)) : NotFound(id);

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(string id, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        if (!GrainKeys.IsWebhook(id) || !await grains.Ref<IWebhookRegistryGrain>(GrainKeys.Webhooks).Delete(id, user.Caller(), user.CallerRoles()))
        {
            return NotFound(id);
        }

        await grains.RecordAction(user, EventTypes.WebhookDeleted, "webhook/" + id, null, clock);
        return TypedResults.NoContent();
    }

    /// <summary>Dead letters, oldest first, <c>limit</c> (1-500, default 100) at a time; <c>cursor</c>: the <c>next</c> of the page before.</summary>
    public static async Task<Results<Ok<DeadLetterPageResponse>, ValidationProblem, ProblemHttpResult>> DeadLetters(
        string id, IGrainFactory grains, string? cursor, int? limit)
    {
        var errors = new ValidationErrors();
        var after = 0L;
        if (cursor is not null && !(long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after) && after > 0))
        {
            errors.Add("cursor", "is not a cursor this server issued: pass the 'next' of the previous page");
        }

        if (limit is < 1 or > MaxDeadLetterPage) errors.Add("limit", $"must be from 1 to {MaxDeadLetterPage}");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (await Find(id, grains) is null) return NotFound(id);
        var size = limit ?? DefaultDeadLetterPage;
        var page = await grains.Ref<IWebhookDeliveryGrain>(id).DeadLetterPage(after, size);
        var items = page.Items.Select(d => new DeadLetterResponse(d.Event.Id, d.Event.Type, d.Event.Subject, d.Event.Timestamp, d.Attempts, d.Reason, d.DeadLetteredAt)).ToList();
        return TypedResults.Ok(new DeadLetterPageResponse(items, page.Total, size, page.Next?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    public static async Task<Results<Ok<RedriveResponse>, ValidationProblem, ProblemHttpResult>> Redrive(
        string id, RedriveRequest? request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var ids = request?.EventIds;
        if (ids is not null && (ids.Count is 0 or > 1000 || ids.Any(e => e is null || e.Length is 0 or > 128)))
        {
            return Problems.Validation("eventIds", "1-1000 event ids; leave it out to re-drive every dead letter");
        }

        if (await Find(id, grains) is null) return NotFound(id);
        var count = await grains.Ref<IWebhookDeliveryGrain>(id).Redrive(ids?.Select(e => e!).ToList());
        if (count > 0)
        {
            await grains.RecordAction(user, EventTypes.WebhookRedriven, "webhook/" + id, $"{count} dead letter(s) sent again", clock);
        }

        return TypedResults.Ok(new RedriveResponse(count));
    }

    /// <summary>Drops dead letters for good (audited with the count): the way to make room when the list is full and they are not wanted.</summary>
    public static async Task<Results<Ok<DiscardResponse>, ValidationProblem, ProblemHttpResult>> Discard(
        string id, RedriveRequest? request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var ids = request?.EventIds;
        if (ids is not null && (ids.Count is 0 or > 1000 || ids.Any(e => e is null || e.Length is 0 or > 128)))
        {
            return Problems.Validation("eventIds", "1-1000 event ids; leave it out to discard every dead letter");
        }

        if (await Find(id, grains) is null) return NotFound(id);
        var count = await grains.Ref<IWebhookDeliveryGrain>(id).Discard(ids?.Select(e => e!).ToList());
        if (count > 0)
        {
            await grains.RecordAction(user, EventTypes.WebhookDiscarded, "webhook/" + id, $"{count} dead letter(s) discarded", clock);
        }

        return TypedResults.Ok(new DiscardResponse(count));
    }

    private static async Task<WebhookSubscription?> Find(string id, IGrainFactory grains) =>
        GrainKeys.IsWebhook(id) ? await grains.Ref<IWebhookRegistryGrain>(GrainKeys.Webhooks).Get(id) : null;

    private static async Task<WebhookResponse> View(WebhookSubscription s, IGrainFactory grains) => new(
        s.Id, s.Url, s.Types, s.Environments, s.Services, s.Description, s.CreatedBy, s.CreatedAt,
        await grains.Ref<IWebhookDeliveryGrain>(s.Id).Status());

    private static ProblemHttpResult NotFound(string id) => Problems.NotFound($"webhook subscription '{id}' does not exist");

    private static List<string> Entries(List<string?>? values, string field, Func<string?, bool> valid, string what, ValidationErrors errors)
    {
        if (values is null) return [];
        if (values.Count > MaxFilterEntries || values.Any(v => !valid(v)))
        {
            errors.Add(field, $"at most {MaxFilterEntries} {what}");
            return [];
        }

        return values.Select(v => v!).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The URL for the audit trail, without its query (which may carry a receiver's token).</summary>
    private static string Redacted(string url) => url.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? url[..q] + "?…" : url;
}
