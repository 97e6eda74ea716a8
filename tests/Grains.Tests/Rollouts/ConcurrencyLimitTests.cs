using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

[Collection(ClusterCollection.Name)]
public class ConcurrencyLimitTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Many_rollouts_submitted_at_once_never_exceed_the_limit_and_queued_ones_start_in_order()
    {
        const int limit = 2;
        const int rollouts = 8;
        var env = Unique("limit");
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = limit });
        var releases = new List<string>();
        for (var i = 0; i < rollouts; i++)
        {
            var service = $"svc-{i}";
            await AddHosts(Grains, env, 4, latencyMs: 100, labels: new Dictionary<string, string> { ["service"] = service }, prefix: $"{env}-{service}");
            releases.Add(await CreateRelease(Grains, service, "2.0.0"));
        }

        var started = await Task.WhenAll(releases.Select((r, i) => StartRollout(Grains, r, env,
            new RolloutStrategySpec { Preset = "OneAtATime" }, new Dictionary<string, string> { ["service"] = $"svc-{i}" })));

        Assert.Equal(limit, started.Count(s => s.Status == RolloutStatus.Progressing));
        Assert.Equal(rollouts - limit, started.Count(s => s.Status == RolloutStatus.Queued));
        Assert.All(started.Where(s => s.Status == RolloutStatus.Queued), s => Assert.Contains("waiting for a slot", s.StatusReason));

        foreach (var s in started)
        {
            Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, s.Id)).Status);
        }

        var histories = new List<IReadOnlyList<EngineEvent>>();
        foreach (var s in started)
        {
            histories.Add(await History(Grains, GrainKeys.RolloutEvents(s.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished)));
        }

        Assert.Equal(limit, ConcurrencyChecker.MaxOverlap(histories));

        // FIFO: the environment's history admits queued rollouts in the order it queued them.
        var envHistory = await History(Grains, GrainKeys.EnvironmentEvents(env),
            e => e.Count(x => x.Type == EventTypes.SlotReleased) == rollouts);
        var queuedOrder = envHistory.Where(e => e.Type == EventTypes.SlotQueued).Select(e => e.Data["rollout"]).ToList();
        var admittedFromQueue = envHistory.Where(e => e.Type == EventTypes.SlotAdmitted && e.Reason == "admitted from the queue")
            .Select(e => e.Data["rollout"]).ToList();
        Assert.Equal(rollouts - limit, queuedOrder.Count);
        Assert.Equal(queuedOrder, admittedFromQueue);
    }

    [Fact]
    public async Task Two_releases_of_one_service_never_run_at_once_even_with_free_slots()
    {
        var env = Unique("same");
        await CreateEnvironment(Grains, env, 6, concurrencyLimit: 3, latencyMs: 30);
        var first = await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.0"), env, new RolloutStrategySpec { Preset = "OneAtATime" });
        var second = await StartRollout(Grains, await CreateRelease(Grains, "web", "2.0.1"), env, new RolloutStrategySpec { Preset = "OneAtATime" });

        Assert.Equal(RolloutStatus.Progressing, first.Status);
        Assert.Equal(RolloutStatus.Queued, second.Status);
        Assert.Contains($"rollout '{first.Id}' of the same service is running", second.StatusReason);

        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, first.Id)).Status);
        var done = await WaitFor(Grains, second.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.Equal(0, done.Hosts.Failed);
        Assert.Equal("2.0.1", (await Grains.GetGrain<IEnvironmentGrain>(env).Get())!.Services["web"].Version);
    }

    [Fact]
    public void The_checker_detects_overlap()
    {
        static EngineEvent E(string type, int second) => new()
        {
            Id = Guid.NewGuid().ToString(), Type = type, Subject = "rollout/x",
            Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(second),
        };

        IReadOnlyList<EngineEvent> Run(int from, int to) => [E(EventTypes.PipelineRunStarted, from), E(EventTypes.PipelineRunFinished, to)];

        Assert.Equal(1, ConcurrencyChecker.MaxOverlap([Run(0, 5), Run(5, 9)]));
        Assert.Equal(2, ConcurrencyChecker.MaxOverlap([Run(0, 5), Run(4, 9)]));
        Assert.Equal(3, ConcurrencyChecker.MaxOverlap([Run(0, 10), Run(1, 9), Run(2, 3)]));
    }
}
