using Deploy.Engine.Domain.Audit;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Configuration;

namespace Deploy.Engine.Grains.Audit;

[GenerateSerializer]
[Alias("AuditLogState")]
public sealed class AuditLogState
{
    /// <summary>Entries recorded so far, and the hash of the last one: the head, kept apart from the entries.</summary>
    [Id(0)] public long Count { get; set; }

    [Id(1)] public string Head { get; set; } = AuditChain.Genesis;

    [Id(2)] public long SealedPages { get; set; }

    /// <summary>The open page (up to <see cref="AuditLogGrain.PageSize"/> entries).</summary>
    [Id(3)] public List<AuditEntry> Open { get; set; } = [];

    /// <summary>Source ids of the last sealed page, so a redelivery that straddles a seal is still recognised.</summary>
    [Id(4)] public List<string> PreviousPageSources { get; set; } = [];
}

/// <summary>
/// The log's signed checkpoint (<see cref="AuditCheckpoint"/>), stored in the table store, apart from the entries'
/// blobs: a storage writer who edits or truncates the entries cannot make the checkpoint agree without the audit key.
/// </summary>
[GenerateSerializer]
[Alias("AuditCheckpointState")]
public sealed class AuditCheckpointState
{
    [Id(0)] public long Count { get; set; }

    [Id(1)] public string Head { get; set; } = AuditChain.Genesis;

    [Id(2)] public List<string> Findings { get; set; } = [];

    [Id(3)] public string Mac { get; set; } = string.Empty;
}

/// <summary>
/// The audit trail: append-only and chained with HMAC-SHA256 under the audit key (<see cref="AuditChain"/>,
/// <see cref="AuditKey"/>), which is configuration, never storage. Appends are serialised by the single
/// activation, so the chain has one order; an entry is acknowledged only once stored. Full pages are sealed into page
/// grains, so an append writes one open page however long the trail grows. The head (count and last hash) is stored
/// with the open page, apart from the sealed pages, and again in a signed checkpoint in the table store (written after
/// every append) and in this silo's memory (<see cref="AuditWriteMemory"/>), so verification also catches a page
/// removed, a tail cut short or replaced. When a loaded log disagrees with its checkpoint, the finding is written into the checkpoint (signed) and
/// verification reports it from then on, whatever is appended later.
/// Actions arrive at a person's pace (approvals, pauses, rollbacks), not a fleet's: one activation is enough.
/// Queries scan the pages in order (fine for the tens of thousands of entries a year of actions makes; an index would
/// be the next step beyond that).
/// </summary>
public sealed class AuditLogGrain(
    [PersistentState("audit", Stores.Blob)] IPersistentState<AuditLogState> state,
    [PersistentState("audit-head", Stores.Table)] IPersistentState<AuditCheckpointState> checkpoint,
    AuditKey key,
    AuditWriteMemory written,
    IOptions<ClusterOptions> cluster,
    TimeProvider clock) : Grain, IAuditLogGrain
{
    public const int PageSize = 256;

    private HashSet<string>? _recent;

    private bool _checked;

    private AuditLogState S => state.State;

    private AuditCheckpointState C => checkpoint.State;

    private AuditCheckpoint? Checkpoint => checkpoint.RecordExists || C.Mac.Length > 0 ? new(C.Count, C.Head, C.Findings, C.Mac) : null;

    public async Task Record(EngineEvent action)
    {
        await CompareWithCheckpoint();
        _recent ??= S.Open.Select(e => e.SourceId).Concat(S.PreviousPageSources).ToHashSet(StringComparer.Ordinal);
        if (_recent.Contains(action.Id))
        {
            // Stored before; the checkpoint write that followed may have failed.
            if (C.Count != S.Count) await WriteCheckpoint();
            return;
        }

        if (S.Open.Count == PageSize)
        {
            // Seal first: if sealing fails the action is retried and the open page is intact.
            await GrainFactory.Ref<IAuditPageGrain>(GrainKeys.AuditPage(S.SealedPages)).Seal(S.Open);
            S.PreviousPageSources = S.Open.Select(e => e.SourceId).ToList();
            S.SealedPages++;
            S.Open = [];
            _recent = S.PreviousPageSources.ToHashSet(StringComparer.Ordinal);
        }

        var data = action.Data;
        var facts = new AuditFacts(
            S.Count + 1,
            action.Timestamp == default ? clock.GetUtcNow() : action.Timestamp,
            data.GetValueOrDefault(AuditFields.Actor) ?? "engine",
            data.GetValueOrDefault(AuditFields.Role) ?? "engine",
            action.Type,
            action.Subject,
            Blank(data.GetValueOrDefault("release")),
            Blank(data.GetValueOrDefault("environment")),
            Blank(data.GetValueOrDefault("artifact")),
            Blank(data.GetValueOrDefault("commit")),
            action.Reason,
            data.Where(d => d.Key is not (AuditFields.Actor or AuditFields.Role or "release" or "environment" or "artifact" or "commit"))
                .ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal));
        var chained = AuditChain.Append(key.Bytes, S.Head, facts);
        S.Open.Add(ToEntry(chained, action.Id));
        S.Count = facts.Sequence;
        S.Head = chained.Hash;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Not stored: forget it here too, so the retry appends it with the same position.
            S.Open.RemoveAt(S.Open.Count - 1);
            S.Count--;
            S.Head = chained.PreviousHash;
            throw;
        }

        _recent.Add(action.Id);
        written.Wrote(cluster.Value.ServiceId, S.Count, S.Head);
        await WriteCheckpoint();
    }

    private async Task WriteCheckpoint()
    {
        var signed = AuditChain.Checkpoint(key.Bytes, S.Count, S.Head, C.Findings);
        (C.Count, C.Head, C.Mac) = (signed.Count, signed.Head, signed.Mac);
        await checkpoint.WriteStateAsync();
    }

    /// <summary>Once per activation: the loaded log against its signed checkpoint; a disagreement is kept as a finding.</summary>
    private async Task CompareWithCheckpoint()
    {
        if (_checked) return;
        var reason = Checkpoint is { } signed
            ? AuditChain.Disagreement(key.Bytes, S.Count, S.Head, signed)
            : S.Count > 0 ? $"the signed checkpoint is missing while the log holds {S.Count} entries: it was deleted in storage" : null;
        if (reason is not null)
        {
            C.Findings = [.. C.Findings, $"{clock.GetUtcNow():u}: {reason}"];
            await WriteCheckpoint();
        }

        _checked = true;
    }

    [ReadOnly]
    public async Task<Page<AuditEntry>> Query(AuditQuery query)
    {
        var items = new List<AuditEntry>();
        var matched = 0;
        await foreach (var entry in Entries(firstPage: Math.Max(0, query.After) / PageSize))
        {
            if (entry.Sequence <= query.After || !Matches(entry, query))
            {
                continue;
            }

            matched++;
            if (items.Count < query.Limit)
            {
                items.Add(entry);
            }
        }

        return new Page<AuditEntry>
        {
            Items = items,
            Total = (int)Math.Min(matched, int.MaxValue),
            Offset = (int)Math.Min(query.After, int.MaxValue),
            Limit = query.Limit,
        };
    }

    public async Task<AuditVerification> Verify()
    {
        await CompareWithCheckpoint();
        var entries = new List<ChainedEntry>();
        await foreach (var entry in Entries(firstPage: 0))
        {
            entries.Add(new ChainedEntry(ToFacts(entry), entry.PreviousHash, entry.Hash));
        }

        var result = AuditChain.Verify(key.Bytes, entries, Checkpoint,
            written.Last(cluster.Value.ServiceId));
        return new AuditVerification
        {
            Valid = result.Valid, Entries = result.Entries, BrokenAt = result.BrokenAt, Reason = result.Reason, HeadHash = S.Head, Keyed = key.Keyed,
        };
    }

    private async IAsyncEnumerable<AuditEntry> Entries(long firstPage)
    {
        for (var page = firstPage; page < S.SealedPages; page++)
        {
            foreach (var entry in await GrainFactory.Ref<IAuditPageGrain>(GrainKeys.AuditPage(page)).Read())
            {
                yield return entry;
            }
        }

        foreach (var entry in S.Open.ToList())
        {
            yield return entry;
        }
    }

    private static bool Matches(AuditEntry e, AuditQuery q) =>
        (q.Release is null || string.Equals(e.Release, q.Release, StringComparison.Ordinal))
        && (q.Environment is null || string.Equals(e.Environment, q.Environment, StringComparison.Ordinal))
        && (q.Principal is null || string.Equals(e.Principal, q.Principal, StringComparison.Ordinal))
        && (q.From is null || e.At >= q.From)
        && (q.To is null || e.At < q.To);

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static AuditEntry ToEntry(ChainedEntry chained, string sourceId) => new()
    {
        Sequence = chained.Facts.Sequence,
        At = chained.Facts.At,
        Principal = chained.Facts.Principal,
        Role = chained.Facts.Role,
        Action = chained.Facts.Action,
        Subject = chained.Facts.Subject,
        Release = chained.Facts.Release,
        Environment = chained.Facts.Environment,
        Artifact = chained.Facts.Artifact,
        Commit = chained.Facts.Commit,
        Reason = chained.Facts.Reason,
        Data = new Dictionary<string, string>(chained.Facts.Data, StringComparer.Ordinal),
        PreviousHash = chained.PreviousHash,
        Hash = chained.Hash,
        SourceId = sourceId,
    };

    private static AuditFacts ToFacts(AuditEntry e) =>
        new(e.Sequence, e.At, e.Principal, e.Role, e.Action, e.Subject, e.Release, e.Environment, e.Artifact, e.Commit, e.Reason, e.Data);
}

[GenerateSerializer]
[Alias("AuditPageState")]
public sealed class AuditPageState
{
    [Id(0)] public List<AuditEntry> Entries { get; set; } = [];
}

/// <summary>One sealed page of the audit trail; written once (a second seal of the same page changes nothing).</summary>
public sealed class AuditPageGrain(
    [PersistentState("audit-page", Stores.Blob)] IPersistentState<AuditPageState> state) : Grain, IAuditPageGrain
{
    public async Task Seal(IReadOnlyList<AuditEntry> entries)
    {
        if (state.State.Entries.Count > 0)
        {
            return;
        }

        state.State.Entries = entries.ToList();
        await state.WriteStateAsync();
    }

    [ReadOnly]
    public Task<IReadOnlyList<AuditEntry>> Read() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Entries);
}
