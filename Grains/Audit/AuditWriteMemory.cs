using System.Collections.Concurrent;

namespace Deploy.Engine.Grains.Audit;

/// <summary>
/// The count and head of the audit log this silo last wrote, per service id: it survives the log's deactivation, not
/// a restart. Verification checks the stored log still holds that entry (a rollback of both the entries and the
/// checkpoint while the engine runs). One per silo, not one per process: two clusters in one process (tests, the
/// bench) with the same service id must not read each other's writes as a replaced tail. A memory older than the
/// log (the log moved to another silo and grew there) is still a prefix of a genuine chain, so it never misleads.
/// </summary>
public sealed class AuditWriteMemory
{
    private readonly ConcurrentDictionary<string, (long Count, string Head)> _last = new(StringComparer.Ordinal);

    public void Wrote(string serviceId, long count, string head) => _last[serviceId] = (count, head);

    public (long Count, string Head)? Last(string serviceId) => _last.TryGetValue(serviceId, out var last) ? last : null;
}
