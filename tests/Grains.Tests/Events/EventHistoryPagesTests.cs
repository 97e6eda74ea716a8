using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Events;

/// <summary>
/// A history's pages are sealed at 64 events or at a size budget, so a history of large events (a big fleet's hosts,
/// hundreds per event) never rewrites a page of megabytes; reading finds the right page either way, including in
/// histories sealed before the budget, whose pages hold exactly 64 events and record no starts.
/// </summary>
[Collection(ClusterCollection.Name)]
public class EventHistoryPagesTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_history_of_large_events_seals_pages_by_size_and_reads_back_whole_from_any_position()
    {
        // 1,000 hosts with 60-character names all at once: the hosts' outcome is two events of about 30,000 characters
        // each, which do not fit one page's budget of 48,000.
        var env = Unique("big-pages");
        await CreateEnvironment(Grains, env, 1000, prefix: env + "-a-host-name-long-enough-to-weigh-on-the-page");
        var release = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "AllAtOnce" });
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Id)).Status);

        var key = GrainKeys.RolloutEvents(started.Id);
        var events = await History(Grains, key, e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        Assert.True(events.Count < EventHistoryGrain.PageSize, $"{events.Count} events");
        Assert.Equal(1000, HostsIn(events, EventTypes.HostsUpdated).Distinct().Count());
        // Fewer than 64 events, yet a page was sealed: the budget did it.
        Assert.Equal(1, FaultInjectingGrainStorage.WritesOf(GrainKeys.EventPage(key, 0)));

        var history = Grains.GetGrain<IEventHistoryGrain>(key);
        for (var after = 0; after <= events.Count; after++)
        {
            var page = await history.Read(after, 3);
            Assert.Equal(events.Skip(after).Take(3).Select(e => e.Id), page.Items.Select(e => e.Id));
        }
    }

    [Fact]
    public void A_history_sealed_before_the_budget_finds_its_pages_of_64_and_the_pages_sealed_since()
    {
        var events = (long first, int count) => Enumerable.Range(0, count).Select(i => new EngineEvent { Id = $"e{first + i}", Type = EventTypes.CalendarChanged, Subject = "environment/x", Timestamp = DateTimeOffset.UnixEpoch, Sequence = first + i }).ToList();

        // Two pages of 64 sealed before the budget (no starts recorded), 2 events open.
        var legacy = new EventHistoryState { SealedPages = 2, LastSequence = 130, Events = events(129, 2) };
        Assert.Equal([1, 65], EventHistoryGrain.PageStarts(legacy));
        Assert.Equal([0L, 0, 1, 1, 2, 2, 2], new long[] { 1, 64, 65, 128, 129, 130, 500 }.Select(n => EventHistoryGrain.PageOf(legacy, n)));

        // Then one more page sealed with the budget (3 events; the seal stored every start), and an empty open page.
        var mixed = new EventHistoryState { SealedPages = 3, LastSequence = 131, PageStarts = [1, 65, 129], Events = [] };
        Assert.Equal([1, 65, 129], EventHistoryGrain.PageStarts(mixed));
        Assert.Equal([0L, 1, 2, 2, 3], new long[] { 2, 100, 129, 131, 132 }.Select(n => EventHistoryGrain.PageOf(mixed, n)));
    }
}
