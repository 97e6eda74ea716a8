using System.Diagnostics;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Events;

/// <summary>The cluster-wide event feed behind the SSE stream, and the rollout catalog, fed by the event history's followers.</summary>
[Collection(ClusterCollection.Name)]
public class EventFeedTests(ClusterFixture fixture)
{
    private IEventFeedGrain Feed => fixture.Grains.GetGrain<IEventFeedGrain>(GrainKeys.EventFeed);

    private static EngineEvent Event(string id) => new()
    {
        Id = id, Type = EventTypes.CalendarChanged, Subject = "environment/x", Timestamp = DateTimeOffset.UtcNow,
    };

    /// <summary>Reads from <paramref name="after"/> until an item matches, long-polling; the items read on the way.</summary>
    private async Task<List<FeedItem>> ReadUntil(long after, Func<FeedItem, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = new List<FeedItem>();
        while (DateTime.UtcNow < deadline)
        {
            var batch = await Feed.Read(after, 500, TimeSpan.FromSeconds(2));
            seen.AddRange(batch.Items);
            if (batch.Items.Any(until)) return seen;
            after = batch.Items.Count > 0 ? batch.Items[^1].Sequence : after;
        }

        Assert.Fail("the awaited item did not reach the feed");
        return seen;
    }

    [Fact]
    public async Task A_waiting_read_returns_as_soon_as_an_event_is_appended()
    {
        var tail = await Feed.Read(-1, 0, TimeSpan.Zero);
        Assert.Empty(tail.Items);
        var id = Unique("evt");
        var waiting = Feed.Read(tail.Last, 500, TimeSpan.FromSeconds(15));
        await Task.Delay(300);
        var appended = Stopwatch.StartNew();

        await Feed.Append("governance/eu-prod", Event(id));
        var batch = await waiting;

        Assert.True(appended.Elapsed < TimeSpan.FromSeconds(5), $"the read waited {appended.Elapsed} after the append");
        var found = batch.Items.Any(i => i.Event.Id == id) ? batch.Items.Single(i => i.Event.Id == id)
            : (await ReadUntil(tail.Last, i => i.Event.Id == id, TimeSpan.FromSeconds(10))).Single(i => i.Event.Id == id);
        Assert.Equal("eu-prod", found.Environment);
        Assert.Equal(tail.Epoch, batch.Epoch);
    }

    [Fact]
    public async Task An_event_delivered_twice_is_in_the_feed_once()
    {
        var tail = await Feed.Read(-1, 0, TimeSpan.Zero);
        var id = Unique("dup");
        var marker = Unique("marker");

        await Feed.Append("service/web", Event(id));
        await Feed.Append("service/web", Event(id));
        await Feed.Append("service/web", Event(marker));

        var seen = await ReadUntil(tail.Last, i => i.Event.Id == marker, TimeSpan.FromSeconds(10));
        Assert.Single(seen, i => i.Event.Id == id);
        Assert.Equal("web", seen.Single(i => i.Event.Id == id).Service);
    }

    [Fact]
    public async Task A_rollouts_events_reach_the_feed_and_its_status_reaches_the_catalog()
    {
        var env = Unique("feed");
        await CreateEnvironment(fixture.Grains, env, 5);
        var release = await CreateRelease(fixture.Grains, "web", "2.0.0");
        var tail = await Feed.Read(-1, 0, TimeSpan.Zero);

        var started = await StartRollout(fixture.Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        var seen = await ReadUntil(tail.Last, i => i.Rollout == started.Id && i.Event.Type == EventTypes.PipelineRunFinished, TimeSpan.FromSeconds(60));

        var mine = seen.Where(i => i.Rollout == started.Id).ToList();
        Assert.All(mine, i => Assert.Equal(env, i.Environment));
        Assert.Contains(mine, i => i.Event.Type == EventTypes.RolloutCreated);
        Assert.True(mine.Select(i => i.Sequence).SequenceEqual(mine.Select(i => i.Sequence).Order()), "the feed keeps order");

        var catalog = fixture.Grains.GetGrain<IRolloutCatalogGrain>(GrainKeys.RolloutCatalog);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        CursorPage<RolloutSummary> listed;
        do
        {
            listed = await catalog.Query(new CatalogQuery { Environment = env });
        }
        while (listed.Items is not [{ Status: RolloutStatus.Succeeded }] && DateTime.UtcNow < deadline && await Task.Delay(100).ContinueWith(_ => true));

        var summary = Assert.Single(listed.Items);
        Assert.Equal(RolloutStatus.Succeeded, summary.Status);
        Assert.Equal(release, summary.ReleaseId);
        Assert.Equal("2.0.0", summary.Version);
    }
}
