using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Fleet;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Tests.Rolling;

public class MiscDomainTests
{
    [Theory]
    [InlineData("sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("sha256:" + "0123456789abcdef", false)]
    [InlineData("sha512:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData(null, false)]
    public void Artifact_digests(string? digest, bool valid) => Assert.Equal(valid, ArtifactDigest.IsValid(digest));

    [Theory]
    [InlineData("prod", true)]
    [InlineData("eu-west-1", true)]
    [InlineData("Prod", false)]
    [InlineData("-prod", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    public void Environment_names_are_dns_labels(string name, bool valid) => Assert.Equal(valid, Names.IsDnsLabel(name));

    [Fact]
    public void Simulated_failures_are_deterministic_and_approach_the_probability()
    {
        const string artifact = "sha256:aa";
        var first = Enumerable.Range(0, 2000).Select(i => SimulatedOutcome.Fails($"h-{i}", artifact, 0.3)).ToList();
        var second = Enumerable.Range(0, 2000).Select(i => SimulatedOutcome.Fails($"h-{i}", artifact, 0.3)).ToList();

        Assert.Equal(first, second);
        Assert.InRange(first.Count(f => f) / 2000.0, 0.25, 0.35);
        Assert.False(SimulatedOutcome.Fails("h", artifact, 0));
        Assert.True(SimulatedOutcome.Fails("h", artifact, 1));
    }
}
