using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Deployment windows and freezes. At admission: in a freeze, or outside every window, the rollout waits (Queued
/// with the reason, rechecked at the next opening) — or is refused when the calendar says <c>outsideWindow: refuse</c>
/// (freezes always wait). Before each step: a freeze that started while the rollout runs pauses it at the step
/// boundary and it goes on when the freeze ends; windows do not stop a rollout that already started. An exception
/// granted by a key that submitted or deployed the release does not count (four eyes).
/// </summary>
public sealed class CalendarGate(IGrainFactory grains) : IRolloutGate
{
    public string Name => "calendar";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Admission, GatePoint.StepBoundary };

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        var governance = grains.Ref<IEnvironmentCalendarGrain>(context.Environment);
        var snapshot = await governance.Get();
        if (snapshot.Calendar.Entries.Count == 0) return GateDecision.Pass(Name);

        var calendar = snapshot.Calendar.ToDomain();
        var verdict = CalendarRules.Evaluate(calendar, context.Release.Service, context.Release.Id, context.Now,
            snapshot.Exceptions.Where(e => context.Release.Authors().RoleOf(e.GrantedBy) is null).Select(e => e.ToDomain()).ToList());
        switch (verdict.State)
        {
            case CalendarState.Open:
                return GateDecision.Pass(Name);
            case CalendarState.OutsideWindow when context.Point == GatePoint.StepBoundary:
                return GateDecision.Pass(Name);
            case CalendarState.OutsideWindow when calendar.OutsideWindow == OutsideWindowPolicy.Refuse:
                return new GateDecision(GateVerdict.Refuse, Name, verdict.Reason + $"; '{context.Environment}' refuses rollouts outside its windows: submit again inside one");
        }

        await governance.NoteHeld(context.RolloutId);
        return new GateDecision(GateVerdict.Wait, Name, verdict.Reason, verdict.NextOpening);
    }
}
