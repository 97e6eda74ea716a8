namespace Deploy.Engine.Agent.Metrics;

/// <summary>
/// What the agent's own probe requests saw in one window: count, errors (status ≥ 500 or no answer) and latencies.
/// p99 by nearest rank: the ⌈0.99·n⌉-th smallest latency. Example: 100 probes of 1…100 ms → 99 ms; 10 probes → the 10th.
/// </summary>
public sealed class ProbeWindow
{
    private readonly List<double> latencies = [];
    private readonly Lock gate = new();
    private int errors;

    public void Record(double latencyMs, bool error)
    {
        lock (gate)
        {
            latencies.Add(latencyMs);
            if (error) errors++;
        }
    }

    /// <summary>Takes the window's figures and starts a new window.</summary>
    public ProbeSummary Drain()
    {
        lock (gate)
        {
            var summary = Summarize(latencies, errors);
            latencies.Clear();
            errors = 0;
            return summary;
        }
    }

    public static ProbeSummary Summarize(IReadOnlyList<double> latencies, int errors)
    {
        if (latencies.Count == 0) return new ProbeSummary(0, null, null);
        var sorted = latencies.Order().ToList();
        var index = (int)Math.Ceiling(0.99 * sorted.Count) - 1;
        return new ProbeSummary(sorted.Count, errors * 100.0 / sorted.Count, sorted[Math.Clamp(index, 0, sorted.Count - 1)]);
    }
}

public sealed record ProbeSummary(int Requests, double? ErrorRatePercent, double? P99LatencyMs);
