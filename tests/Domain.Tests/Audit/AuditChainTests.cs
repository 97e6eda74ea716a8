using Deploy.Engine.Domain.Audit;

namespace Deploy.Engine.Domain.Tests.Audit;

public class AuditChainTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

    private static readonly byte[] Key = System.Text.Encoding.UTF8.GetBytes("audit-key-for-tests-0123456789abcdef");

    private static AuditCheckpoint Signed(List<ChainedEntry> chain) => AuditChain.Checkpoint(Key, chain.Count, chain[^1].Hash, []);

    private static List<ChainedEntry> Chain(int n)
    {
        var entries = new List<ChainedEntry>();
        var head = AuditChain.Genesis;
        for (var i = 1; i <= n; i++)
        {
            var entry = AuditChain.Append(Key, head, new AuditFacts(i, T0.AddMinutes(i), $"user-{i % 3}", "operator", "rollout.paused",
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
        var result = AuditChain.Verify(Key, chain, Signed(chain));
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

        var result = AuditChain.Verify(Key, chain, Signed(chain));
        Assert.False(result.Valid);
        Assert.Equal(position, result.BrokenAt);
        Assert.Contains("altered", result.Reason);
    }

    [Fact]
    public void Rehashing_an_edited_entry_breaks_the_next_link()
    {
        var chain = Chain(4);
        var checkpoint = Signed(chain);
        var facts = chain[1].Facts with { Reason = "rewritten" };
        chain[1] = new ChainedEntry(facts, chain[1].PreviousHash, AuditChain.Hash(Key, chain[1].PreviousHash, facts));

        var result = AuditChain.Verify(Key, chain, checkpoint);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenAt);
        Assert.Contains("does not follow", result.Reason);
    }

    [Fact]
    public void Removing_an_entry_or_the_tail_is_detected()
    {
        var chain = Chain(4);
        var checkpoint = Signed(chain);
        var middle = chain.Where((_, i) => i != 1).ToList();
        Assert.Equal(2, AuditChain.Verify(Key, middle, checkpoint).BrokenAt);

        var truncated = chain.Take(3).ToList();
        var result = AuditChain.Verify(Key, truncated, checkpoint);
        Assert.False(result.Valid);
        Assert.Equal("the log holds 3 entries but its signed checkpoint records 4: entries were removed from the end", result.Reason);

        var remembered = AuditChain.Verify(Key, truncated, null, (4, chain[^1].Hash));
        Assert.Equal("the log holds 3 entries but its engine's last write records 4: entries were removed from the end", remembered.Reason);
    }

    [Fact]
    public void Field_boundaries_cannot_be_shifted_to_forge_the_same_hash()
    {
        var a = new AuditFacts(1, T0, "ab", "c", "x", "s", null, null, null, null, null, new Dictionary<string, string>());
        var b = a with { Principal = "a", Role = "bc" };
        Assert.NotEqual(AuditChain.Hash(Key, AuditChain.Genesis, a), AuditChain.Hash(Key, AuditChain.Genesis, b));
    }

    [Fact]
    public void A_chain_recomputed_without_the_key_does_not_verify()
    {
        var chain = Chain(3);
        var otherKey = System.Text.Encoding.UTF8.GetBytes("a-storage-writer-guessing-the-key-000000");
        var forged = new List<ChainedEntry>();
        var head = AuditChain.Genesis;
        foreach (var e in chain)
        {
            var facts = e.Facts.Sequence == 2 ? e.Facts with { Reason = "rewritten" } : e.Facts;
            var entry = AuditChain.Append(otherKey, head, facts);
            forged.Add(entry);
            head = entry.Hash;
        }

        var result = AuditChain.Verify(Key, forged, AuditChain.Checkpoint(otherKey, 3, head, []));
        Assert.False(result.Valid);
        Assert.Equal(1, result.BrokenAt);
        Assert.Contains("under the audit key", result.Reason);
    }

    [Fact]
    public void A_tail_replaced_with_a_shorter_or_different_one_or_an_edited_checkpoint_is_detected()
    {
        var chain = Chain(4);
        var checkpoint = Signed(chain);
        var replaced = Chain(3);
        replaced.Add(AuditChain.Append(Key, replaced[^1].Hash, chain[3].Facts with { Reason = "another ending" }));
        var result = AuditChain.Verify(Key, replaced, checkpoint);
        Assert.False(result.Valid);
        Assert.Equal(4, result.BrokenAt);
        Assert.Equal("entry 4 is not the one the signed checkpoint records: the tail was replaced", result.Reason);

        var edited = checkpoint with { Count = 3, Head = chain[2].Hash };
        Assert.Equal("the signed checkpoint does not verify under the audit key: it was edited in storage (or the key changed)",
            AuditChain.Verify(Key, chain.Take(3).ToList(), edited).Reason);
        Assert.Equal("the signed checkpoint does not verify under the audit key: it was edited in storage (or the key changed)",
            AuditChain.Disagreement(Key, 3, chain[2].Hash, edited));
        Assert.Null(AuditChain.Disagreement(Key, 4, chain[3].Hash, checkpoint));
        Assert.Null(AuditChain.Disagreement(Key, 5, "ahead", checkpoint));
        Assert.Equal("the log holds 3 entries but its signed checkpoint records 4: entries were removed from the end",
            AuditChain.Disagreement(Key, 3, chain[2].Hash, checkpoint));
    }

    [Fact]
    public void A_finding_kept_in_the_checkpoint_fails_verification_for_good()
    {
        var chain = Chain(2);
        var result = AuditChain.Verify(Key, chain, AuditChain.Checkpoint(Key, 2, chain[^1].Hash, ["2026-11-27 09:00:00Z: entries were removed from the end"]));
        Assert.False(result.Valid);
        Assert.Equal("2026-11-27 09:00:00Z: entries were removed from the end", result.Reason);
    }
}
