using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>References built from the cached grain type address the same grain as Orleans' own lookup, and work.</summary>
[Collection(ClusterCollection.Name)]
public class GrainRefsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_cached_reference_is_the_grain_that_GetGrain_names()
    {
        foreach (var key in new[] { "refs-h1", "refs-h2", "refs-h1" })
        {
            var cached = fixture.Grains.Ref<IHostGrain>(key);
            var looked = fixture.Grains.GetGrain<IHostGrain>(key);
            Assert.Equal(looked.GetGrainId(), cached.GetGrainId());
            Assert.Equal(looked, cached);
        }

        Assert.NotEqual(fixture.Grains.Ref<IHostGrain>("refs-x").GetGrainId(), fixture.Grains.Ref<IReleaseGrain>("refs-x").GetGrainId());
        var registered = await fixture.Grains.Ref<IHostGrain>("refs-h3").Register(new HostRegistration { Environment = "refs-env" });
        Assert.True(registered.Ok, registered.Detail);
        Assert.Equal("refs-env", (await fixture.Grains.GetGrain<IHostGrain>("refs-h3").Get())!.Environment);
    }
}
