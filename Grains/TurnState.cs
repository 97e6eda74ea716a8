using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Deploy.Engine.Grains;

/// <summary>
/// A grain's persistent state, read and written by its storage provider within the grain's own turn. Orleans'
/// <c>[PersistentState]</c> bridge (10.4) queues every operation and always yields before starting it: a write becomes
/// a work item of its own at the back of the scheduler's queue, and the turn resumes only after everything queued ahead
/// of it has run. A rollback to 10,000 hosts queues 10,000 such writes behind 10,000 revert commands; writing in the
/// turn instead took its time-to-safe from 2.6–2.8× to 1.6–1.8× of the one-write-per-grain floor on the 2-core bench
/// machine (same runs, 25 repetitions each). For a grain whose turns do not interleave (the host) nothing is lost: it
/// never has two operations to order. What the bridge adds besides — its storage metrics and trace span, and carrying
/// the state across a migration — this does not; a migrated activation reads its state back from storage.
/// </summary>
/// <remarks>Storage errors are logged and, as the bridge does, a provider's own exception comes wrapped in an
/// <see cref="OrleansException"/>; a stale ETag stays an <see cref="InconsistentStateException"/>.</remarks>
public sealed class TurnState<T>
    where T : new()
{
    private readonly string _name;
    private readonly string _provider;
    private readonly GrainId _grain;
    private readonly IGrainStorage _storage;
    private readonly ILogger _logger;
    private readonly GrainState<T> _state = new(new T());

    private TurnState(string name, string provider, GrainId grain, IGrainStorage storage, ILogger logger)
    {
        _name = name;
        _provider = provider;
        _grain = grain;
        _storage = storage;
        _logger = logger;
    }

    /// <summary>The state as last read or written; changed in place, then <see cref="WriteStateAsync"/>.</summary>
    public T State => _state.State!;

    /// <summary>The state <paramref name="name"/> of <paramref name="grain"/> in the storage provider <paramref name="provider"/>, as stored now.</summary>
    public static async Task<TurnState<T>> Load(IServiceProvider services, GrainId grain, string name, string provider, ILogger logger)
    {
        var storage = services.GetRequiredKeyedService<IGrainStorage>(provider);
        var state = new TurnState<T>(name, provider, grain, storage, logger);
        await state.ReadStateAsync();
        return state;
    }

    public async Task ReadStateAsync()
    {
        try
        {
            await _storage.ReadStateAsync(_name, _grain, _state);
        }
        catch (Exception e)
        {
            throw Failed(e, "read");
        }

        _state.State ??= new T();
    }

    public async Task WriteStateAsync()
    {
        try
        {
            await _storage.WriteStateAsync(_name, _grain, _state);
        }
        catch (Exception e)
        {
            throw Failed(e, "write");
        }
    }

    private OrleansException Failed(Exception e, string operation)
    {
        TurnStateLog.Failed(_logger, e, _provider, operation, _name, _grain);
        return e as OrleansException ?? new OrleansException($"storage {_provider} failed to {operation} state '{_name}' of {_grain}", e);
    }
}

internal static partial class TurnStateLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Storage {Provider} failed to {Operation} state {State} of {Grain}")]
    public static partial void Failed(ILogger logger, Exception exception, string provider, string operation, string state, GrainId grain);
}
