namespace Deploy.Engine.Agent.Tests.Support;

/// <summary>Waits on a condition with a deadline (no fixed sleeps).</summary>
public static class Wait
{
    public static async Task Until(Func<bool> condition, TimeSpan timeout, string? what = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + (what ?? "a condition"));
            await Task.Delay(50);
        }
    }

    public static async Task<T> For<T>(Func<T?> value, TimeSpan timeout, string what) where T : class
    {
        T? result = null;
        await Until(() => (result = value()) is not null, timeout, what);
        return result!;
    }
}
