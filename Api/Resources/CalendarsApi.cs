using System.Globalization;
using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Api.Resources;

/// <summary>
/// One window or freeze. Recurring: <c>cron</c> (5 fields, local time), <c>duration</c> (<c>"08:00:00"</c>,
/// <c>"2.17:00:00"</c>) and <c>timeZone</c> (IANA, default UTC). One-off: <c>start</c> and <c>end</c>, each with
/// an offset (<c>2026-11-26T00:00:00Z</c>). <c>service</c> narrows it to one service.
/// </summary>
public sealed record CalendarEntryRequest(
    string? Name, string? Cron, string? Duration, string? TimeZone, string? Start, string? End, string? Service, string? Description);

/// <summary>An environment's calendar; <c>outsideWindow</c>: <c>wait</c> (default) or <c>refuse</c>.</summary>
public sealed record PutCalendarRequest(List<CalendarEntryRequest?>? Windows, List<CalendarEntryRequest?>? Freezes, string? OutsideWindow);

public sealed record GrantExceptionRequest(string? Release, string? Freeze, string? From, string? Until, string? Reason);

public sealed record CalendarStatusView(bool Open, string State, string Reason, DateTimeOffset? NextOpening);

public sealed record CalendarOccurrenceView(string Name, string Kind, string? Service, DateTimeOffset Start, DateTimeOffset End);

/// <summary>A rollout scheduled in the environment: running, queued for a slot, or held by a gate, and what it waits on.</summary>
public sealed record ScheduledRolloutView(
    string Id, string ReleaseId, string Service, string Version, string Status, string? StatusReason, string? HeldBy, int QueuePosition, string? WaitsOn);

public sealed record CalendarView(
    string Environment,
    DateTimeOffset Now,
    int Days,
    long Version,
    string OutsideWindow,
    IReadOnlyList<CalendarEntrySpec> Windows,
    IReadOnlyList<CalendarEntrySpec> Freezes,
    CalendarStatusView Current,
    IReadOnlyList<CalendarOccurrenceView> Upcoming,
    IReadOnlyList<FreezeExceptionRecord> Exceptions,
    IReadOnlyList<IncidentRecord> Incidents,
    IReadOnlyList<ScheduledRolloutView> Rollouts);

/// <summary>Deployment windows, freezes, executive exceptions, and the calendar view of an environment.</summary>
public static class CalendarsApi
{
    public const int MaxDays = 90;
    public static readonly TimeSpan MaxExceptionLength = TimeSpan.FromDays(14);

    public static RouteGroupBuilder MapCalendarsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/environments").WithTags("Calendars");
        group.MapPut("/{name}/calendar", Put).RequireAuthorization(Policies.Calendar).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Sets an environment's deployment calendar: windows and freezes");
        group.MapGet("/{name}/calendar", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("An environment's deployment calendar and whether deploying is allowed now");
        group.MapPost("/{name}/calendar/exceptions", GrantException).RequireAuthorization(Policies.Calendar).ScopedBy(Scope.EnvironmentAndBodyRelease)
            .WithSummary("Grants a release an exception to one freeze, for a bounded time");
        return group;
    }

    /// <summary>
    /// Replaces the calendar. <c>If-Match</c> (the ETag of a GET: the calendar version) and <c>If-None-Match: *</c> (none
    /// set yet) are checked by the calendar grain in the same turn as the write: 412 and nothing changed otherwise.
    /// </summary>
    public static async Task<Results<Ok<CalendarView>, ValidationProblem, ProblemHttpResult>> Put(
        string name, PutCalendarRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(name)) return Problems.NotFound($"environment '{name}' does not exist");
        var precondition = Preconditions.Read(http.Request, errors);
        var windows = request.Windows ?? [];
        var freezes = request.Freezes ?? [];
        var outside = request.OutsideWindow ?? "wait";
        if (outside is not ("wait" or "refuse")) errors.Add("outsideWindow", "must be \"wait\" or \"refuse\"");
        var entries = new List<CalendarEntrySpec>();
        var fields = new List<string>();
        void Collect(List<CalendarEntryRequest?> list, string kind, string field)
        {
            for (var i = 0; i < list.Count; i++)
            {
                var at = $"{field}[{i}]";
                fields.Add(at);
                if (list[i] is not { } e)
                {
                    errors.Add(at, "must be an object");
                    entries.Add(new CalendarEntrySpec { Name = "invalid", Kind = kind });
                    continue;
                }

                TimeSpan? duration = null;
                if (e.Duration is not null)
                {
                    if (TimeSpan.TryParseExact(e.Duration, "c", CultureInfo.InvariantCulture, out var d)) duration = d;
                    else errors.Add(at + ".duration", "must be a time span such as \"08:00:00\" or \"2.17:00:00\"");
                }

                entries.Add(new CalendarEntrySpec
                {
                    Name = e.Name ?? string.Empty,
                    Kind = kind,
                    Cron = e.Cron,
                    Duration = duration ?? (e.Cron is not null && e.Duration is null ? TimeSpan.Zero : duration),
                    TimeZone = e.Cron is null ? null : e.TimeZone ?? "UTC",
                    Start = Instant(e.Start, at + ".start", errors),
                    End = Instant(e.End, at + ".end", errors),
                    Service = e.Service,
                    Description = e.Description,
                });
            }
        }

        Collect(windows, "window", "windows");
        Collect(freezes, "freeze", "freezes");
        var spec = new CalendarSpec { Entries = entries, OutsideWindow = outside };
        if (!errors.Any)
        {
            // The Domain names fields entries[i].x in the combined list: map them back to windows[i] / freezes[j].
            var domain = new ValidationErrors();
            CalendarRules.Validate(spec.ToDomain(), domain);
            foreach (var (field, messages) in domain.ToDictionary())
            {
                var mapped = field;
                if (field.StartsWith("entries[", StringComparison.Ordinal))
                {
                    var close = field.IndexOf(']', StringComparison.Ordinal);
                    var index = int.Parse(field[8..close], CultureInfo.InvariantCulture);
                    mapped = fields[index] + field[(close + 1)..];
                }
                else if (field == "entries")
                {
                    mapped = "windows";
                }

                foreach (var message in messages) errors.Add(mapped, message);
            }
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (await grains.Ref<IEnvironmentGrain>(name).Get() is null) return Problems.NotFound($"environment '{name}' does not exist");

        var replaced = await grains.Ref<IEnvironmentCalendarGrain>(name).Replace(spec, new GovernanceActor { Name = user.Caller(), Role = user.CallerRoles() }, precondition);
        if (!replaced.Ok) return Problems.From(replaced);
        http.Response.Headers.ETag = Preconditions.ETag(replaced.Value!.Version);
        return TypedResults.Ok(await View(name, 14, grains, clock));
    }

    /// <summary>The calendar view, with the calendar version as a strong ETag for <c>If-Match</c> on the next PUT.</summary>
    public static async Task<Results<Ok<CalendarView>, ValidationProblem, ProblemHttpResult>> Get(
        string name, int? days, HttpContext http, IGrainFactory grains, TimeProvider clock)
    {
        if (days is < 1 or > MaxDays) return Problems.Validation("days", $"must be from 1 to {MaxDays}");
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' does not exist");
        http.Response.Headers.ETag = Preconditions.ETag((await grains.Ref<IEnvironmentCalendarGrain>(name).Get()).Version);
        return TypedResults.Ok(await View(name, days ?? 14, grains, clock));
    }

    /// <summary>
    /// An executive exception: one release through one freeze, time-boxed. Only the API keys named in
    /// <c>Governance:Executives</c> may grant one; anyone else is refused (422) and nothing is stored. An executive who
    /// submitted or deployed the release is refused too (four eyes).
    /// </summary>
    public static async Task<Results<Created<FreezeExceptionRecord>, ValidationProblem, ProblemHttpResult>> GrantException(
        string name, GrantExceptionRequest request, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock, IConfiguration configuration)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Release) || request.Release.Length > 64 || !Names.IsHostId(request.Release)) errors.Add("release", "is required: the id of the release to let through");
        if (!Names.IsDnsLabel(request.Freeze)) errors.Add("freeze", "is required: the name of the freeze");
        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > 1024) errors.Add("reason", "is required (at most 1024 characters): why the release may go through the freeze");
        var now = clock.GetUtcNow();
        var from = request.From is null ? now : Instant(request.From, "from", errors);
        var until = Instant(request.Until, "until", errors);
        if (request.Until is null) errors.Add("until", "is required: when the exception ends (with an offset)");
        if (from is { } f && until is { } u && (u <= f || u - f > MaxExceptionLength || u <= now))
            errors.Add("until", "must be after from and now, and at most 14 days after from: an exception is time-boxed");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var caller = user.Caller();
        if (!Executives(configuration).Contains(caller, StringComparer.Ordinal))
        {
            return TypedResults.Problem($"only executives (configuration Governance:Executives) may grant freeze exceptions; '{caller}' is not one",
                statusCode: 422, title: "Refused by policy", type: Problems.PolicyType);
        }

        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentGrain>(name).Get() is null) return Problems.NotFound($"environment '{name}' does not exist");
        if (await grains.Ref<IReleaseGrain>(request.Release!).Get() is not { } release) return Problems.NotFound($"release '{request.Release}' does not exist");
        if (SeparationOfDuties.Refusal(release.Authors(), caller, release.Id, Authorisation.Except) is { } selfException)
            return Problems.SelfAuthorisation(selfException);

        var exception = new FreezeExceptionRecord
        {
            Release = request.Release!,
            Freeze = request.Freeze!,
            From = from!.Value,
            Until = until!.Value,
            GrantedBy = caller,
            GrantedByRole = user.CallerRoles(),
            Reason = request.Reason!,
        };
        var result = await grains.Ref<IEnvironmentCalendarGrain>(name).GrantException(exception);
        if (!result.Ok) return Problems.From(result);
        var granted = result.Value!.Exceptions.Last(e => e.Release == exception.Release && e.Freeze == exception.Freeze);
        return TypedResults.Created($"/v1/environments/{name}/calendar", granted);
    }

    /// <summary>The API key names that may grant exceptions (the silo validates the same section at start).</summary>
    public static IReadOnlyList<string> Executives(IConfiguration configuration) =>
        configuration.GetSection("Governance:Executives").Get<string[]>() ?? [];

    private static async Task<CalendarView> View(string name, int days, IGrainFactory grains, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        var governance = await grains.Ref<IEnvironmentCalendarGrain>(name).Get();
        var calendar = governance.Calendar.ToDomain();
        var verdict = CalendarRules.Evaluate(calendar, string.Empty, null, now);
        var incidents = (await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Active())
            .Where(i => i.Environment is null || i.Environment == name).ToList();

        var environment = await grains.Ref<IEnvironmentGrain>(name).Get();
        var ids = (environment?.Active ?? []).Concat(environment?.Queued ?? [])
            .Concat(await grains.Ref<IEnvironmentCalendarGrain>(name).Held()).Distinct(StringComparer.Ordinal).ToList();
        var rollouts = (await Task.WhenAll(ids.Select(id => grains.Ref<IRolloutGrain>(id).Get())))
            .OfType<RolloutSnapshot>()
            .Where(r => !r.Status.IsTerminal())
            .Select(r => new ScheduledRolloutView(r.Id, r.ReleaseId, r.Service, r.Version, r.Status.ToString(), r.StatusReason, r.HeldBy, r.QueuePosition,
                r.HeldBy ?? (r.Status == RolloutStatus.Progressing ? null : r.StatusReason)))
            .ToList();

        return new CalendarView(
            name,
            now,
            days,
            governance.Version,
            governance.Calendar.OutsideWindow,
            governance.Calendar.Entries.Where(e => e.Kind == "window").ToList(),
            governance.Calendar.Entries.Where(e => e.Kind == "freeze").ToList(),
            new CalendarStatusView(verdict.IsOpen, verdict.State.ToString(), verdict.Reason, verdict.NextOpening),
            CalendarRules.Upcoming(calendar, null, now, TimeSpan.FromDays(days))
                .Select(o => new CalendarOccurrenceView(o.Name, o.Kind == CalendarEntryKind.Window ? "window" : "freeze", o.Service, o.Start, o.End)).ToList(),
            governance.Exceptions.Where(e => e.Until > now).ToList(),
            incidents,
            rollouts);
    }

    /// <summary>An instant with an explicit offset (<c>Z</c> or <c>±hh:mm</c>): a local time without one is ambiguous.</summary>
    internal static DateTimeOffset? Instant(string? text, string field, ValidationErrors errors)
    {
        if (text is null) return null;
        var hasOffset = text.Length > 10 && (text.EndsWith('Z') || text.EndsWith('z') || text[^6] is '+' or '-');
        if (hasOffset && text.Length <= 40 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)) return at;
        errors.Add(field, "must be an ISO 8601 instant with an offset, e.g. \"2026-11-26T00:00:00Z\" or \"2026-11-26T09:00:00+01:00\"");
        return null;
    }
}
