namespace Deploy.Engine.Domain.Dora;

/// <summary>One result a pipeline recorded for a gate (a performance test, a security scan) of a release in an environment.</summary>
public sealed record GateRun(string ReleaseId, string Environment, string Gate, bool Passed, DateTimeOffset At);

/// <summary>A gate's record: runs, passes, fails, retries, flips and the flakiness they give, and its latest results.</summary>
public sealed record GateRecord(string Gate, int Runs, int Passed, int Failed, int Retries, int Flips, double? Flakiness, IReadOnlyList<GateRun> History);

/// <summary>One finished deployment's timing: when its change entered and where each stretch of its life went.</summary>
public sealed record DeploymentTiming(
    DateTimeOffset? CommitTime, DateTimeOffset ReleaseCreatedAt, DateTimeOffset RolloutCreatedAt, IReadOnlyDictionary<WaitKind, double> Waits);

/// <summary>A stage of lead time over many deployments: its total, its median per deployment, and its share of all the time.</summary>
public sealed record LeadTimeStage(string Stage, double TotalSeconds, double? MedianSeconds, double Share);

/// <summary>Gate flakiness and where lead time goes, over a set of deployments.</summary>
public static class Bottlenecks
{
    /// <summary>The stage before the release was submitted (build, review, CI): commit time → release submitted.</summary>
    public const string CommitToRelease = "commitToRelease";

    /// <summary>Release submitted → the rollout into this environment created (earlier environments, waiting to promote).</summary>
    public const string ReleaseToRollout = "releaseToRollout";

    /// <summary>
    /// A gate's flakiness: how often a retry of the same release (a result after the first for the same release,
    /// environment and gate) disagrees with the result before it — flips ÷ retries, null with no retry. Worked example
    /// (the tests reuse it): perf on r1/staging fail, pass, pass and on r2/staging pass → 4 runs, 3 passed, 1 failed,
    /// 2 retries, 1 flip → 0.5.
    /// </summary>
    public static IReadOnlyList<GateRecord> Gates(IEnumerable<GateRun> runs, int historyLimit = 20)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return runs.GroupBy(r => r.Gate, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(gate =>
        {
            var retries = 0;
            var flips = 0;
            foreach (var sequence in gate.GroupBy(r => (r.ReleaseId, r.Environment)))
            {
                var ordered = sequence.OrderBy(r => r.At).ToList();
                retries += ordered.Count - 1;
                flips += ordered.Zip(ordered.Skip(1)).Count(p => p.First.Passed != p.Second.Passed);
            }

            var all = gate.OrderByDescending(r => r.At).ToList();
            return new GateRecord(gate.Key, all.Count, all.Count(r => r.Passed), all.Count(r => !r.Passed), retries, flips,
                retries == 0 ? null : Math.Round((double)flips / retries, 4), all.Take(historyLimit).ToList());
        }).ToList();
    }

    /// <summary>
    /// Where the lead time of these deployments goes: commit → release, release → rollout, then each
    /// <see cref="WaitKind"/> of the rollout, in that order. A deployment without a commit time adds nothing to the first
    /// stage. Each stage's median is over all the deployments (zero where a deployment spent none); shares sum to 1.
    /// </summary>
    public static IReadOnlyList<LeadTimeStage> WhereLeadTimeGoes(IReadOnlyList<DeploymentTiming> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var stages = new List<(string Stage, double[] Seconds)>
        {
            (CommitToRelease, deployments.Select(d => d.CommitTime is { } c ? Math.Max(0, (d.ReleaseCreatedAt - c).TotalSeconds) : 0).ToArray()),
            (ReleaseToRollout, deployments.Select(d => Math.Max(0, (d.RolloutCreatedAt - d.ReleaseCreatedAt).TotalSeconds)).ToArray()),
        };
        stages.AddRange(Enum.GetValues<WaitKind>().Select(k => (Name(k), deployments.Select(d => d.Waits.GetValueOrDefault(k)).ToArray())));
        var total = stages.Sum(s => s.Seconds.Sum());
        return stages.Select(s => new LeadTimeStage(s.Stage, Math.Round(s.Seconds.Sum(), 3), DoraCalculator.Summarise(s.Seconds).MedianSeconds,
            total <= 0 ? 0 : Math.Round(s.Seconds.Sum() / total, 4))).ToList();
    }

    /// <summary>A wait kind's name on the wire: <c>ChangeRecords</c> → <c>changeRecords</c>.</summary>
    public static string Name(WaitKind kind)
    {
        var name = kind.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }
}
