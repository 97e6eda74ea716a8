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

/// <summary>A change record bound to a service (required), optionally one release, and a window (end required, start optional).</summary>
public sealed record CreateChangeRecordRequest(
    string? Id, string? Title, string? State, string? Description, string? Service = null, string? Release = null, DateTimeOffset? Start = null, DateTimeOffset? End = null);

public sealed record ChangeRecordStateRequest(string? State, string? Reason);

/// <summary>
/// The built-in change-record store, for teams without an ITSM system. Records are created and moved between states
/// only by the change authority (approver role) or the ITSM adapter (itsm role); a key that submitted or deployed the
/// release a record names cannot approve it.
/// </summary>
public static class ChangeRecordsApi
{
    private static readonly string[] States = ["approved", "pending", "rejected"];

    /// <summary>The longest change window a record may have.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(30);

    public static RouteGroupBuilder MapChangeRecordsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/change-records").WithTags("Change records");
        group.MapPost("/", Create).RequireAuthorization(Policies.ChangeRecord).ScopedBy(Scope.NewChangeRecord)
            .WithSummary("Creates a change record bound to a service and a window");
        group.MapGet("/", List).RequireAuthorization(Policies.Read).ScopeFree("the list filters itself: a scoped key sees only records of its services, and a filter outside it is a 403")
            .WithSummary("Lists change records, filtered by service, release, state and window, and paged");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.ChangeRecord)
            .WithSummary("A change record and its state");
        group.MapPut("/{id}/state", SetState).RequireAuthorization(Policies.ChangeRecord).ScopedBy(Scope.ChangeRecord)
            .WithSummary("Moves a change record to a new state (approved, rejected, closed)");
        return group;
    }

    public static async Task<Results<Created<ChangeRecordSnapshot>, ValidationProblem, ProblemHttpResult>> Create(
        CreateChangeRecordRequest request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (!IsId(request.Id)) errors.Add("id", "must be 1-64 characters: letters, digits, '.', '-', '_'");
        if (request.Title is { } title && (title.Length is 0 or > 256 || title.Any(char.IsControl))) errors.Add("title", "must be 1-256 printable characters");
        if (!States.Contains(request.State?.ToLowerInvariant())) errors.Add("state", "must be approved, pending or rejected");
        if (request.Description?.Length > 4096) errors.Add("description", "at most 4096 characters");
        if (!Names.IsDnsLabel(request.Service)) errors.Add("service", "is required: the service the change is for (a lower-case DNS label)");
        if (request.Release is { } release && (!Names.IsHostId(release) || release.Length > 64)) errors.Add("release", "must be a release id");
        var start = request.Start ?? clock.GetUtcNow();
        if (request.End is not { } end) errors.Add("end", "is required: when the change window closes (ISO 8601 with an offset)");
        else if (end <= start || end <= clock.GetUtcNow() || end - start > MaxWindow) errors.Add("end", "must be after start and now, and at most 30 days after start");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IChangeRecordGrain>(request.Id!).Create(new ChangeRecordCommand
        {
            Service = request.Service,
            Release = request.Release,
            Start = request.Start,
            End = request.End,
            Title = request.Title,
            State = request.State!.ToLowerInvariant(),
            Description = request.Description,
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        return result.Ok ? TypedResults.Created($"/v1/change-records/{request.Id}", result.Value!) : Problems.From(result);
    }

    /// <summary>
    /// The built-in change records, newest first, from their catalog: <c>service</c>, <c>release</c>, <c>state</c>
    /// (one or more of approved, pending, rejected, comma-separated), <c>window</c> (upcoming, open or closed now),
    /// <c>since</c> (created at or after), and the <c>cursor</c>/<c>limit</c> paging of the other lists. A key scoped to
    /// services sees only their records.
    /// </summary>
    public static async Task<Results<Ok<CursorPage<ChangeRecordSnapshot>>, ValidationProblem, ProblemHttpResult>> List(
        ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock, string? service, string? release, string? state, string? window,
        string? since, string? cursor, int? limit)
    {
        var errors = new ValidationErrors();
        var states = new List<string>();
        foreach (var s in (state ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (States.Contains(s.ToLowerInvariant())) states.Add(s.ToLowerInvariant());
            else errors.Add("state", $"'{s}' is not a state: approved, pending or rejected");
        }

        if (window is not null && (!Enum.TryParse<ChangeWindowPhase>(window, ignoreCase: true, out _) || int.TryParse(window, out _)))
            errors.Add("window", "must be upcoming, open or closed");
        if (release is not null && !IsId(release)) errors.Add("release", "must be a release id");
        var query = CatalogApi.Common(errors, service, since, cursor, limit);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var scope = KeyScope.Of(user);
        if (scope.Refusal(null, service) is { } refusal) return Problems.Forbidden(refusal);
        return TypedResults.Ok(await grains.Ref<IChangeRecordCatalogGrain>(GrainKeys.ChangeRecordCatalog).Query(query! with
        {
            Release = release, States = states, Window = window?.ToLowerInvariant(), At = clock.GetUtcNow(),
            ScopeEnvironments = scope.Environments.ToList(), ScopeServices = scope.Services.ToList(),
        }));
    }

    public static async Task<Results<Ok<ChangeRecordSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        IsId(id) && await grains.Ref<IChangeRecordGrain>(id).Get() is { } record
            ? TypedResults.Ok(record)
            : Problems.NotFound($"change record '{id}' does not exist");

    public static async Task<Results<Ok<ChangeRecordSnapshot>, ValidationProblem, ProblemHttpResult>> SetState(
        string id, ChangeRecordStateRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!States.Contains(request.State?.ToLowerInvariant())) errors.Add("state", "must be approved, pending or rejected");
        if (request.Reason?.Length > 1024) errors.Add("reason", "at most 1024 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (!IsId(id)) return Problems.NotFound($"change record '{id}' does not exist");

        var result = await grains.Ref<IChangeRecordGrain>(id).SetState(new ChangeRecordCommand
        {
            State = request.State!.ToLowerInvariant(),
            Reason = request.Reason,
            Actor = user.Caller(),
            Role = user.CallerRoles(),
        });
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    private static bool IsId(string? id) => Names.IsHostId(id) && id!.Length <= 64;
}
