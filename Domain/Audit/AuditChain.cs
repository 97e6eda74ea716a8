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
/// The head of the log kept apart from its entries: how many entries there are, the last one's hash, anything found
/// wrong before, and a MAC over all three under the audit key, so storage can neither edit it nor make one up.
/// </summary>
public sealed record AuditCheckpoint(long Count, string Head, IReadOnlyList<string> Findings, string Mac);

/// <summary>
/// A keyed hash chain over audit entries: <c>hash(n) = HMAC-SHA256(key, hash(n-1) ‖ canonical(facts(n)))</c>, with
/// <c>hash(0)</c> the genesis value of 64 zeros. The key lives outside the storage account (configuration), so whoever
/// can write storage cannot recompute the chain after an edit. The canonical form is every field in a fixed order, each as its UTF-8 byte length in decimal,
/// ':' and the bytes, then ';' — so no choice of field contents can make two different entries encode alike. Data entries
/// are ordered by key (ordinal). Editing any field, deleting, inserting or reordering entries changes a hash that a later
/// entry (or the head kept apart from the entries) commits to, which <see cref="Verify"/> reports with the first broken position.
/// </summary>
public static class AuditChain
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static string Hash(byte[] key, string previousHash, AuditFacts facts)
    {
        ArgumentNullException.ThrowIfNull(key);
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
        foreach (var (name, value) in facts.Data.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            Field(name);
            Field(value);
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Appends to a chain whose last hash is <paramref name="head"/>.</summary>
    public static ChainedEntry Append(byte[] key, string head, AuditFacts facts) => new(facts, head, Hash(key, head, facts));

    /// <summary>A checkpoint of <paramref name="count"/> entries ending in <paramref name="head"/>, signed with the key.</summary>
    public static AuditCheckpoint Checkpoint(byte[] key, long count, string head, IReadOnlyList<string> findings) =>
        new(count, head, findings, CheckpointMac(key, count, head, findings));

    private static string CheckpointMac(byte[] key, long count, string head, IReadOnlyList<string> findings)
    {
        var text = new StringBuilder("audit-checkpoint;");
        foreach (var field in new[] { count.ToString(CultureInfo.InvariantCulture), head }.Concat(findings))
        {
            text.Append(Encoding.UTF8.GetByteCount(field).ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append(';');
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// What a stored log says against its checkpoint when the log is loaded: null when they agree (or the log is ahead
    /// by entries the checkpoint has not caught up with yet), otherwise why they do not.
    /// </summary>
    public static string? Disagreement(byte[] key, long count, string head, AuditCheckpoint? checkpoint)
    {
        if (checkpoint is null) return null;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(checkpoint.Mac),
                Encoding.ASCII.GetBytes(CheckpointMac(key, checkpoint.Count, checkpoint.Head, checkpoint.Findings))))
            return "the signed checkpoint does not verify under the audit key: it was edited in storage (or the key changed)";
        if (count < checkpoint.Count)
            return $"the log holds {count} entries but its signed checkpoint records {checkpoint.Count}: entries were removed from the end";
        if (count == checkpoint.Count && !string.Equals(head, checkpoint.Head, StringComparison.Ordinal))
            return $"the log's last entry ({count}) is not the one its signed checkpoint records: the tail was replaced";
        return null;
    }

    /// <summary>
    /// Checks entries in order against the genesis value under <paramref name="key"/>, then the tail against the signed
    /// <paramref name="checkpoint"/> kept apart from the entries (its entry count and last hash: a truncated or replaced
    /// tail; anything found wrong before) and against <paramref name="remembered"/>, the count and head this process
    /// last wrote (a rollback of both stores while the engine runs). Sequences must run 1, 2, 3, … without gaps. The
    /// log may be ahead of its checkpoint (an append whose checkpoint write failed): those entries are still chained.
    /// </summary>
    public static ChainVerification Verify(byte[] key, IEnumerable<ChainedEntry> entries, AuditCheckpoint? checkpoint = null, (long Count, string Head)? remembered = null)
    {
        var previous = Genesis;
        long count = 0;
        var hashes = new Dictionary<long, string>();
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

            var recomputed = Hash(key, previous, entry.Facts);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(recomputed), Encoding.ASCII.GetBytes(entry.Hash)))
            {
                return new(false, count - 1, count, $"entry {count} was altered: its contents no longer hash to its stored hash under the audit key", previous);
            }

            if (checkpoint?.Count == count || remembered?.Count == count) hashes[count] = entry.Hash;
            previous = entry.Hash;
        }

        if (checkpoint is not null && Disagreement(key, count, previous, checkpoint) is { } bad && bad.StartsWith("the signed checkpoint does not verify", StringComparison.Ordinal))
        {
            return new(false, count, null, bad, previous);
        }

        // What an earlier load found (a log behind its checkpoint) stays reported, whatever was appended since.
        if (checkpoint is { Findings.Count: > 0 })
        {
            return new(false, count, null, string.Join("; ", checkpoint.Findings), previous);
        }

        foreach (var (anchor, what) in new[] { (checkpoint is null ? null : ((long, string)?)(checkpoint.Count, checkpoint.Head), "signed checkpoint"), (remembered, "engine's last write") })
        {
            if (anchor is not { } a) continue;
            if (count < a.Item1)
            {
                return new(false, count, count + 1, $"the log holds {count} entries but its {what} records {a.Item1}: entries were removed from the end", previous);
            }

            if (a.Item1 > 0 && !string.Equals(hashes.GetValueOrDefault(a.Item1), a.Item2, StringComparison.Ordinal))
            {
                return new(false, count, a.Item1, $"entry {a.Item1} is not the one the {what} records: the tail was replaced", previous);
            }
        }

        return new(true, count, null, null, previous);
    }
}
