using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// An independent check of blast-radius budgets, from the rollouts' own event histories (not the budget grain): the
/// hosts a batch-started event names count as changing until that rollout's next batch starts, it pauses at a step
/// boundary (every host of the step has reported by then), or it finishes. At equal timestamps an end counts before a
/// start.
/// </summary>
public static class BlastRadiusChecker
{
    public static (int Max, DateTimeOffset At) MaxHostsChanging(IEnumerable<IReadOnlyList<EngineEvent>> histories)
    {
        var marks = new List<(DateTimeOffset At, int Delta)>();
        foreach (var history in histories)
        {
            var current = 0;
            foreach (var e in history.OrderBy(e => e.Sequence))
            {
                if (e.Type is EventTypes.RolloutBatchStarted or EventTypes.RolloutPaused or EventTypes.PipelineRunFinished && current > 0)
                {
                    marks.Add((e.Timestamp, -current));
                    current = 0;
                }

                if (e.Type == EventTypes.RolloutBatchStarted)
                {
                    current = e.Data["hosts"].Split(',').Length;
                    marks.Add((e.Timestamp, +current));
                }
            }
        }

        int changing = 0, max = 0;
        var at = DateTimeOffset.MinValue;
        foreach (var (when, delta) in marks.OrderBy(m => m.At).ThenBy(m => m.Delta))
        {
            changing += delta;
            if (changing > max)
            {
                max = changing;
                at = when;
            }
        }

        return (max, at);
    }
}
