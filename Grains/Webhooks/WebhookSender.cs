using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Deploy.Engine.Grains.Webhooks;

/// <summary>How one delivery round of one event ended.</summary>
public sealed record DeliveryResult(bool Ok, int Attempts, string? Error);

/// <summary>Sends one event to one subscription (one round); the delivery grain decides what a failure means.</summary>
public interface IWebhookSender
{
    Task<DeliveryResult> Deliver(WebhookSubscription subscription, byte[] key, EngineEvent item, CancellationToken cancellationToken);
}

/// <summary>
/// POSTs the event as a structured CloudEvent, signed after Standard Webhooks (<see cref="WebhookSignature"/>), through a
/// Polly pipeline: total timeout ⊃ retry (exponential backoff with jitter; transport errors, attempt timeouts, 408, 429,
/// 5xx) ⊃ per-attempt timeout. Every attempt is signed afresh (its own timestamp) over the same body and id. Redirects are
/// not followed, and every address a receiver's host resolves to is checked at connect time
/// (<see cref="OutboundAddressPolicy"/>), so neither a redirect nor DNS rebinding reaches a refused address.
/// </summary>
public sealed partial class HttpWebhookSender : IWebhookSender
{
    public const string HttpClientName = "Deploy.Engine.Webhooks";

    private readonly IHttpClientFactory _clients;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<HttpWebhookSender> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public HttpWebhookSender(IHttpClientFactory clients, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<HttpWebhookSender> logger)
    {
        _clients = clients;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = clock }.AddTimeout(_options.TotalTimeout);
        if (_options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>(e => e.InnerException is not AddressRefusedException)
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => OutboundHttp.IsTransient(r.StatusCode)),
            });
        }

        _pipeline = builder.AddTimeout(_options.AttemptTimeout).Build();
    }

    public async Task<DeliveryResult> Deliver(WebhookSubscription subscription, byte[] key, EngineEvent item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(item);
        using var span = Telemetry.EngineTelemetry.Start("webhook.deliver", System.Diagnostics.ActivityKind.Client,
            rollout: item.Data.GetValueOrDefault("rollout"), release: item.Data.GetValueOrDefault("release"),
            environment: WebhookFollower.EnvironmentOf(item), service: WebhookFollower.ServiceOf(item));
        span?.SetTag("deploy.webhook.subscription", subscription.Id);
        span?.SetTag("deploy.event.id", item.Id);
        span?.SetTag("deploy.event.type", item.Type);
        var call = new Call(this, subscription, key, item, CloudEventMapper.Encode(item, _options.Source));
        string? error;
        try
        {
            using var response = await _pipeline.ExecuteAsync(static (call, token) => call.Send(token), call, cancellationToken);
            error = response.IsSuccessStatusCode ? null : $"answered {(int)response.StatusCode}";
        }
        catch (TimeoutRejectedException e)
        {
            // The attempt timeout or the round's total timeout (which can end a round before its last attempt when
            // the process is starved): name the one that fired.
            error = e.Timeout >= _options.TotalTimeout
                ? $"no answer within the round's {OutboundHttp.Seconds(_options.TotalTimeout)} after {call.Attempts} attempt(s) (last attempt: {call.Last})"
                : $"no answer within {OutboundHttp.Seconds(_options.AttemptTimeout)} (last attempt: {call.Last})";
        }
        catch (HttpRequestException e) when (e.InnerException is AddressRefusedException refused)
        {
            error = "refused: the receiver's host " + refused.Message;
        }
        catch (HttpRequestException e)
        {
            error = $"unreachable ({OutboundHttp.Describe(e)})";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = "no answer in time";
        }

        span?.SetTag("deploy.webhook.attempts", call.Attempts);
        if (error is not null) span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
        Telemetry.EngineTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", error is null ? "delivered" : "failed"));
        if (error is null)
        {
            LogDelivered(_logger, subscription.Id, item.Id, item.Type, call.Attempts);
        }
        else
        {
            LogRoundFailed(_logger, subscription.Id, item.Id, call.Attempts, error);
        }

        return new DeliveryResult(error is null, Math.Max(call.Attempts, 1), error);
    }

    /// <summary>The primary handler of the webhook client: no redirects, no decompression, the address policy at connect time.</summary>
    public static SocketsHttpHandler Handler(WebhookOptions options) => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken);
            string? refusal = "resolves to no address";
            Exception? last = null;
            foreach (var address in addresses)
            {
                refusal = OutboundAddressPolicy.Refusal(address, options.AllowLoopback, options.AllowPrivateNetworks);
                if (refusal is not null) continue;
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    socket.Dispose();
                    last = e;
                }
            }

            if (last is not null) throw last;
            throw new AddressRefusedException(refusal ?? "resolves to no address");
        },
    };

    /// <summary>A connection the outbound address policy refused; never retried.</summary>
    public sealed class AddressRefusedException(string message) : IOException(message);

    private sealed class Call(HttpWebhookSender sender, WebhookSubscription subscription, byte[] key, EngineEvent item, byte[] body)
    {
        public int Attempts { get; private set; }

        public string Last { get; private set; } = "none made";

        public async ValueTask<HttpResponseMessage> Send(CancellationToken cancellationToken)
        {
            Attempts++;
            var timestamp = sender._clock.GetUtcNow().ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Url)
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = MediaTypeHeaderValue.Parse(CloudEventMapper.ContentType) } },
            };
            request.Headers.TryAddWithoutValidation(WebhookHeaders.Id, item.Id);
            request.Headers.TryAddWithoutValidation(WebhookHeaders.Timestamp, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSignature.Sign(key, item.Id, timestamp, body));
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("deploy-engine-webhooks", "1"));
            try
            {
                var response = await sender._clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                Last = $"answered {(int)response.StatusCode}";
                return response;
            }
            catch (HttpRequestException)
            {
                Last = "unreachable";
                throw;
            }
            catch (OperationCanceledException)
            {
                Last = "no answer in time";
                throw;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook {Subscription} received event {EventId} ({Type}) after {Attempts} attempt(s)")]
    private static partial void LogDelivered(ILogger logger, string subscription, string eventId, string type, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Subscription}: delivery round of event {EventId} failed after {Attempts} attempt(s): {Error}")]
    private static partial void LogRoundFailed(ILogger logger, string subscription, string eventId, int attempts, string error);
}

/// <summary>The headers of a delivery (Standard Webhooks names).</summary>
public static class WebhookHeaders
{
    /// <summary>The event id: the same on every retry, so a receiver drops a duplicate by it.</summary>
    public const string Id = "webhook-id";

    /// <summary>Unix seconds of this attempt; signed, so it cannot be changed for a replay.</summary>
    public const string Timestamp = "webhook-timestamp";

    /// <summary><c>v1,{base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")}</c>.</summary>
    public const string Signature = "webhook-signature";
}
