using System.Text.Json.Nodes;
using Deploy.Engine.Domain.Flags;

namespace Deploy.Engine.Domain.Tests.Flags;

public class FlagEvaluatorTests
{
    private static readonly Dictionary<string, JsonNode?> Boolean = new() { ["on"] = true, ["off"] = false };

    private static FlagDefinition Flag(
        string key = "checkout", bool enabled = true, double? percentage = null, IReadOnlyList<FlagRule>? rules = null, IReadOnlyDictionary<string, JsonNode?>? variants = null) =>
        new(key, variants ?? Boolean, "off", "off", enabled, rules ?? [], percentage, percentage is null ? null : "on");

    private static FlagContext Context(string? key, params (string, string)[] attributes) => new(key, attributes.ToDictionary(a => a.Item1, a => a.Item2));

    /// <summary>The worked examples of <see cref="FlagEvaluator"/>.</summary>
    [Theory]
    [InlineData("checkout", "user-1", 39)]
    [InlineData("checkout", "user-2", 1798)]
    [InlineData("checkout", "user-3", 5072)]
    [InlineData("new-search", "user-1", 8922)] // another flag buckets the same key elsewhere
    public void Buckets_are_stable_hashes(string flag, string key, int bucket) => Assert.Equal(bucket, FlagEvaluator.Bucket(flag, key));

    [Theory]
    [InlineData(10, "user-1", "on")]
    [InlineData(10, "user-2", "off")]
    [InlineData(20, "user-2", "on")] // growing the percentage only adds keys
    [InlineData(50, "user-3", "off")]
    [InlineData(51, "user-3", "on")]
    [InlineData(0, "user-1", "off")]
    [InlineData(100, "user-3", "on")]
    public void A_percentage_serves_the_rollout_variant_to_keys_below_the_threshold(double percentage, string key, string variant)
    {
        var result = FlagEvaluator.Evaluate(Flag(percentage: percentage), Context(key));
        Assert.Equal(variant, result.Variant);
        Assert.Equal(percentage is 0 or 100 ? FlagReason.STATIC : FlagReason.SPLIT, result.Reason);
        Assert.Equal(variant == "on", result.Value!.GetValue<bool>());
    }

    [Fact]
    public void About_the_percentage_asked_for_gets_the_variant()
    {
        var on = Enumerable.Range(0, 20_000).Count(i => FlagEvaluator.Evaluate(Flag(percentage: 25), Context($"u{i}")).Variant == "on");
        Assert.InRange(on / 20_000.0, 0.235, 0.265);
    }

    [Fact]
    public void The_kill_switch_wins_over_everything()
    {
        var rules = new[] { new FlagRule(new Dictionary<string, string> { ["tier"] = "beta" }, "on", null) };
        var result = FlagEvaluator.Evaluate(Flag(enabled: false, percentage: 100, rules: rules), Context("user-1", ("tier", "beta")));
        Assert.Equal(("off", FlagReason.DISABLED), (result.Variant, result.Reason));
        Assert.False(result.Value!.GetValue<bool>());
    }

    [Theory]
    [InlineData("beta", "eu", "on", FlagReason.TARGETING_MATCH)] // both labels match
    [InlineData("beta", "us", "off", FlagReason.STATIC)] // one label differs: no match, no percentage
    [InlineData("Beta", "eu", "off", FlagReason.STATIC)] // exact, case-sensitive
    public void A_rule_matches_when_every_label_matches(string tier, string region, string variant, FlagReason reason)
    {
        var rules = new[] { new FlagRule(new Dictionary<string, string> { ["tier"] = "beta", ["region"] = "eu" }, "on", null) };
        var result = FlagEvaluator.Evaluate(Flag(rules: rules), Context(null, ("tier", tier), ("region", region)));
        Assert.Equal((variant, reason), (result.Variant, result.Reason));
    }

    [Fact]
    public void Multivariate_splits_follow_the_bucket_and_rules_go_in_order()
    {
        var variants = new Dictionary<string, JsonNode?> { ["blue"] = "#00f", ["green"] = "#0f0", ["red"] = "#f00" };
        var rules = new[]
        {
            new FlagRule(new Dictionary<string, string> { ["vip"] = "true" }, "red", null),
            new FlagRule(new Dictionary<string, string>(), null, new Dictionary<string, int> { ["blue"] = 20, ["green"] = 80 }),
        };
        var flag = new FlagDefinition("checkout", variants, "blue", "blue", true, rules, null, null);
        Assert.Equal("red", FlagEvaluator.Evaluate(flag, Context("user-3", ("vip", "true"))).Variant); // first rule
        Assert.Equal(("blue", FlagReason.SPLIT), Pick(FlagEvaluator.Evaluate(flag, Context("user-2")))); // bucket 1798 < 2000
        Assert.Equal(("green", FlagReason.SPLIT), Pick(FlagEvaluator.Evaluate(flag, Context("user-3")))); // bucket 5072
        Assert.Equal("#0f0", FlagEvaluator.Evaluate(flag, Context("user-3")).Value!.GetValue<string>());
    }

    [Fact]
    public void A_split_without_a_targeting_key_is_targeting_key_missing()
    {
        var result = FlagEvaluator.Evaluate(Flag(percentage: 30), Context(null));
        Assert.Equal((FlagReason.ERROR, "TARGETING_KEY_MISSING"), (result.Reason, result.ErrorCode));
        Assert.Equal("off", FlagEvaluator.Evaluate(Flag(percentage: 0), Context(null)).Variant); // 0 % needs no key
    }

    [Fact]
    public void Incoherent_definitions_are_named_by_field()
    {
        var bad = new FlagDefinition("x", Boolean, "maybe", "off", true,
            [new FlagRule(new Dictionary<string, string>(), "on", new Dictionary<string, int> { ["on"] = 100 }), new FlagRule(new Dictionary<string, string>(), null, new Dictionary<string, int> { ["on"] = 60, ["off"] = 30 })],
            120, null);
        var errors = FlagEvaluator.Check(bad);
        Assert.Equal(["defaultVariant", "percentage", "rolloutVariant", "rules[0]", "rules[1].split"], errors.Keys.Order());
        Assert.Empty(FlagEvaluator.Check(Flag(percentage: 10)));
    }

    private static (string?, FlagReason) Pick(FlagEvaluation e) => (e.Variant, e.Reason);
}
