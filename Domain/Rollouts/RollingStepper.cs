namespace Deploy.Engine.Domain.Rollouts;

/// <summary>What the stepper sees of a rolling rollout at one instant.</summary>
/// <param name="Status">Progressing or Paused (other states are not stepped).</param>
/// <param name="Batches">Host count per batch, from the plan.</param>
/// <param name="CurrentBatch">Index of the batch in flight; -1 before the first.</param>
/// <param name="Pending">Hosts of the current batch that have not reported.</param>
/// <param name="TotalFailed">Failed hosts over the whole rollout so far.</param>
/// <param name="AllowedFailures">The failure budget: this many failures are tolerated.</param>
/// <param name="BatchDeadline">When the current batch must have reported; null before the first batch.</param>
/// <param name="Now">The current time, passed in.</param>
public sealed record RollingProgress(
    RolloutStatus Status,
    IReadOnlyList<int> Batches,
    int CurrentBatch,
    int Pending,
    int TotalFailed,
    int AllowedFailures,
    DateTimeOffset? BatchDeadline,
    DateTimeOffset Now);

public enum StepAction
{
    /// <summary>Nothing to do until a host reports or the deadline passes.</summary>
    Wait,

    /// <summary>Send the next batch its command.</summary>
    StartBatch,

    /// <summary>Hosts still pending past the deadline count as failed.</summary>
    ExpirePending,

    /// <summary>The failure budget is exceeded: roll every updated host back.</summary>
    RollBack,

    /// <summary>Every batch reported within budget.</summary>
    Complete,
}

public sealed record StepDecision(StepAction Action, int Batch, string Reason);

/// <summary>
/// The rolling reconcile loop as a pure function, read top to bottom like a checklist; each early return
/// says why the rollout cannot go further yet.
/// </summary>
public static class RollingStepper
{
    public static StepDecision Next(RollingProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);

        // The budget is checked first and also while paused: a pause must not hide a failing fleet.
        if (p.TotalFailed > p.AllowedFailures)
        {
            return new StepDecision(StepAction.RollBack, p.CurrentBatch,
                $"{p.TotalFailed} hosts failed, more than the failure budget of {p.AllowedFailures}");
        }

        if (p.CurrentBatch >= 0 && p.Pending > 0)
        {
            // Hosts of this batch are still working; they get until the deadline, then count as failed.
            if (p.BatchDeadline is { } deadline && p.Now >= deadline)
            {
                return new StepDecision(StepAction.ExpirePending, p.CurrentBatch,
                    $"{p.Pending} hosts of batch {p.CurrentBatch + 1} did not report by the progress deadline {deadline:O}");
            }

            return new StepDecision(StepAction.Wait, p.CurrentBatch,
                $"waiting for {p.Pending} hosts of batch {p.CurrentBatch + 1} of {p.Batches.Count}");
        }

        if (p.CurrentBatch + 1 >= p.Batches.Count)
        {
            return new StepDecision(StepAction.Complete, p.CurrentBatch,
                $"all {p.Batches.Count} batches done with {p.TotalFailed} failed hosts (budget {p.AllowedFailures})");
        }

        // A paused rollout finishes the batch in flight but starts no new one.
        if (p.Status == RolloutStatus.Paused)
        {
            return new StepDecision(StepAction.Wait, p.CurrentBatch, "paused by an operator");
        }

        var next = p.CurrentBatch + 1;
        return new StepDecision(StepAction.StartBatch, next,
            $"starting batch {next + 1} of {p.Batches.Count} ({p.Batches[next]} hosts)");
    }
}
