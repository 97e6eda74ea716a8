using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Deploy.Engine.Cli;

/// <summary>
/// <c>deployctl webhooks listen</c>: a local webhook receiver for trying the engine's events out (docs/webhooks.md). It
/// listens on 127.0.0.1 only, answers 204 to every POST, and prints one line per delivery: when, the CloudEvent type,
/// its subject, the engine's reason, and whether the Standard Webhooks signature verified with the secret. With
/// <c>--subscribe</c> it makes the subscription itself (the engine must allow loopback receivers:
/// <c>Webhooks__AllowLoopback=true</c>) and deletes it when stopped.
/// </summary>
public static class WebhookListener
{
    /// <summary>Five minutes, as Standard Webhooks recommends: an older timestamp is a replay.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    public static async Task<int> Run(EngineClient? engine, Output output, int port, string? secret, IReadOnlyList<string> environments,
        IReadOnlyList<string> types, CancellationToken cancellation)
    {
        var url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/events";
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        listener.Start();
        string? subscription = null;
        try
        {
            if (engine is not null)
            {
                var body = new JsonObject { ["url"] = url, ["description"] = "deployctl webhooks listen" };
                if (environments.Count > 0) body["environments"] = new JsonArray(environments.Select(e => (JsonNode)e!).ToArray());
                if (types.Count > 0) body["types"] = new JsonArray(types.Select(t => (JsonNode)t!).ToArray());
                var created = await engine.Post("/v1/webhooks", body, cancellation);
                subscription = (string?)created["id"];
                secret = (string?)created["secret"];
                output.Host.Error.WriteLine($"subscribed {subscription} → {url} (deleted when this stops)");
            }
            else
            {
                output.Host.Error.WriteLine($"listening on {url}" + (secret is null ? " (no --secret: signatures are not checked)" : string.Empty));
            }

            using var stop = cancellation.Register(() => { try { listener.Stop(); } catch (ObjectDisposedException) { } });
            var count = 0;
            while (await LoopbackListener.NextRequest(listener, cancellation) is ({ } context, { } raw))
            {
                var id = context.Request.Headers["webhook-id"] ?? string.Empty;
                var verified = secret is null ? (bool?)null : Verify(secret, id, context.Request.Headers["webhook-timestamp"], context.Request.Headers["webhook-signature"], raw, DateTimeOffset.UtcNow);
                context.Response.StatusCode = 204;
                context.Response.Close();
                count++;
                Print(output, raw, id, verified, count);
            }

            return ExitCodes.Ok;
        }
        finally
        {
            if (engine is not null && subscription is not null)
            {
                try
                {
                    await engine.Delete($"/v1/webhooks/{subscription}", CancellationToken.None);
                    output.Host.Error.WriteLine($"deleted subscription {subscription}");
                }
                catch (Exception ex) when (ex is CliProblemException or HttpRequestException)
                {
                    output.Host.Error.WriteLine($"could not delete subscription {subscription}: {ex.Message}");
                }
            }
        }
    }

    private static void Print(Output output, byte[] raw, string id, bool? verified, int count)
    {
        JsonNode? cloudEvent;
        try
        {
            cloudEvent = JsonNode.Parse(raw);
        }
        catch (System.Text.Json.JsonException)
        {
            cloudEvent = null;
        }

        if (output.Json)
        {
            output.Line(new JsonObject { ["verified"] = verified, ["webhookId"] = id, ["event"] = cloudEvent?.DeepClone() });
            return;
        }

        var check = verified switch { true => "signed ok", false => "BAD SIGNATURE", null => "unchecked" };
        var custom = cloudEvent?["data"]?["customData"];
        var release = (string?)custom?["data"]?["release"] is { Length: > 0 } r ? $" release {r}" : string.Empty;
        output.Say($"{count,4} {(string?)cloudEvent?["time"]} {(string?)cloudEvent?["type"]} {(string?)custom?["subject"] ?? (string?)cloudEvent?["subject"]}{release} [{check}]");
        if ((string?)custom?["reason"] is { Length: > 0 } reason) output.Say($"     {(reason.Length > 200 ? reason[..200] + "…" : reason)}");
    }

    /// <summary>
    /// Standard Webhooks: <c>v1,</c> + base64(HMAC-SHA256(base64-decode(secret without <c>whsec_</c>),
    /// "{id}.{timestamp}.{body}")) among the space-separated signatures, and the timestamp within five minutes.
    /// </summary>
    public static bool Verify(string secret, string id, string? timestamp, string? signatures, byte[] body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance || signatures is null)
        {
            return false;
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret["whsec_".Length..] : secret);
        }
        catch (FormatException)
        {
            return false;
        }

        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        var expected = Encoding.ASCII.GetBytes("v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed)));
        return signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }
}

/// <summary>
/// <c>deployctl otlp listen</c>: a minimal OTLP/HTTP receiver (protobuf, <c>POST /v1/traces</c>; metrics and logs are
/// accepted and counted) for seeing the engine's traces without a collector. It prints the engine's own spans (those
/// with <c>deploy.*</c> attributes or span events) with their trace id, attributes and deployment markers; <c>--all</c>
/// prints every span. It reads the OTLP protobuf wire format by hand (field numbers of opentelemetry-proto's
/// trace.proto), so it needs no protobuf library; anything it cannot read it skips.
/// </summary>
public static class OtlpListener
{
    public static async Task<int> Run(Output output, int port, bool all, CancellationToken cancellation)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        listener.Start();
        output.Host.Error.WriteLine($"OTLP/HTTP (protobuf) receiver on http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)} (/v1/traces, /v1/metrics, /v1/logs)");
        using var stop = cancellation.Register(() => { try { listener.Stop(); } catch (ObjectDisposedException) { } });
        var spans = 0;
        var traces = new HashSet<string>(StringComparer.Ordinal);
        var metricBatches = 0;
        while (await LoopbackListener.NextRequest(listener, cancellation) is ({ } context, { } body))
        {
            var path = context.Request.Url?.AbsolutePath ?? string.Empty;
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
            if (path.EndsWith("/v1/traces", StringComparison.Ordinal))
            {
                foreach (var span in Spans(body))
                {
                    spans++;
                    traces.Add(span.TraceId);
                    if (all || span.Attributes.Keys.Any(k => k.StartsWith("deploy.", StringComparison.Ordinal)) || span.Events.Count > 0) Print(output, span);
                }
            }
            else if (path.EndsWith("/v1/metrics", StringComparison.Ordinal))
            {
                metricBatches++;
                if (!output.Json && metricBatches % 10 == 1) output.Say($"     (metrics batch {metricBatches}; {spans} spans in {traces.Count} traces so far)");
            }
        }

        output.Host.Error.WriteLine($"{spans} spans in {traces.Count} traces, {metricBatches} metric batches");
        return ExitCodes.Ok;
    }

    private static void Print(Output output, Span span)
    {
        if (output.Json)
        {
            var attributes = new JsonObject();
            foreach (var (k, v) in span.Attributes) attributes[k] = v;
            output.Line(new JsonObject
            {
                ["traceId"] = span.TraceId, ["spanId"] = span.SpanId, ["name"] = span.Name, ["service"] = span.Service,
                ["durationMs"] = span.DurationMs, ["attributes"] = attributes,
                ["events"] = new JsonArray(span.Events.Select(e => (JsonNode)e!).ToArray()),
            });
            return;
        }

        var deploy = string.Join(' ', span.Attributes.Where(a => a.Key.StartsWith("deploy.", StringComparison.Ordinal)).Select(a => $"{a.Key}={a.Value}"));
        output.Say($"trace {span.TraceId[..Math.Min(12, span.TraceId.Length)]} {span.Name} ({span.DurationMs.ToString("0.0", CultureInfo.InvariantCulture)} ms) {deploy}");
        foreach (var e in span.Events) output.Say($"     event {e}");
    }

    /// <summary>A span as this receiver reads it.</summary>
    public sealed record Span(string TraceId, string SpanId, string Name, string? Service, double DurationMs, IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<string> Events);

    /// <summary>
    /// The spans of an ExportTraceServiceRequest: resource_spans (1) → resource (1) attributes (1), scope_spans (2) →
    /// spans (2) → trace_id (1), span_id (2), name (5), start (7) and end (8) as fixed64 nanoseconds, attributes (9),
    /// events (11) → name (2).
    /// </summary>
    public static IEnumerable<Span> Spans(byte[] request)
    {
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1 || resourceSpans is not byte[] rs) continue;
            string? service = null;
            var scopes = new List<byte[]>();
            foreach (var (f, v) in Fields(rs))
            {
                if (f == 1 && v is byte[] resource)
                {
                    foreach (var (rf, kv) in Fields(resource))
                    {
                        if (rf == 1 && kv is byte[] pair && KeyValue(pair) is ("service.name", var name)) service = name;
                    }
                }
                else if (f == 2 && v is byte[] scope)
                {
                    scopes.Add(scope);
                }
            }

            foreach (var scope in scopes)
            {
                foreach (var (f, v) in Fields(scope))
                {
                    if (f == 2 && v is byte[] span) yield return ReadSpan(span, service);
                }
            }
        }
    }

    private static Span ReadSpan(byte[] span, string? service)
    {
        string traceId = string.Empty, spanId = string.Empty, name = string.Empty;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var events = new List<string>();
        foreach (var (f, v) in Fields(span))
        {
            switch (f, v)
            {
                case (1, byte[] id): traceId = Convert.ToHexStringLower(id); break;
                case (2, byte[] id): spanId = Convert.ToHexStringLower(id); break;
                case (5, byte[] text): name = Encoding.UTF8.GetString(text); break;
                case (7, ulong at): start = at; break;
                case (8, ulong at): end = at; break;
                case (9, byte[] pair) when KeyValue(pair) is var (key, value): attributes[key] = value; break;
                case (11, byte[] spanEvent): events.Add(EventText(spanEvent)); break;
            }
        }

        return new Span(traceId, spanId, name, service, end > start ? (end - start) / 1e6 : 0, attributes, events);
    }

    private static string EventText(byte[] spanEvent)
    {
        var name = string.Empty;
        var attributes = new List<string>();
        foreach (var (f, v) in Fields(spanEvent))
        {
            if (f == 2 && v is byte[] text) name = Encoding.UTF8.GetString(text);
            else if (f == 3 && v is byte[] pair && KeyValue(pair) is var (key, value)) attributes.Add($"{key}={value}");
        }

        return attributes.Count == 0 ? name : $"{name} {string.Join(' ', attributes)}";
    }

    /// <summary>A KeyValue (key 1, AnyValue 2: string 1, bool 2, int 3, double 4) as text; null when unreadable.</summary>
    private static (string Key, string Value)? KeyValue(byte[] pair)
    {
        string? key = null, value = null;
        foreach (var (f, v) in Fields(pair))
        {
            if (f == 1 && v is byte[] k) key = Encoding.UTF8.GetString(k);
            else if (f == 2 && v is byte[] any)
            {
                foreach (var (af, av) in Fields(any))
                {
                    value = (af, av) switch
                    {
                        (1, byte[] s) => Encoding.UTF8.GetString(s),
                        (2, ulong b) => b != 0 ? "true" : "false",
                        (3, ulong i) => ((long)i).ToString(CultureInfo.InvariantCulture),
                        (4, ulong d) => BitConverter.Int64BitsToDouble((long)d).ToString(CultureInfo.InvariantCulture),
                        _ => value,
                    };
                }
            }
        }

        return key is null ? null : (key, value ?? string.Empty);
    }

    /// <summary>
    /// The fields of one protobuf message: (number, value) with a varint or fixed64/fixed32 as <see cref="ulong"/> and a
    /// length-delimited field as its bytes. Stops at the first malformed field.
    /// </summary>
    public static IEnumerable<(int Field, object Value)> Fields(byte[] message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var at = 0;
        while (at < message.Length)
        {
            if (!TryVarint(message, ref at, out var tag)) yield break;
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    if (!TryVarint(message, ref at, out var varint)) yield break;
                    yield return (field, varint);
                    break;
                case 1:
                    if (at + 8 > message.Length) yield break;
                    yield return (field, BitConverter.ToUInt64(message, at));
                    at += 8;
                    break;
                case 2:
                    if (!TryVarint(message, ref at, out var length) || length > (ulong)(message.Length - at)) yield break;
                    yield return (field, message.AsSpan(at, (int)length).ToArray());
                    at += (int)length;
                    break;
                case 5:
                    if (at + 4 > message.Length) yield break;
                    yield return (field, (ulong)BitConverter.ToUInt32(message, at));
                    at += 4;
                    break;
                default:
                    yield break;
            }
        }
    }

    private static bool TryVarint(byte[] data, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < data.Length; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return true;
        }

        return false;
    }
}

/// <summary>What both local receivers share: the next request on a loopback listener, read whole.</summary>
internal static class LoopbackListener
{
    /// <summary>The next request and its body, or null once <paramref name="cancellation"/> stops the listener.</summary>
    public static async Task<(HttpListenerContext Context, byte[] Body)?> NextRequest(HttpListener listener, CancellationToken cancellation)
    {
        if (cancellation.IsCancellationRequested)
        {
            return null;
        }

        HttpListenerContext context;
        try
        {
            context = await listener.GetContextAsync();
        }
        catch (Exception) when (cancellation.IsCancellationRequested)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(buffer, cancellation);
        return (context, buffer.ToArray());
    }
}
