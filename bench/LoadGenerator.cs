using System.Diagnostics;
using System.Net.Http.Headers;

namespace Deploy.Engine.Bench;

/// <summary>
/// An in-process closed-loop HTTP load generator: <c>concurrency</c> workers each send GETs back to back for a
/// fixed time over pooled keep-alive connections. The same generator drives the baseline and the engine.
/// </summary>
public static class LoadGenerator
{
    public sealed record Result(double RequestsPerSecond, double P50Ms, double P99Ms, int Errors);

    public static async Task<Result> Run(string url, string? bearer, int concurrency, TimeSpan duration)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler);
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        var latencies = new List<double>[concurrency];
        var errors = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = latencies[w] = new List<double>(4096);
            while (stopwatch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead);
                _ = await response.Content.ReadAsByteArrayAsync();
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
            }
        }));
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToList();
        return new Result(all.Count / elapsed, Stat.Percentile(all, 50), Stat.Percentile(all, 99), errors);
    }
}
