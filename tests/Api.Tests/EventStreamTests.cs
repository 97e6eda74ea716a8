using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Resources;
using Deploy.Engine.Api.Streaming;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.StreamEngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary><c>GET /v1/events/stream</c>: filters, scopes, resume with Last-Event-ID, gaps, heartbeats, slow clients.</summary>
[Collection(StreamEngineCollection.Name)]
public class EventStreamTests(StreamEngineFactory engine)
{
    private const string Finished = "dev.cdevents.pipelinerun.finished.0.2.0";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    private static async Task<(HttpResponseMessage Response, SseReader Reader)> Open(HttpClient client, string query, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events/stream" + query);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("connected", (await reader.Next(TimeSpan.FromSeconds(10)))!.Comment);
        return (response, reader);
    }

    private static JsonNode Data(SseFrame frame) => JsonNode.Parse(frame.Data!)!;

    /// <summary>
    /// A stream read as any EventSource client reads it: if a burst on this busy machine puts the connection a buffer
    /// behind and the server cuts it, it reconnects with the last id it saw, on this connection or an earlier one. A cut
    /// shows in the test server's client as an error, an end of the body or, when a read was waiting, a read that never
    /// completes (and what the transport held may be lost with it); a live stream is never silent for long (heartbeats
    /// every second here), so a connection silent for <see cref="Silence"/> counts as cut too. Cut before it saw any
    /// event, it resumes from an id of another epoch, which replays everything the feed retains for its filter after a
    /// "restarted" gap (skipped here): the filters followed are fresh environments, so that is everything it missed.
    /// </summary>
    private sealed class Follower(HttpClient client, string query, (HttpResponseMessage Response, SseReader Reader) connection) : IDisposable
    {
        private const string BeforeAnything = "000000000000-0";
        private string? _lastId;
        private bool _skipRestartGap;

        public static async Task<Follower> Open(HttpClient client, string query) =>
            new(client, query, await EventStreamTests.Open(client, query));

        /// <summary>Reads until <paramref name="until"/> holds for an event, appending the events to <paramref name="watched"/>.</summary>
        public async Task Until(Func<SseFrame, bool> until, List<SseFrame> watched)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (DateTime.UtcNow < deadline)
            {
                SseFrame? frame;
                try
                {
                    frame = await connection.Reader.Next(Silence);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
                {
                    frame = null;
                }

                if (frame is null)
                {
                    connection.Reader.Dispose();
                    connection.Response.Dispose();
                    connection = await EventStreamTests.Open(client, query, _lastId ?? BeforeAnything);
                    _skipRestartGap = _lastId is null;
                    continue;
                }

                if (frame.Comment is not null) continue;
                if (_skipRestartGap && frame.Event == EventStreamApi.GapEventType)
                {
                    _skipRestartGap = false;
                    continue;
                }

                _skipRestartGap = false;
                _lastId = frame.Id ?? _lastId;
                watched.Add(frame);
                if (until(frame)) return;
            }

            throw new TimeoutException("the awaited event did not arrive; got: " + string.Join(", ", watched.Select(e => e.Event)));
        }

        public void Dispose()
        {
            connection.Reader.Dispose();
            connection.Response.Dispose();
        }
    }

    /// <summary>How long a connection may be silent before a follower takes it for cut (the server beats every second).</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(5);

    private static bool FinishedFor(SseFrame frame, string rollout) => frame.Event == Finished && (string?)Data(frame)["rollout"] == rollout;

    [Fact]
    public async Task A_stream_filtered_by_environment_carries_that_environments_rollout_and_nothing_else()
    {
        var watched = await CatalogApiTests.Environment(_operator);
        var other = await CatalogApiTests.Environment(_operator);
        var (response, reader) = await Open(_viewer, $"?environment={watched}");
        using var _ = response;

        var noise = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", "2.0.0"), other);
        var id = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", "2.0.0"), watched);
        var events = await reader.EventsUntil(f => FinishedFor(f, id), Patience);

        Assert.All(events, e => Assert.Equal(watched, (string?)Data(e)["environment"]));
        Assert.Contains(events, e => e.Event == "dev.cdeventsx.deploy-engine.rollout.created" && (string?)Data(e)["rollout"] == id);
        Assert.Contains(events, e => e.Event == "dev.cdevents.service.deployed.0.2.0");
        Assert.Equal("Succeeded", (string?)Data(events[^1])["data"]!["status"]);
        Assert.All(events, e => Assert.Equal(e.Event, (string?)Data(e)["type"]));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        await _viewer.WaitFor($"/v1/rollouts/{noise}", r => (string?)r["status"] == "Succeeded");
    }

    [Fact]
    public async Task Resuming_with_Last_Event_ID_replays_exactly_the_missed_events()
    {
        var env = await CatalogApiTests.Environment(_operator, hosts: 6);
        var (fullResponse, full) = await Open(_viewer, $"?environment={env}");
        var (cutResponse, cut) = await Open(_viewer, $"?environment={env}");
        using var _ = fullResponse;

        var id = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", "2.0.0"), env, "OneAtATime");
        var seen = await cut.EventsUntil(f => f.Event == "dev.cdeventsx.deploy-engine.rollout.created", Patience);
        cut.Dispose();
        cutResponse.Dispose();
        var everything = await full.EventsUntil(f => FinishedFor(f, id), Patience);

        var (resumedResponse, resumed) = await Open(_viewer, $"?environment={env}", lastEventId: seen[^1].Id);
        using var __ = resumedResponse;
        var replayed = await resumed.EventsUntil(f => FinishedFor(f, id), Patience);

        var missed = everything.SkipWhile(e => e.Id != seen[^1].Id).Skip(1).Select(e => e.Id).ToList();
        Assert.True(missed.Count > 5, $"the rollout should have raised events after the cut, got {missed.Count}");
        Assert.Equal(missed, replayed.Select(e => e.Id).ToList());
    }

    [Fact]
    public async Task A_Last_Event_ID_the_feed_no_longer_holds_gets_a_gap_event_then_the_retained_events()
    {
        var (response, reader) = await Open(_viewer, string.Empty, lastEventId: "0123456789ab-5");
        using var _ = response;

        var gap = await reader.Next(TimeSpan.FromSeconds(10));
        Assert.Equal("stream.gap", gap!.Event);
        Assert.Equal("0123456789ab-5", (string?)Data(gap)["lastEventId"]);
        Assert.Contains("restarted", (string?)Data(gap)["reason"], StringComparison.Ordinal);

        // Within the feed's epoch: a position the window has moved past. Rollouts run until the feed holds more
        // than its capacity of events since the first one seen.
        var env = await CatalogApiTests.Environment(_operator, hosts: 20);
        // The probe is not read while each next rollout is being created, so it may fall a buffer behind and resume.
        using var probe = await Follower.Open(_viewer, $"?environment={env}");
        string? epoch = null;
        long firstSequence = 0, lastSequence = 0;
        for (var round = 0; round < 8 && lastSequence - firstSequence <= FeedCapacity; round++)
        {
            var id = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", $"2.0.{round}"), env, "OneAtATime");
            var events = new List<SseFrame>();
            await probe.Until(f => FinishedFor(f, id), events);
            foreach (var e in events)
            {
                var dash = e.Id!.LastIndexOf('-');
                epoch ??= e.Id[..dash];
                lastSequence = long.Parse(e.Id[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                if (firstSequence == 0) firstSequence = lastSequence;
            }
        }

        probe.Dispose();
        Assert.True(lastSequence - firstSequence > FeedCapacity, $"the feed did not move past its window ({firstSequence}..{lastSequence})");
        var (oldResponse, old) = await Open(_viewer, string.Empty, lastEventId: $"{epoch}-{firstSequence}");
        using var ___ = oldResponse;
        var window = await old.Next(TimeSpan.FromSeconds(10));
        Assert.Equal("stream.gap", window!.Event);
        Assert.Contains("no longer retained", (string?)Data(window)["reason"], StringComparison.Ordinal);
        var next = await old.Next(TimeSpan.FromSeconds(10));
        Assert.StartsWith(epoch + "-", next!.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_idle_stream_carries_heartbeats()
    {
        var (response, reader) = await Open(_viewer, $"?environment={TestHttp.Unique("quiet")}");
        using var _ = response;
        var started = Stopwatch.StartNew();

        var frame = await reader.Next(TimeSpan.FromSeconds(10));

        Assert.Equal("heartbeat", frame!.Comment);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
        Assert.Equal("heartbeat", (await reader.Next(TimeSpan.FromSeconds(5)))!.Comment);
    }

    [Fact]
    public async Task A_scoped_key_streams_only_its_scope_and_a_filter_outside_it_is_a_403()
    {
        var env = await CatalogApiTests.Environment(_operator);
        var scopedService = engine.As(ServiceScopedKey);
        var (response, reader) = await Open(scopedService, $"?environment={env}");
        using var _ = response;

        var hidden = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", "2.0.0"), env);
        await _viewer.WaitFor($"/v1/rollouts/{hidden}", r => (string?)r["status"] == "Succeeded");
        var visible = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, ScopedService, "2.0.0"), env);
        var events = await reader.EventsUntil(f => FinishedFor(f, visible), Patience);

        Assert.All(events, e => Assert.Equal(ScopedService, (string?)Data(e)["service"]));
        Assert.DoesNotContain(events, e => (string?)Data(e)["rollout"] == hidden);

        var east = engine.As(EnvScopedKey);
        var refused = await east.GetAsync($"/v1/events/stream?environment={env}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        Assert.Contains(ScopedEnvironment, (string?)refused["detail"], StringComparison.Ordinal);
        await east.GetAsync($"/v1/events/stream?rollout={visible}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
    }

    [Theory]
    [InlineData("?environment=Bad_Name", null, "environment")]
    [InlineData("?rollout=no-dot", null, "rollout")]
    [InlineData("", "not an id", "Last-Event-ID")]
    public async Task Bad_filters_and_ids_are_a_400(string query, string? lastEventId, string field)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events/stream" + query);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var problem = await _viewer.SendAsync(request).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task A_client_that_never_reads_is_dropped_while_a_rollout_still_finishes_quickly()
    {
        var hub = engine.Services.GetRequiredService<EventStreamHub>();
        var env = await CatalogApiTests.Environment(_operator, hosts: 120);
        var (response, reader) = await Open(_viewer, string.Empty);
        using var _ = response;
        using var __ = reader;
        using var watcher = await Follower.Open(_viewer, $"?environment={env}");
        var connections = hub.Connections;

        var started = Stopwatch.StartNew();
        var id = await CatalogApiTests.Rollout(_pipeline, await CatalogApiTests.Release(_pipeline, "web", "2.0.0"), env, "OneAtATime");

        // The watcher reads as fast as it can, and like any EventSource client it resumes with Last-Event-ID if a burst
        // on this busy machine ever puts it a buffer behind: it must still see every event once, in order.
        var watched = new List<SseFrame>();
        await watcher.Until(f => FinishedFor(f, id), watched);

        var took = started.Elapsed;
        Assert.All(watched, e => Assert.NotEqual(EventStreamApi.GapEventType, e.Event));
        Assert.Equal(watched.Count, watched.Select(e => e.Id).Distinct().Count());

        // 120 hosts one at a time raise hundreds of events (a batch started, its hosts updated and the batch completed,
        // for each host): more than the slow client's buffer and its transport hold. The watcher saw every batch.
        Assert.Equal(120, watched.Count(e => e.Event == "dev.cdeventsx.deploy-engine.rollout.batch-started"));
        Assert.True(watched.Count > BufferSize * 4, $"expected many events, got {watched.Count}");
        Assert.Equal("Succeeded", (string?)Data(watched[^1])["data"]!["status"]);
        Assert.True(took < TimeSpan.FromSeconds(45), $"the rollout took {took}");
        // The watcher is still connected (it is counted in both): only the slow client's leaving lowers the count.
        var dropDeadline = DateTime.UtcNow.AddSeconds(10);
        while (hub.Connections >= connections && DateTime.UtcNow < dropDeadline) await Task.Delay(50);
        Assert.True(hub.Connections < connections, "the slow client is still connected");
        watcher.Dispose();

        // What the slow client finally reads ends (the connection was cut) instead of going on: a live stream would
        // carry a heartbeat every second forever.
        var readUntil = DateTime.UtcNow.AddSeconds(30);
        var ended = false;
        try
        {
            while (DateTime.UtcNow < readUntil && !ended)
            {
                ended = await reader.Next(TimeSpan.FromSeconds(10)) is null;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            ended = true;
        }

        Assert.True(ended, "the slow client's stream did not end");
    }
}
