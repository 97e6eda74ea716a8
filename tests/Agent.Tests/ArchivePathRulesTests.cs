using Deploy.Engine.Agent.Artifacts;

namespace Deploy.Engine.Agent.Tests;

public sealed class ArchivePathRulesTests
{
    [Theory]
    [InlineData("./bin/app", "bin/app")]
    [InlineData("a//b/./c", "a/b/c")]
    [InlineData(".", "")]
    [InlineData("../x", null)]
    [InlineData("a/../../x", null)]
    [InlineData("a/..", null)]
    [InlineData("/etc/passwd", null)]
    [InlineData("C:/x", null)]
    [InlineData("a\0b", null)]
    public void Normalize(string name, string? expected)
    {
        var (segments, refusal) = ArchivePathRules.Normalize(name);
        Assert.Equal(expected, segments is null ? null : string.Join('/', segments));
        Assert.Equal(expected is null, refusal is not null);
    }

    [Theory]
    [InlineData("bin/tool", "../lib/tool", "vendor/lib/tool")] // through the archive's link lib → vendor/lib
    [InlineData("x", "../etc", null)]
    [InlineData("a/b/x", "../../c", "c")]
    [InlineData("x", "/etc", null)]
    [InlineData("x", "p/..", null)] // p → "." is the root; its parent is outside
    [InlineData("x", "loop/a", null)] // loop → loop: refused, not followed forever
    public void ResolveLink(string link, string target, string? expected)
    {
        var links = new Dictionary<string, string> { ["lib"] = "vendor/lib", ["p"] = ".", ["loop"] = "loop" };
        Assert.Equal(expected, ArchivePathRules.ResolveLink(link.Split('/'), target, links));
    }
}
