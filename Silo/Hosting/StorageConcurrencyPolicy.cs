using Azure.Core;
using Azure.Core.Pipeline;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// At most <c>limit</c> requests of one storage client in flight at once; the others wait in this process for a free
/// slot (<see cref="StorageTimeouts.MaxConcurrentRequests"/>). Placed per try, so a request waiting out a retry delay
/// holds no slot, and each try's network timeout starts when it is sent, not while it queues.
/// </summary>
public sealed class StorageConcurrencyPolicy(int limit) : HttpPipelinePolicy, IDisposable
{
    private readonly SemaphoreSlim _slots = new(limit, limit);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        _slots.Wait(message.CancellationToken);
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            _slots.Release();
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await _slots.WaitAsync(message.CancellationToken).ConfigureAwait(false);
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
