using System.Diagnostics;

namespace Deploy.Engine.Bench;

/// <summary>Median and spread of repeated samples of one figure.</summary>
public sealed record Stat(string Unit, IReadOnlyList<double> Samples)
{
    /// <summary>Unrecorded runs before the samples (at least the asked number, more until the JIT settled); null where not counted.</summary>
    public int? WarmupRuns { get; init; }

    public double Median => Percentile(Samples, 50);

    public double Min => Samples.Min();

    public double Max => Samples.Max();

    /// <summary>(max − min) / median, as a share: how noisy the repetitions were.</summary>
    public double Spread => Median == 0 ? 0 : (Max - Min) / Median;

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

public static class Measure
{
    /// <summary>A warm-up run that compiles fewer methods than this, twice in a row, finds the JIT settled.</summary>
    public const int SettledMethods = 50;

    /// <summary>
    /// Runs <paramref name="sample"/> unrecorded until the JIT has settled (see <see cref="WarmUp"/>), at least
    /// <paramref name="warmup"/> times, then <paramref name="repetitions"/> times recorded. Without
    /// <paramref name="settle"/> (raw Azure SDK writes and the multi-process figures, where this process's JIT is not what
    /// is measured) exactly <paramref name="warmup"/> warm-up runs.
    /// </summary>
    public static async Task<Stat> Repeat(string unit, int warmup, int repetitions, Func<int, Task<double>> sample, bool settle = true)
    {
        var warmed = await WarmUp(warmup, i => sample(-1 - i), maximum: settle ? 80 : warmup);
        var samples = new List<double>(repetitions);
        for (var i = 0; i < repetitions; i++)
        {
            samples.Add(await sample(i));
        }

        return new Stat(unit, samples) { WarmupRuns = warmed };
    }

    /// <summary>
    /// Two figures measured in turn: each warms up as <see cref="Repeat"/> would, then every repetition takes one sample
    /// of <paramref name="a"/> and one of <paramref name="b"/>, so both see the same machine. Measured one after the other,
    /// a floor that ran after the engine's runs moved between 107,000 and 200,000 grains/s from one run to the next on
    /// this 2-core machine, and the ratio with it. Returns both figures and each repetition's ratio a ÷ b.
    /// </summary>
    public static async Task<(Stat A, Stat B, Stat Ratios)> Interleaved(
        string unitA, string unitB, int warmup, int repetitions, Func<int, Task<double>> a, Func<int, Task<double>> b)
    {
        var warmedA = await WarmUp(warmup, i => a(-1 - i));
        var warmedB = await WarmUp(warmup, i => b(-1 - i));
        var (samplesA, samplesB) = (new List<double>(repetitions), new List<double>(repetitions));
        for (var i = 0; i < repetitions; i++)
        {
            Settle();
            samplesA.Add(await a(i));
            Settle();
            samplesB.Add(await b(i));
        }

        return (new Stat(unitA, samplesA) { WarmupRuns = warmedA }, new Stat(unitB, samplesB) { WarmupRuns = warmedB },
            new Stat("×", samplesA.Zip(samplesB, (x, y) => x / y).ToList()));
    }

    /// <summary>
    /// Runs <paramref name="run"/> at least <paramref name="minimum"/> times (none when it is 0: the large scenarios
    /// that cannot afford it), then on until two runs in a row compile fewer than <see cref="SettledMethods"/> methods, or
    /// <paramref name="maximum"/> runs, or two minutes. Tiered compilation recompiles a method at full optimisation only
    /// after it has run a number of times, so code a rollout runs a few times per rollout reaches it only after dozens of
    /// rollouts: with two warm-up runs a 10,000-host rolling rollout still compiled 200–1,600 methods per measured run and
    /// ran at half its settled rate (about 20,000 against 44,000 host updates/s), while the baselines' few methods had
    /// long settled. A long-running engine is the settled one. Returns the number of runs.
    /// </summary>
    public static async Task<int> WarmUp(int minimum, Func<int, Task> run, int maximum = 80)
    {
        var budget = Stopwatch.StartNew();
        var quiet = 0;
        var runs = 0;
        while (runs < minimum || (minimum > 0 && quiet < 2 && runs < maximum && budget.Elapsed < TimeSpan.FromMinutes(2)))
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            await run(runs++);
            quiet = System.Runtime.JitInfo.GetCompiledMethodCount() - before < SettledMethods ? quiet + 1 : 0;
        }

        return runs;
    }

    /// <summary>Operations per second of <paramref name="count"/> operations, <paramref name="concurrency"/> at a time.</summary>
    public static async Task<double> Throughput(int count, int concurrency, Func<int, Task> operation)
    {
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await operation(i);
            }
        }));
        return count / stopwatch.Elapsed.TotalSeconds;
    }

    public static async Task<double> Seconds(Func<Task> action)
    {
        var stopwatch = Stopwatch.StartNew();
        await action();
        return stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Collects what the last sample left: without it each side of an interleaved pair paid for the other's garbage (a
    /// 10,000-host rollback leaves about 130 MB, and the fan-out after it ran at 0.145 s instead of 0.058 s).
    /// </summary>
    private static void Settle()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Managed heap after a full, compacting collection.</summary>
    public static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
