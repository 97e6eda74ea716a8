using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Deploy.Engine.Domain.Audit;

/// <summary>What one audit entry says: who, what, about which release, when, and why.</summary>
public sealed record AuditFacts(
    long Sequence,
    DateTimeOffset At,
    string Principal,
    string Role,
    string Action,
    string Subject,
    string? Release,
    string? Environment,
    string? Artifact,
    string? Commit,
    string? Reason,
    IReadOnlyDictionary<string, string> Data);

/// <summary>An entry as stored: its facts, the hash of the entry before it, and its own hash.</summary>
public sealed record ChainedEntry(AuditFacts Facts, string PreviousHash, string Hash);

/// <summary>The result of checking a chain: valid, or the first entry that does not hold and why.</summary>
public sealed record ChainVerification(bool Valid, long Entries, long? BrokenAt, string? Reason, string? HeadHash);

/// <summary>
/// A hash chain over audit entries: <c>hash(n) = SHA-256(hash(n-1) ‖ canonical(facts(n)))</c>, with <c>hash(0)</c> the
/// genesis value of 64 zeros. The canonical form is every field in a fixed order, each as its UTF-8 byte length in decimal,
/// ':' and the bytes, then ';' — so no choice of field contents can make two different entries encode alike. Data entries
/// are ordered by key (ordinal). Editing any field, deleting, inserting or reordering entries changes a hash that a later
/// entry (or the head kept apart from the entries) commits to, which <see cref="Verify"/> reports with the first broken position.
/// </summary>
public static class AuditChain
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static string Hash(string previousHash, AuditFacts facts)
    {
        var text = new StringBuilder(256);
        void Field(string? value)
        {
            value ??= string.Empty;
            text.Append(Encoding.UTF8.GetByteCount(value).ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append(';');
        }

        Field(previousHash);
        Field(facts.Sequence.ToString(CultureInfo.InvariantCulture));
        Field(facts.At.UtcTicks.ToString(CultureInfo.InvariantCulture));
        Field(facts.Principal);
        Field(facts.Role);
        Field(facts.Action);
        Field(facts.Subject);
        Field(facts.Release);
        Field(facts.Environment);
        Field(facts.Artifact);
        Field(facts.Commit);
        Field(facts.Reason);
        Field(facts.Data.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var (key, value) in facts.Data.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            Field(key);
            Field(value);
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).ToLowerInvariant();
    }

    /// <summary>Appends to a chain whose last hash is <paramref name="head"/>.</summary>
    public static ChainedEntry Append(string head, AuditFacts facts) => new(facts, head, Hash(head, facts));

    /// <summary>
    /// Checks entries in order against the genesis value and, when given, the head hash kept apart from the entries
    /// (which catches a truncated tail). Sequences must run 1, 2, 3, … without gaps.
    /// </summary>
    public static ChainVerification Verify(IEnumerable<ChainedEntry> entries, string? expectedHead = null, long? expectedCount = null)
    {
        var previous = Genesis;
        long count = 0;
        foreach (var entry in entries)
        {
            count++;
            if (entry.Facts.Sequence != count)
            {
                return new(false, count - 1, count, $"entry {count} has sequence {entry.Facts.Sequence}: an entry was removed or inserted", previous);
            }

            if (!string.Equals(entry.PreviousHash, previous, StringComparison.Ordinal))
            {
                return new(false, count - 1, count, $"entry {count} does not follow entry {count - 1}: its previous hash is not the hash of entry {count - 1}", previous);
            }

            var recomputed = Hash(previous, entry.Facts);
            if (!string.Equals(recomputed, entry.Hash, StringComparison.Ordinal))
            {
                return new(false, count - 1, count, $"entry {count} was altered: its contents no longer hash to its stored hash", previous);
            }

            previous = entry.Hash;
        }

        if (expectedCount is { } n && n != count)
        {
            return new(false, count, count + 1, $"the log holds {count} entries but its head records {n}: entries were removed from the end", previous);
        }

        if (expectedHead is not null && !string.Equals(expectedHead, previous, StringComparison.Ordinal))
        {
            return new(false, count, count, "the last entry's hash is not the head the log recorded: the tail was altered", previous);
        }

        return new(true, count, null, null, previous);
    }
}
