using System.Diagnostics;

namespace Deploy.Engine.Bench;

/// <summary>Median and spread of repeated samples of one figure.</summary>
public sealed record Stat(string Unit, IReadOnlyList<double> Samples)
{
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
    /// <summary>Runs <paramref name="sample"/> <paramref name="warmup"/> times unrecorded, then <paramref name="repetitions"/> times.</summary>
    public static async Task<Stat> Repeat(string unit, int warmup, int repetitions, Func<int, Task<double>> sample)
    {
        for (var i = 0; i < warmup; i++)
        {
            await sample(-1 - i);
        }

        var samples = new List<double>(repetitions);
        for (var i = 0; i < repetitions; i++)
        {
            samples.Add(await sample(i));
        }

        return new Stat(unit, samples);
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

    /// <summary>Managed heap after a full, compacting collection.</summary>
    public static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
