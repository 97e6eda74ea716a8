namespace Deploy.Engine.Bench;

/// <summary>The baseline grain: a call that does nothing, and a fan-out that calls N of them.</summary>
[Alias("Deploy.Engine.Bench.INoOpGrain")]
public interface INoOpGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();

    /// <summary>Calls <paramref name="count"/> other no-op grains at once, as a rollback fans out to hosts.</summary>
    [Alias("FanOut")]
    Task FanOut(string prefix, int count);
}

public sealed class NoOpGrain : Grain, INoOpGrain
{
    public Task Ping() => Task.CompletedTask;

    public Task FanOut(string prefix, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.GetGrain<INoOpGrain>(prefix + i).Ping()));
}
