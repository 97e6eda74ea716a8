using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

[Collection(ClusterCollection.Name)]
public class StorageFaultTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_write_that_failed_is_not_served_afterwards()
    {
        var id = Unique("rel-faulty");
        var release = Grains.GetGrain<IReleaseGrain>(id);
        var draft = new ReleaseDraft { Service = "web", Version = "1.0.0", Artifact = Digest("1.0.0"), SubmittedBy = "ci" };

        using (FaultInjectingGrainStorage.FailWrites(id))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => release.Create(draft));
            Assert.Null(await release.Get());
        }

        // Storage is back: the same create succeeds (nothing half-made is in the way) and is served.
        Assert.True((await release.Create(draft)).Ok);
        Assert.Equal("1.0.0", (await release.Get())!.Version);
    }

    [Fact]
    public async Task A_rollout_whose_writes_fail_for_a_while_resumes_on_its_own()
    {
        var env = Unique("flaky");
        var hosts = await CreateEnvironment(Grains, env, 12, latencyMs: 20);
        var releaseId = await CreateRelease(Grains, "web", "2.0.0");
        var started = await StartRollout(Grains, releaseId, env, new RolloutStrategySpec { Preset = "OneAtATime" });

        using (FaultInjectingGrainStorage.FailWrites(started.Id))
        {
            await Task.Delay(1500);
        }

        var done = await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal(Digest("2.0.0"), h.CurrentArtifact));
    }
}
