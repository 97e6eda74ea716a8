using Deploy.Engine.Grains.Interfaces;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Configuration;

[GenerateSerializer]
[Alias("ReleaseConfigState")]
public sealed class ReleaseConfigState
{
    [Id(0)] public Dictionary<string, string>? Templates { get; set; }

    [Id(1)] public string? SetBy { get; set; }

    [Id(2)] public DateTimeOffset SetAt { get; set; }
}

/// <summary>The configuration templates of one release; set once, like the release itself.</summary>
public sealed class ReleaseConfigGrain(
    [PersistentState("release-config", Stores.Table)] IPersistentState<ReleaseConfigState> state,
    TimeProvider clock) : Grain, IReleaseConfigGrain
{
    public async Task<CommandResult<ReleaseConfig>> Set(ReleaseConfig config)
    {
        if (state.State.Templates is { } existing)
        {
            var same = existing.Count == config.Templates.Count
                && config.Templates.All(t => existing.TryGetValue(t.Key, out var v) && string.Equals(v, t.Value, StringComparison.Ordinal));
            return same
                ? CommandResult<ReleaseConfig>.Success(Snapshot())
                : CommandResult<ReleaseConfig>.Fail(ErrorKind.Conflict, $"release '{this.GetPrimaryKeyString()}' already carries other configuration templates; a release is immutable: create a new release");
        }

        state.State.Templates = new Dictionary<string, string>(config.Templates, StringComparer.Ordinal);
        state.State.SetBy = config.SetBy;
        state.State.SetAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        return CommandResult<ReleaseConfig>.Success(Snapshot());
    }

    [ReadOnly]
    public Task<ReleaseConfig?> Get() => Task.FromResult(state.State.Templates is null ? null : Snapshot());

    private ReleaseConfig Snapshot() => new()
    {
        Templates = new Dictionary<string, string>(state.State.Templates!, StringComparer.Ordinal),
        SetBy = state.State.SetBy,
        SetAt = state.State.SetAt,
    };
}
