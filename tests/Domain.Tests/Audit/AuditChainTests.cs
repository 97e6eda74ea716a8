using Deploy.Engine.Domain.Audit;

namespace Deploy.Engine.Domain.Tests.Audit;

public class AuditChainTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

    private static List<ChainedEntry> Chain(int n)
    {
        var entries = new List<ChainedEntry>();
        var head = AuditChain.Genesis;
        for (var i = 1; i <= n; i++)
        {
            var entry = AuditChain.Append(head, new AuditFacts(i, T0.AddMinutes(i), $"user-{i % 3}", "operator", "rollout.paused",
                $"rollout/rel-{i}.prod", $"rel-{i}", "prod", "sha256:" + new string('a', 64), "abc123", $"reason {i}",
                new Dictionary<string, string> { ["k"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
            entries.Add(entry);
            head = entry.Hash;
        }

        return entries;
    }

    [Fact]
    public void An_untouched_chain_verifies_against_its_head()
    {
        var chain = Chain(5);
        var result = AuditChain.Verify(chain, chain[^1].Hash, 5);
        Assert.True(result.Valid, result.Reason);
        Assert.Equal(5, result.Entries);
    }

    [Theory]
    [InlineData("reason", 3)]
    [InlineData("principal", 1)]
    [InlineData("data", 5)]
    [InlineData("time", 2)]
    public void Editing_any_field_of_any_entry_is_detected_at_that_entry(string field, int position)
    {
        var chain = Chain(5);
        var e = chain[position - 1];
        var edited = field switch
        {
            "reason" => e.Facts with { Reason = "nothing to see here" },
            "principal" => e.Facts with { Principal = "someone-else" },
            "data" => e.Facts with { Data = new Dictionary<string, string> { ["k"] = "edited" } },
            _ => e.Facts with { At = e.Facts.At.AddSeconds(1) },
        };
        chain[position - 1] = e with { Facts = edited };

        var result = AuditChain.Verify(chain, chain[^1].Hash, 5);
        Assert.False(result.Valid);
        Assert.Equal(position, result.BrokenAt);
        Assert.Contains("altered", result.Reason);
    }

    [Fact]
    public void Rehashing_an_edited_entry_breaks_the_next_link()
    {
        var chain = Chain(4);
        var facts = chain[1].Facts with { Reason = "rewritten" };
        chain[1] = new ChainedEntry(facts, chain[1].PreviousHash, AuditChain.Hash(chain[1].PreviousHash, facts));

        var result = AuditChain.Verify(chain, chain[^1].Hash, 4);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenAt);
        Assert.Contains("does not follow", result.Reason);
    }

    [Fact]
    public void Removing_an_entry_or_the_tail_is_detected()
    {
        var chain = Chain(4);
        var head = chain[^1].Hash;
        var middle = chain.Where((_, i) => i != 1).ToList();
        Assert.Equal(2, AuditChain.Verify(middle, head, 4).BrokenAt);

        var truncated = chain.Take(3).ToList();
        var result = AuditChain.Verify(truncated, head, 4);
        Assert.False(result.Valid);
        Assert.Contains("removed from the end", result.Reason);
    }

    [Fact]
    public void Field_boundaries_cannot_be_shifted_to_forge_the_same_hash()
    {
        var a = new AuditFacts(1, T0, "ab", "c", "x", "s", null, null, null, null, null, new Dictionary<string, string>());
        var b = a with { Principal = "a", Role = "bc" };
        Assert.NotEqual(AuditChain.Hash(AuditChain.Genesis, a), AuditChain.Hash(AuditChain.Genesis, b));
    }
}
