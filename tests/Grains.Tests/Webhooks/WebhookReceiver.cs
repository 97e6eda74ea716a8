using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deploy.Engine.Grains.Tests.Webhooks;

/// <summary>One request a receiver got, with what it answered (null while it hangs or when the caller gave up).</summary>
public sealed record ReceivedCall(int Number, string Id, string Timestamp, string Signature, string ContentType, byte[] Body, DateTimeOffset At)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    public bool Verifies(string secret) =>
        WebhookSignature.Verify(WebhookSignature.Key(secret)!, Id, Timestamp, Signature, Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
}

/// <summary>
/// A real webhook receiver: Kestrel on 127.0.0.1 (OS-chosen port), one route per name. Each name answers 200 until
/// told otherwise (<see cref="Behave"/>): a status per call, or a hang until the caller gives up.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>The cluster's "Webhooks" section: loopback allowed (tests only), short timeouts and backoffs.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Webhooks:AllowLoopback"] = "true",
        ["Webhooks:AttemptTimeout"] = "00:00:00.300",
        ["Webhooks:TotalTimeout"] = "00:00:05", // well above 2 × 0.3 s, so a starved machine never cuts a round short
        ["Webhooks:MaxAttempts"] = "2",
        ["Webhooks:RetryBaseDelay"] = "00:00:00.020",
        ["Webhooks:RoundBaseDelay"] = "00:00:00.050",
        ["Webhooks:MaxRoundDelay"] = "00:00:00.200",
        ["Webhooks:MaxRounds"] = "3",
    };

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, CancellationToken, Task<int>>> _behaviours = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<ReceivedCall>> _calls = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver(LoopbackApp.Create());
        receiver._app.MapPost("/hooks/{name}", receiver.Handle);
        receiver.BaseAddress = await LoopbackApp.StartAsync(receiver._app);
        using (var http = new HttpClient())
        {
            // JIT Kestrel and the route before a test's 300 ms attempt timeout is at stake.
            using var warm = await http.PostAsync(receiver.UrlFor("warm-up"), new StringContent("{}"));
        }

        return receiver;
    }

    public string UrlFor(string name) => new Uri(BaseAddress, $"hooks/{name}").ToString();

    public void Behave(string name, Func<int, CancellationToken, Task<int>> behaviour) => _behaviours[name] = behaviour;

    /// <summary>Answers the given statuses in order, the last one repeating.</summary>
    public void Answer(string name, params int[] statuses) =>
        Behave(name, (n, _) => Task.FromResult(statuses[Math.Min(n, statuses.Length) - 1]));

    /// <summary>Never answers: each request waits until the caller gives up.</summary>
    public void Hang(string name) => Behave(name, async (_, aborted) =>
    {
        await Task.Delay(Timeout.Infinite, aborted);
        return 200;
    });

    public IReadOnlyList<ReceivedCall> Calls(string name)
    {
        var calls = _calls.GetOrAdd(name, _ => []);
        lock (calls)
        {
            return calls.ToArray();
        }
    }

    /// <summary>Calls that were answered 2xx, in the order they were answered.</summary>
    public IReadOnlyList<ReceivedCall> Accepted(string name)
    {
        var accepted = _accepted.GetOrAdd(name, _ => []);
        lock (accepted)
        {
            return accepted.ToArray();
        }
    }

    private readonly ConcurrentDictionary<string, List<ReceivedCall>> _accepted = new(StringComparer.Ordinal);

    public async Task<IReadOnlyList<ReceivedCall>> WaitForAccepted(string name, Func<IReadOnlyList<ReceivedCall>, bool> until, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var accepted = Accepted(name);
            if (until(accepted)) return accepted;
            await Task.Delay(25);
        }

        Assert.Fail($"receiver {name}: {Accepted(name).Count} accepted of {Calls(name).Count} calls: {string.Join(", ", Accepted(name).Select(c => c.Id))}");
        return [];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> Handle(string name, HttpRequest request, CancellationToken aborted)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, aborted);
        var calls = _calls.GetOrAdd(name, _ => []);
        ReceivedCall call;
        lock (calls)
        {
            call = new ReceivedCall(calls.Count + 1, request.Headers["webhook-id"].ToString(), request.Headers["webhook-timestamp"].ToString(),
                request.Headers["webhook-signature"].ToString(), request.ContentType ?? string.Empty, buffer.ToArray(), DateTimeOffset.UtcNow);
            calls.Add(call);
        }

        var status = _behaviours.TryGetValue(name, out var behave) ? await behave(call.Number, aborted) : StatusCodes.Status200OK;
        if (status is >= 200 and < 300 && !aborted.IsCancellationRequested)
        {
            var accepted = _accepted.GetOrAdd(name, _ => []);
            lock (accepted)
            {
                accepted.Add(call);
            }
        }

        return Results.StatusCode(status);
    }

    public static string Text(ReceivedCall call) => Encoding.UTF8.GetString(call.Body);
}
