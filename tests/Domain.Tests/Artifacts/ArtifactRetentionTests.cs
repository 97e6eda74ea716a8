using Deploy.Engine.Domain.Artifacts;
using Microsoft.Extensions.Time.Testing;

namespace Deploy.Engine.Domain.Tests.Artifacts;

public class ArtifactRetentionTests
{
    private static readonly DateTimeOffset Day0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Day(int d) => Day0.AddDays(d);

    /// <summary>
    /// Service shop, N = 1, D = 30: a1 (day 10) and a2 (day 20) released to staging, a3 (day 30) to prod, a4 never
    /// released (day 5), a5 never released (day 95). Liveness varies by row.
    /// </summary>
    private static readonly RetainedArtifact[] Store =
    [
        new("a1", Day(10), [new("r1", "shop", Day(10), ["staging"])]),
        new("a2", Day(20), [new("r2", "shop", Day(20), ["staging"])]),
        new("a3", Day(30), [new("r3", "shop", Day(30), ["prod"])]),
        new("a4", Day(5), []),
        new("a5", Day(95), []),
    ];

    [Theory]
    // Nothing live: a2 and a3 are the last release of shop in their environments, a5 is young, a1 and a4 go.
    [InlineData("", "", "a1,a4")]
    // a1 runs somewhere: kept.
    [InlineData("a1", "", "a4")]
    // a4 is the rollback target of a live host: kept, although old and never released.
    [InlineData("", "a4", "a1")]
    [InlineData("a1", "a4", "")]
    public void Removes_only_what_is_old_unreleased_recently_and_not_live(string deployed, string rollbackTargets, string removed)
    {
        var time = new FakeTimeProvider(Day(100));
        var live = new LiveArtifacts(
            deployed.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(d => d, _ => "environment 'staging'"),
            rollbackTargets.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(d => d, _ => "host 'h1'"));

        var decisions = ArtifactRetention.Decide(Store, live, new RetentionPolicy(1, 30), time.GetUtcNow());

        Assert.Equal(removed, string.Join(",", decisions.Where(d => d.Remove).Select(d => d.Digest)));
        Assert.Equal(Store.Length, decisions.Count);
    }

    [Theory]
    [InlineData("a1", "deployed: environment 'staging'")]
    [InlineData("a2", "release 'r2' is among the last 1 releases of service 'shop' in environment 'staging'")]
    [InlineData("a4", "rollback target: host 'h1'")]
    [InlineData("a5", "uploaded less than 30 days ago")]
    public void Every_kept_artifact_says_why(string digest, string why)
    {
        var live = new LiveArtifacts(new Dictionary<string, string> { ["a1"] = "environment 'staging'" }, new Dictionary<string, string> { ["a4"] = "host 'h1'" });
        var decision = ArtifactRetention.Decide(Store, live, new RetentionPolicy(1, 30), Day(100)).Single(d => d.Digest == digest);
        Assert.False(decision.Remove);
        Assert.StartsWith(why, decision.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void An_artifact_becomes_removable_when_it_reaches_the_age_limit()
    {
        var time = new FakeTimeProvider(Day(95));
        var none = new LiveArtifacts(new Dictionary<string, string>(), new Dictionary<string, string>());
        RetainedArtifact[] one = [new("young", Day(95), [])];

        time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));
        Assert.False(ArtifactRetention.Decide(one, none, new RetentionPolicy(0, 30), time.GetUtcNow()).Single().Remove);

        time.Advance(TimeSpan.FromSeconds(1));
        var decision = ArtifactRetention.Decide(one, none, new RetentionPolicy(0, 30), time.GetUtcNow()).Single();
        Assert.True(decision.Remove);
        Assert.Contains("30 or more days ago", decision.Why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "a1")]
    [InlineData(2, "")]
    public void Keeps_the_last_n_releases_per_service_per_environment(int keep, string removed)
    {
        RetainedArtifact[] store =
        [
            new("a1", Day(1), [new("r1", "shop", Day(1), ["staging"])]),
            new("a2", Day(2), [new("r2", "shop", Day(2), ["staging"])]),
            new("b1", Day(1), [new("s1", "cart", Day(1), ["staging"])]),
        ];
        var none = new LiveArtifacts(new Dictionary<string, string>(), new Dictionary<string, string>());
        var decisions = ArtifactRetention.Decide(store, none, new RetentionPolicy(keep, 10), Day(100));
        Assert.Equal(removed, string.Join(",", decisions.Where(d => d.Remove).Select(d => d.Digest)));
    }
}
