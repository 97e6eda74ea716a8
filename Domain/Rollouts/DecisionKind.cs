namespace Deploy.Engine.Domain.Rollouts;

/// <summary>
/// The closed set of decisions a rollout records. On the wire (the decision log of a rollout snapshot) each is its
/// kebab-case name from <see cref="DecisionKinds.Name"/>, which API clients already read; in code it is this enum.
/// </summary>
public enum DecisionKind
{
    Created,
    Supersedes,
    Queued,
    Held,
    AwaitingApproval,
    GatesPassed,
    Admitted,
    StepStarted,
    Switched,
    AnalysisPassed,
    Deadline,
    Paused,
    Resumed,
    Promoted,

    /// <summary>The rollout waits at a pause step for an operator to promote (it shows Paused until then).</summary>
    AwaitingPromote,
    Rollback,
    Abort,
    Superseded,
    RollbackRetry,
    SwitchedBack,

    /// <summary>A rollback whose hosts did not all acknowledge by its deadline: the silent ones are quarantined.</summary>
    Escalated,
    Succeeded,
    RolledBack,
    Aborted,
    PlanInfeasible,
}

public static class DecisionKinds
{
    /// <summary>The decision's name on the wire: <c>StepStarted</c> → <c>step-started</c>.</summary>
    public static string Name(this DecisionKind kind) => kind switch
    {
        DecisionKind.Created => "created",
        DecisionKind.Supersedes => "supersedes",
        DecisionKind.Queued => "queued",
        DecisionKind.Held => "held",
        DecisionKind.AwaitingApproval => "awaiting-approval",
        DecisionKind.GatesPassed => "gates-passed",
        DecisionKind.Admitted => "admitted",
        DecisionKind.StepStarted => "step-started",
        DecisionKind.Switched => "switched",
        DecisionKind.AnalysisPassed => "analysis-passed",
        DecisionKind.Deadline => "deadline",
        DecisionKind.Paused => "paused",
        DecisionKind.Resumed => "resumed",
        DecisionKind.Promoted => "promoted",
        DecisionKind.AwaitingPromote => "awaiting-promote",
        DecisionKind.Rollback => "rollback",
        DecisionKind.Abort => "abort",
        DecisionKind.Superseded => "superseded",
        DecisionKind.RollbackRetry => "rollback-retry",
        DecisionKind.SwitchedBack => "switched-back",
        DecisionKind.Escalated => "escalated",
        DecisionKind.Succeeded => "succeeded",
        DecisionKind.RolledBack => "rolled-back",
        DecisionKind.Aborted => "aborted",
        DecisionKind.PlanInfeasible => "plan-infeasible",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The decision a rollback of this cause records.</summary>
    public static DecisionKind ForRollback(bool abort, bool superseded) =>
        superseded ? DecisionKind.Superseded : abort ? DecisionKind.Abort : DecisionKind.Rollback;
}
