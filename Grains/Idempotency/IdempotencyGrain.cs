using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Idempotency;

[GenerateSerializer]
[Alias("IdempotencyState")]
public sealed class IdempotencyState
{
    [Id(0)] public string? RequestHash { get; set; }

    [Id(1)] public IdempotentResponse? Response { get; set; }

    [Id(2)] public DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>
/// One Idempotency-Key. The claim is persisted before the request runs, so two concurrent retries cannot both
/// create; a claim older than <see cref="ClaimTimeout"/> without a response (the caller died) can be taken again.
/// </summary>
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", Stores.Table)] IPersistentState<IdempotencyState> state,
    TimeProvider clock) : Grain, IIdempotencyGrain
{
    private static readonly TimeSpan ClaimTimeout = TimeSpan.FromMinutes(2);

    public async Task<IdempotencyClaim> Claim(string requestHash)
    {
        var s = state.State;
        if (s.RequestHash is not null)
        {
            if (!string.Equals(s.RequestHash, requestHash, StringComparison.Ordinal))
            {
                return new IdempotencyClaim { Phase = IdempotencyPhase.Mismatch };
            }

            if (s.Response is not null)
            {
                return new IdempotencyClaim { Phase = IdempotencyPhase.Completed, Response = s.Response };
            }

            if (clock.GetUtcNow() - s.ClaimedAt < ClaimTimeout)
            {
                return new IdempotencyClaim { Phase = IdempotencyPhase.InProgress };
            }
        }

        s.RequestHash = requestHash;
        s.Response = null;
        s.ClaimedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        return new IdempotencyClaim { Phase = IdempotencyPhase.Started };
    }

    public async Task Complete(IdempotentResponse response)
    {
        state.State.RequestHash = response.RequestHash;
        state.State.Response = response;
        await state.WriteStateAsync();
    }

    public async Task Abandon(string requestHash)
    {
        if (state.State.Response is null && string.Equals(state.State.RequestHash, requestHash, StringComparison.Ordinal))
        {
            await state.ClearStateAsync();
        }
    }
}
