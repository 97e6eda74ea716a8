using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Streaming;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Resources;

/// <summary>The JSON of one streamed event (the <c>data:</c> line); see docs/api-stream.md.</summary>
public sealed record StreamedEvent(
    string Id, string Type, string Subject, DateTimeOffset Timestamp, string? Reason, IReadOnlyDictionary<string, string> Data,
    string Stream, string? Environment, string? Service, string? Rollout);

/// <summary>The JSON of a <c>stream.gap</c> event: the client missed events the server no longer holds; re-read state.</summary>
public sealed record StreamGap(string? LastEventId, string? OldestAvailable, string Reason);

/// <summary>
/// <c>GET /v1/events/stream</c>: engine events as server-sent events, filtered by environment, service and rollout and by
/// the key's scope. Resumable: with <c>Last-Event-ID</c> the events after it are replayed from the feed's retained window,
/// then the stream goes live; what is no longer retained is announced by a <c>stream.gap</c> event. Idle streams carry a
/// heartbeat comment every <see cref="EventStreamOptions.HeartbeatSeconds"/>. A client that falls
/// <see cref="EventStreamOptions.BufferSize"/> events behind is disconnected (it resumes with Last-Event-ID).
/// </summary>
public static class EventStreamApi
{
    public const string GapEventType = "stream.gap";

    public static IEndpointRouteBuilder MapEventStreamApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/events/stream", Stream).WithTags("Events").RequireAuthorization(Policies.Read).ScopeFree("the stream filters itself: a scoped key receives only events inside its scope, and a filter outside it is a 403")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .WithSummary("Live engine events as server-sent events, resumable with Last-Event-ID");
        return routes;
    }

    public static async Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> Stream(
        HttpContext http, ClaimsPrincipal user, IGrainFactory grains, EventStreamHub hub, IOptions<EventStreamOptions> options,
        IOptions<JsonOptions> json, string? environment, string? service, string? rollout)
    {
        var errors = new ValidationErrors();
        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add("environment", "must be an environment name");
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add("service", "service names are lower-case DNS labels");
        if (rollout is not null && (rollout.Length > 200 || !GrainKeys.TryParseRollout(rollout, out _, out _))) errors.Add("rollout", "must be a rollout id ({releaseId}.{environment})");
        string? lastEventId = http.Request.Headers["Last-Event-ID"];
        (string Epoch, long Sequence)? resume = null;
        if (!string.IsNullOrEmpty(lastEventId))
        {
            if (TryParseId(lastEventId, out var parsed)) resume = parsed;
            else errors.Add("Last-Event-ID", "is not an event id this server issued ({epoch}-{sequence})");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var scope = KeyScope.Of(user);
        if (scope.Refusal(environment, service) is { } refusal) return Problems.Forbidden(refusal);
        if (rollout is not null && GrainKeys.TryParseRollout(rollout, out _, out var rolloutEnvironment) && !scope.AllowsEnvironment(rolloutEnvironment))
            return Problems.Forbidden(scope.Refusal(rolloutEnvironment, null)!);

        var aborted = http.RequestAborted;
        using var subscription = await hub.Subscribe(
            new StreamFilter(environment, service, rollout, scope.Environments, scope.Services), aborted);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted, subscription.Dropped);
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = new SseWriter(response, json.Value.SerializerOptions, stop.Token);
        try
        {
            await writer.Comment("connected");
            await writer.Flush();
            var (epoch, sent) = await Replay(grains, subscription.Filter, resume, lastEventId, writer);
            await Live(subscription, writer, epoch, sent, TimeSpan.FromSeconds(Math.Max(1, options.Value.HeartbeatSeconds)), stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        // The stream ends only when the client leaves or the hub drops it (its buffer was full: the channel is
        // completed and the drop token fires, in either order).
        if (!aborted.IsCancellationRequested)
        {
            // Too slow to keep up: cut the connection rather than hold events for it (it resumes with Last-Event-ID).
            http.Abort();
        }

        return TypedResults.Empty;
    }

    /// <summary>Sends what the feed holds after the client's position (or nothing but the position, for a new client).</summary>
    private static async Task<(string Epoch, long Sent)> Replay(
        IGrainFactory grains, StreamFilter filter, (string Epoch, long Sequence)? resume, string? lastEventId, SseWriter writer)
    {
        var feed = grains.Ref<IEventFeedGrain>(GrainKeys.EventFeed);
        if (resume is null)
        {
            var tail = await feed.Read(-1, 0, TimeSpan.Zero);
            return (tail.Epoch, tail.Last);
        }

        var after = resume.Value.Sequence;
        var first = true;
        while (true)
        {
            var batch = await feed.Read(after, 500, TimeSpan.Zero);
            if (first && batch.Epoch != resume.Value.Epoch)
            {
                // The feed restarted since that id: everything it holds now is new to the client, after a gap.
                await writer.Gap(new StreamGap(lastEventId, Id(batch.Epoch, batch.Oldest),
                    "the event feed restarted since this id; events before the oldest available may be missing"));
                after = 0;
                first = false;
                continue;
            }

            if (first && batch.Gap)
            {
                await writer.Gap(new StreamGap(lastEventId, Id(batch.Epoch, batch.Oldest),
                    $"events after this id are no longer retained (the feed keeps the latest {batch.Last - batch.Oldest + 1})"));
            }

            first = false;
            foreach (var item in batch.Items.Where(filter.Matches))
            {
                await writer.Event(batch.Epoch, item);
            }

            await writer.Flush();
            if (batch.Items.Count == 0)
            {
                return (batch.Epoch, after);
            }

            after = batch.Items[^1].Sequence;
        }
    }

    private static async Task Live(StreamSubscription subscription, SseWriter writer, string epoch, long sent, TimeSpan heartbeat, CancellationToken stop)
    {
        var reader = subscription.Channel.Reader;
        while (!stop.IsCancellationRequested)
        {
            using (var beat = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                beat.CancelAfter(heartbeat);
                try
                {
                    if (!await reader.WaitToReadAsync(beat.Token))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    await writer.Comment("heartbeat");
                    await writer.Flush();
                    continue;
                }
            }

            while (reader.TryRead(out var frame))
            {
                if (frame.Gap is { } gap)
                {
                    await writer.Gap(new StreamGap(null, null, gap));
                    epoch = frame.Epoch;
                    sent = 0;
                }
                else if (frame.Epoch != epoch || frame.Item!.Sequence > sent)
                {
                    // Events up to 'sent' went out in the replay.
                    epoch = frame.Epoch;
                    sent = frame.Item!.Sequence;
                    await writer.Event(epoch, frame.Item);
                }
            }

            await writer.Flush();
        }
    }

    public static string Id(string epoch, long sequence) => epoch + "-" + sequence.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseId(string id, out (string Epoch, long Sequence) parsed)
    {
        var dash = id.LastIndexOf('-');
        parsed = default;
        if (dash <= 0 || dash > 64 || !long.TryParse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }

        parsed = (id[..dash], sequence);
        return true;
    }

    /// <summary>Writes the text/event-stream framing: <c>id</c>, <c>event</c>, one <c>data</c> line of JSON, a blank line.</summary>
    private sealed class SseWriter(HttpResponse response, JsonSerializerOptions json, CancellationToken stop)
    {
        public Task Comment(string text) => Write(": " + text + "\n\n");

        public Task Event(string epoch, FeedItem item)
        {
            var e = item.Event;
            var data = JsonSerializer.Serialize(new StreamedEvent(e.Id, e.Type, e.Subject, e.Timestamp, e.Reason, e.Data,
                item.Stream, item.Environment, item.Service, item.Rollout), json);
            return Write($"id: {Id(epoch, item.Sequence)}\nevent: {e.Type}\ndata: {data}\n\n");
        }

        public Task Gap(StreamGap gap) =>
            Write($"event: {GapEventType}\ndata: {JsonSerializer.Serialize(gap, json)}\n\n");

        public async Task Flush() => await response.Body.FlushAsync(stop);

        private async Task Write(string text) => await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), stop);
    }
}
