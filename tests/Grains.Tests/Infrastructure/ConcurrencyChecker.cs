using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// An independent check of the environment's concurrency limit, from the rollouts' own event histories:
/// a rollout runs from its pipelinerun.started event (published after admission, before any host command) to
/// its pipelinerun.finished event (published before its slot is given back). At equal timestamps a finish is
/// counted before a start, since a slot is given back before the next rollout can be admitted to it.
/// </summary>
public static class ConcurrencyChecker
{
    public static int MaxOverlap(IEnumerable<IReadOnlyList<EngineEvent>> histories)
    {
        var marks = new List<(DateTimeOffset At, int Delta)>();
        foreach (var history in histories)
        {
            var started = history.Single(e => e.Type == EventTypes.PipelineRunStarted).Timestamp;
            var finished = history.Single(e => e.Type == EventTypes.PipelineRunFinished).Timestamp;
            marks.Add((started, +1));
            marks.Add((finished, -1));
        }

        int running = 0, max = 0;
        foreach (var (_, delta) in marks.OrderBy(m => m.At).ThenBy(m => m.Delta))
        {
            running += delta;
            max = Math.Max(max, running);
        }

        return max;
    }
}
