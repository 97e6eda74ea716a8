using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Governance;

[GenerateSerializer]
[Alias("EnvironmentCalendarState")]
public sealed class EnvironmentCalendarState
{
    [Id(0)] public List<CalendarEntrySpec> Entries { get; set; } = [];

    [Id(1)] public string OutsideWindow { get; set; } = "wait";

    [Id(2)] public long Version { get; set; }

    [Id(3)] public List<FreezeExceptionRecord> Exceptions { get; set; } = [];
}

/// <summary>
/// One environment's deployment calendar and the exceptions granted against it. The gates read it at every
/// reconcile of every waiting rollout, so <see cref="Get"/> is a read-only in-memory answer.
/// </summary>
public sealed class EnvironmentCalendarGrain(
    [PersistentState("governance", Stores.Blob)] IPersistentState<EnvironmentCalendarState> state,
    TimeProvider clock) : Grain, IEnvironmentCalendarGrain
{
    /// <summary>Exceptions that ended longer ago than this are dropped at the next write.</summary>
    private static readonly TimeSpan KeepEndedExceptions = TimeSpan.FromDays(30);

    private static readonly TimeSpan HeldMemory = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, DateTimeOffset> _held = new(StringComparer.Ordinal);

    private EnvironmentCalendarState S => state.State;

    private string Environment => this.GetPrimaryKeyString();

    [ReadOnly]
    public Task<CalendarSnapshot> Get() => Task.FromResult(Snapshot());

    public async Task<CalendarSnapshot> SetCalendar(CalendarSpec calendar, GovernanceActor actor)
    {
        S.Entries = calendar.Entries.ToList();
        S.OutsideWindow = calendar.OutsideWindow;
        S.Version++;
        Prune();
        await state.WriteStateAsync();
        var windows = S.Entries.Count(e => e.Kind == "window");
        await Publish(EventTypes.CalendarChanged, actor.Reason ?? $"calendar set: {windows} window(s), {S.Entries.Count - windows} freeze(s), outside windows: {S.OutsideWindow}", actor,
            new Dictionary<string, string> { ["version"] = S.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return Snapshot();
    }

    public async Task<CommandResult<CalendarSnapshot>> Replace(CalendarSpec calendar, GovernanceActor actor, EnvironmentPrecondition precondition) =>
        precondition.Refusal($"the calendar of '{Environment}'", S.Version > 0, S.Version) is { } refusal
            ? CommandResult<CalendarSnapshot>.Fail(ErrorKind.PreconditionFailed, refusal)
            : CommandResult<CalendarSnapshot>.Success(await SetCalendar(calendar, actor));

    public async Task<CommandResult<CalendarSnapshot>> GrantException(FreezeExceptionRecord exception)
    {
        if (!S.Entries.Any(e => e.Kind == "freeze" && string.Equals(e.Name, exception.Freeze, StringComparison.Ordinal)))
        {
            return CommandResult<CalendarSnapshot>.Fail(ErrorKind.NotFound,
                $"environment '{Environment}' declares no freeze named '{exception.Freeze}' (GET /v1/environments/{Environment}/calendar lists them)");
        }

        S.Exceptions.Add(exception with { GrantedAt = clock.GetUtcNow() });
        Prune();
        await state.WriteStateAsync();
        await Publish(EventTypes.FreezeExceptionGranted,
            $"release '{exception.Release}' may deploy through freeze '{exception.Freeze}' from {exception.From:O} until {exception.Until:O}: {exception.Reason}",
            new GovernanceActor { Name = exception.GrantedBy, Role = exception.GrantedByRole },
            new Dictionary<string, string>
            {
                ["release"] = exception.Release,
                ["freeze"] = exception.Freeze,
                ["from"] = exception.From.ToString("O"),
                ["until"] = exception.Until.ToString("O"),
            });
        return CommandResult<CalendarSnapshot>.Success(Snapshot());
    }

    public Task NoteHeld(string rolloutId)
    {
        _held[rolloutId] = clock.GetUtcNow();
        return Task.CompletedTask;
    }

    [ReadOnly]
    public Task<IReadOnlyList<string>> Held()
    {
        var since = clock.GetUtcNow() - HeldMemory;
        return Task.FromResult<IReadOnlyList<string>>(_held.Where(h => h.Value >= since).Select(h => h.Key).Order(StringComparer.Ordinal).ToList());
    }

    private void Prune()
    {
        var cutoff = clock.GetUtcNow() - KeepEndedExceptions;
        S.Exceptions.RemoveAll(e => e.Until < cutoff);
    }

    private CalendarSnapshot Snapshot() => new()
    {
        Environment = Environment,
        Calendar = new CalendarSpec { Entries = S.Entries.ToList(), OutsideWindow = S.OutsideWindow },
        Version = S.Version,
        Exceptions = S.Exceptions.ToList(),
    };

    private Task Publish(string type, string reason, GovernanceActor actor, Dictionary<string, string> data)
    {
        data[AuditFields.Actor] = actor.Name;
        data[AuditFields.Role] = actor.Role ?? "unknown";
        data["environment"] = Environment;
        return new EventPublisher(this.GetStreamProvider(Stores.Events), GrainKeys.GovernanceEvents(Environment), clock)
            .Publish(type, "environment/" + Environment, reason, data);
    }
}
