using Deploy.Engine.Domain.SupplyChain;

namespace Deploy.Engine.Domain.Tests.SupplyChain;

public class ClaimRulesTests
{
    private const string Full = "4f2a9c1e0d3b5a7c9e1f2a4b6c8d0e2f4a6b8c0d";

    [Theory]
    [InlineData(Full, Full, null)]
    [InlineData("4F2A9C1E0D3B5A7C9E1F2A4B6C8D0E2F4A6B8C0D", Full, null)]
    [InlineData("4f2a9c1", Full, null)]
    [InlineData(null, Full, null)]
    [InlineData("4f2a9c", Full, "release rel-1 claims commit 4f2a9c, but its provenance attests commit " + Full)]
    [InlineData("0badc0ffee", Full, "release rel-1 claims commit 0badc0ffee, but its provenance attests commit " + Full)]
    [InlineData("4f2a9c1", null, "release rel-1 claims commit 4f2a9c1, but its provenance attests no commit")]
    public void A_release_names_the_commit_its_provenance_attests(string? claimed, string? attested, string? mismatch) =>
        Assert.Equal(mismatch, ClaimRules.CommitMismatch("rel-1", claimed, attested));
}
