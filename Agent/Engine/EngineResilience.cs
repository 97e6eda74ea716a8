using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Deploy.Engine.Agent.Engine;

/// <summary>
/// The pipeline every engine call runs through: per-attempt timeout (inside), jittered exponential retries (outside)
/// and a circuit breaker between them, so a down engine is probed gently while the agent keeps its services running.
/// The attempt timeout comes from the call (a long-poll needs its wait plus a margin).
/// </summary>
public static class EngineResilience
{
    public static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("deploy-agent.attempt-timeout");

    public static readonly TimeSpan DefaultAttemptTimeout = TimeSpan.FromSeconds(30);

    public static ResiliencePipeline<HttpResponseMessage> Create(TimeProvider time, int maxRetries = 4) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(15),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                FailureRatio = 0.8,
                MinimumThroughput = 5,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(10),
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(
                    args.Context.Properties.TryGetValue(AttemptTimeout, out var t) ? t : DefaultAttemptTimeout),
            })
            .Build();

    /// <summary>Worth another attempt: no answer, a timeout, an open circuit, 408, 429 or any 5xx.</summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException or BrokenCircuitException or IOException } => true,
        { Exception: OperationCanceledException } => false,
        { Exception: not null } => false,
        { Result: { } r } => r.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)r.StatusCode >= 500,
        _ => false,
    };
}
