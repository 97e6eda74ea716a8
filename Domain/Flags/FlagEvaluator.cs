using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Deploy.Engine.Domain.Flags;

/// <summary>OFREP evaluation reasons (the subset the engine gives).</summary>
public enum FlagReason
{
    /// <summary>No targeting applies: the default variant for everyone.</summary>
    STATIC,

    /// <summary>A rule's labels matched the context.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707", Justification = "OFREP's reason code, written on the wire by its name")]
    TARGETING_MATCH,

    /// <summary>The targeting key's bucket chose the variant (a percentage rollout or a rule's split).</summary>
    SPLIT,

    /// <summary>The flag's kill switch is off: the off variant for everyone.</summary>
    DISABLED,

    ERROR,
}

/// <summary>
/// One targeting rule: when every label matches a context attribute of the same name (exact, case-sensitive), the
/// rule serves <see cref="Variant"/>, or splits by <see cref="Split"/> weights (which sum to 100) over the targeting key.
/// </summary>
public sealed record FlagRule(IReadOnlyDictionary<string, string> Match, string? Variant, IReadOnlyDictionary<string, int>? Split);

/// <summary>
/// A flag of one service in one environment. Boolean flags have variants <c>on</c>/<c>off</c> = true/false; a
/// multivariate flag names any variants with JSON values (strings, numbers, objects).
/// </summary>
/// <param name="Enabled">The kill switch: false serves <see cref="OffVariant"/> to everyone, whatever the targeting.</param>
/// <param name="Percentage">
/// After the rules: this percentage (0-100) of targeting keys get <see cref="RolloutVariant"/>, the rest
/// <see cref="DefaultVariant"/>. It can follow a canary's weight step by step. Null: no percentage rollout.
/// </param>
public sealed record FlagDefinition(
    string Key,
    IReadOnlyDictionary<string, JsonNode?> Variants,
    string DefaultVariant,
    string OffVariant,
    bool Enabled,
    IReadOnlyList<FlagRule> Rules,
    double? Percentage,
    string? RolloutVariant);

/// <summary>The evaluation context: the targeting key (a user, a tenant, a host) and attributes (labels) to match.</summary>
public sealed record FlagContext(string? TargetingKey, IReadOnlyDictionary<string, string> Attributes);

public sealed record FlagEvaluation(string Key, string? Variant, JsonNode? Value, FlagReason Reason, string? ErrorCode, string? ErrorDetails);

/// <summary>
/// Evaluates a flag for a context, in this order (the first that applies decides):
/// <list type="number">
/// <item>kill switch off → <c>offVariant</c>, DISABLED;</item>
/// <item>the first rule whose labels all match → its variant (TARGETING_MATCH), or its split over the key's bucket (SPLIT);</item>
/// <item>a percentage rollout → the key's bucket below <c>percentage × 100</c> gets <c>rolloutVariant</c>, others the
/// default (SPLIT); 0 % and 100 % need no key;</item>
/// <item>otherwise → <c>defaultVariant</c>, STATIC.</item>
/// </list>
/// A split or a partial percentage with no targeting key is the OFREP error TARGETING_KEY_MISSING.
/// Buckets: <c>bucket(flag, key) = first 4 bytes (big-endian) of SHA-256("{flag}/{key}") mod 10000</c>, so the same
/// key gets the same bucket in every process and release, a growing percentage only ever adds keys (a key in at 10 % is
/// in at 50 %), and different flags bucket a key independently. Worked examples (the table tests reuse them):
/// bucket("checkout", "user-1") = 39, bucket("checkout", "user-2") = 1798, bucket("checkout", "user-3") = 5072,
/// bucket("new-search", "user-1") = 8922; at 10 % (threshold 1000) user-1 is in and user-2 is not; at 20 % both are.
/// </summary>
public static class FlagEvaluator
{
    public const int Buckets = 10_000;

    public static int Bucket(string flagKey, string targetingKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(flagKey + "/" + targetingKey));
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % Buckets);
    }

    public static FlagEvaluation Evaluate(FlagDefinition flag, FlagContext context)
    {
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(context);
        if (!flag.Enabled) return Serve(flag, flag.OffVariant, FlagReason.DISABLED);

        var key = string.IsNullOrEmpty(context.TargetingKey) ? null : context.TargetingKey;
        foreach (var rule in flag.Rules)
        {
            if (!rule.Match.All(m => context.Attributes.TryGetValue(m.Key, out var v) && string.Equals(v, m.Value, StringComparison.Ordinal)))
            {
                continue;
            }

            if (rule.Variant is not null) return Serve(flag, rule.Variant, FlagReason.TARGETING_MATCH);
            if (rule.Split is { Count: > 0 } split)
            {
                if (key is null) return Missing(flag);
                var bucket = Bucket(flag.Key, key);
                var upTo = 0;
                foreach (var (variant, weight) in split.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    upTo += weight * (Buckets / 100);
                    if (bucket < upTo) return Serve(flag, variant, FlagReason.SPLIT);
                }
            }
        }

        if (flag.Percentage is { } percentage && flag.RolloutVariant is { } rolloutVariant)
        {
            var threshold = (int)Math.Round(Math.Clamp(percentage, 0, 100) * (Buckets / 100));
            if (threshold <= 0) return Serve(flag, flag.DefaultVariant, FlagReason.STATIC);
            if (threshold >= Buckets) return Serve(flag, rolloutVariant, FlagReason.STATIC);
            if (key is null) return Missing(flag);
            return Serve(flag, Bucket(flag.Key, key) < threshold ? rolloutVariant : flag.DefaultVariant, FlagReason.SPLIT);
        }

        return Serve(flag, flag.DefaultVariant, FlagReason.STATIC);
    }

    /// <summary>Empty when the definition is coherent; otherwise what is wrong, by field.</summary>
    public static IReadOnlyDictionary<string, string> Check(FlagDefinition flag)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (flag.Variants.Count is 0 or > 50) errors["variants"] = "1-50 variants";
        if (!flag.Variants.ContainsKey(flag.DefaultVariant)) errors["defaultVariant"] = "must name a variant";
        if (!flag.Variants.ContainsKey(flag.OffVariant)) errors["offVariant"] = "must name a variant";
        if (flag.Percentage is { } p && (double.IsNaN(p) || p < 0 || p > 100)) errors["percentage"] = "must be between 0 and 100";
        if (flag.Percentage is not null && (flag.RolloutVariant is null || !flag.Variants.ContainsKey(flag.RolloutVariant))) errors["rolloutVariant"] = "a percentage needs a rolloutVariant naming a variant";
        for (var i = 0; i < flag.Rules.Count; i++)
        {
            var rule = flag.Rules[i];
            if ((rule.Variant is null) == (rule.Split is null or { Count: 0 })) errors[$"rules[{i}]"] = "give a variant or a split, not both";
            else if (rule.Variant is not null && !flag.Variants.ContainsKey(rule.Variant)) errors[$"rules[{i}].variant"] = "must name a variant";
            else if (rule.Split is { Count: > 0 } split && (split.Values.Sum() != 100 || split.Values.Any(w => w < 0) || split.Keys.Any(k => !flag.Variants.ContainsKey(k))))
                errors[$"rules[{i}].split"] = "weights of existing variants, summing to 100";
        }

        return errors;
    }

    private static FlagEvaluation Serve(FlagDefinition flag, string variant, FlagReason reason) =>
        new(flag.Key, variant, flag.Variants.TryGetValue(variant, out var value) ? value?.DeepClone() : null, reason, null, null);

    private static FlagEvaluation Missing(FlagDefinition flag) =>
        new(flag.Key, null, null, FlagReason.ERROR, "TARGETING_KEY_MISSING", $"flag '{flag.Key}' splits by targeting key: give context.targetingKey");
}
