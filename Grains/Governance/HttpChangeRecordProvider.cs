using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Outbound;
using static Deploy.Engine.Grains.Outbound.OutboundHttp;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Asks an ITSM system about a change record: <c>GET {Url}/change-records/{id}</c> answering <c>{"state": "approved"}</c>
/// (or pending, rejected), through the shared Polly pipeline (total timeout ⊃ retry with jittered backoff ⊃ per-attempt
/// timeout). 404 is an unknown record; 408, 429, 5xx, transport errors and attempt timeouts are retried; anything
/// else, or an answer without a known state, is "unavailable" with the reason — never an approval.
/// </summary>
public sealed partial class HttpChangeRecordProvider
{
    public const string HttpClientName = "Deploy.Engine.ChangeRecords";

    private const int MaxBodyBytes = 64 * 1024;

    private readonly IHttpClientFactory _clients;
    private readonly ChangeRecordOptions _options;
    private readonly ILogger<HttpChangeRecordProvider> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public HttpChangeRecordProvider(IHttpClientFactory clients, IOptions<ChangeRecordOptions> options, TimeProvider clock, ILogger<HttpChangeRecordProvider> logger)
    {
        _clients = clients;
        _options = options.Value;
        _logger = logger;
        _pipeline = OutboundHttp.Pipeline<HttpResponseMessage>(_options, clock, r => IsTransient(r.StatusCode));
    }

    public async Task<ChangeRecordStatus> Get(string itsm, string id, CancellationToken cancellationToken)
    {
        using var span = Telemetry.EngineTelemetry.Start("change_record.get", System.Diagnostics.ActivityKind.Client);
        span?.SetTag("deploy.change_record.itsm", itsm);
        span?.SetTag("deploy.change_record.id", id);
        if (!_options.Itsm.TryGetValue(itsm, out var endpoint) || endpoint is null)
        {
            return Unavailable(itsm, id, $"no ITSM endpoint named '{itsm}' is configured");
        }

        var url = new Uri(endpoint.Url.TrimEnd('/') + "/change-records/" + Uri.EscapeDataString(id));
        var http = _clients.CreateClient(HttpClientName);
        var attempts = 0;
        try
        {
            using var response = await _pipeline.ExecuteAsync(async token =>
            {
                attempts++;
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (!string.IsNullOrEmpty(endpoint.Token)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
                return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            }, cancellationToken);

            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return new ChangeRecordStatus(ChangeRecordStatus.Unknown, $"change record {id} is unknown to ITSM '{itsm}'");
            }

            if (!response.IsSuccessStatusCode)
            {
                return Unavailable(itsm, id, $"ITSM '{itsm}' answered {(int)response.StatusCode} after {Attempts(attempts)}");
            }

            var facts = await ReadFacts(id, response, cancellationToken);
            return facts is null
                ? Unavailable(itsm, id, $"ITSM '{itsm}' answered without a known state (expected approved, pending or rejected)")
                : BuiltInChangeRecordProvider.Describe(id, facts.State) with
                {
                    Detail = BuiltInChangeRecordProvider.Describe(id, facts.State).Detail + $" (ITSM '{itsm}')",
                    Facts = facts,
                };
        }
        catch (TimeoutRejectedException)
        {
            return Unavailable(itsm, id, $"ITSM '{itsm}' timed out after {Attempts(attempts)} ({Seconds(_options.AttemptTimeout)} per attempt, {Seconds(_options.TotalTimeout)} in all)");
        }
        catch (HttpRequestException e)
        {
            return Unavailable(itsm, id, $"ITSM '{itsm}' could not be reached after {Attempts(attempts)} ({Describe(e)})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unavailable(itsm, id, $"ITSM '{itsm}' gave no answer after {Attempts(attempts)}");
        }
    }

    /// <summary>
    /// The record from the ITSM's answer: <c>{"state": "approved", "service": "shop", "release": "rel-…",
    /// "start": "…", "end": "…", "approvedBy": "…"}</c> (all but state optional; a record without service and end
    /// authorises nothing). Null when the body is too large, not JSON, or has no known state.
    /// </summary>
    private static async Task<ChangeRecordFacts?> ReadFacts(string id, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxBodyBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0) read += n;
            if (read > MaxBodyBytes) return null;
            try
            {
                using var json = JsonDocument.Parse(buffer.AsMemory(0, read));
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object || Text(root, "state")?.ToLowerInvariant() is not { } state || !ChangeRecordStatus.States.Contains(state))
                {
                    return null;
                }

                return new ChangeRecordFacts(id, state, Text(root, "service"), Text(root, "release"), Instant(root, "start"), Instant(root, "end"), Text(root, "approvedBy"));
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Instant(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var instant) ? instant : null;

    private ChangeRecordStatus Unavailable(string itsm, string id, string why)
    {
        LogUnavailable(_logger, itsm, id, why);
        // Called inside the change_record.get span: a record that could not be checked is a failed call.
        if (System.Diagnostics.Activity.Current is { OperationName: "change_record.get" } span) span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, why);
        return new ChangeRecordStatus(ChangeRecordStatus.Unavailable, $"change record {id} could not be checked: {why}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Change record {Id} could not be checked with ITSM {Itsm}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string itsm, string id, string reason);
}
