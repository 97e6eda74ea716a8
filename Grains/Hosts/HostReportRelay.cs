using System.Collections.Concurrent;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Grains.Hosts;

/// <summary>
/// Carries hosts' answers to their rollouts, many per call. Every host of a rollout answers the same single activation;
/// one call per answer made that activation the bottleneck of a large rollout (100,000 turns, each a reconcile, for a
/// 100,000-host rollback). One per silo: a host hands its answer over and goes on; per rollout, one delivery is in
/// flight at a time, and the answers that arrive meanwhile go together in the next (so the batch grows exactly as
/// much as the rollout falls behind, and an idle rollout hears each answer at once). Answers of one host reach its
/// rollout in the order the host gave them.
/// A delivery that fails is dropped, as a lost one-way call was before: the hosts stored their outcomes, and the
/// rollout's reminder sends the commands of hosts it has not heard from again, which answer again from storage.
/// </summary>
public sealed partial class HostReportRelay(IGrainFactory grains, ILogger<HostReportRelay> logger)
{
    private readonly ConcurrentDictionary<string, Outbox> _outboxes = new(StringComparer.Ordinal);

    /// <summary>Queues <paramref name="status"/> for rollout <paramref name="rolloutId"/>; never waits.</summary>
    public void Send(string rolloutId, HostCommandStatus status)
    {
        while (true)
        {
            var outbox = _outboxes.GetOrAdd(rolloutId, static _ => new Outbox());
            lock (outbox)
            {
                if (outbox.Retired)
                {
                    // Its delivery loop just ended and removed it: use a new one.
                    continue;
                }

                outbox.Pending.Add(status);
                if (!outbox.Delivering)
                {
                    outbox.Delivering = true;
                    _ = Task.Run(() => Deliver(rolloutId, outbox));
                }

                return;
            }
        }
    }

    private async Task Deliver(string rolloutId, Outbox outbox)
    {
        while (true)
        {
            List<HostCommandStatus> batch;
            lock (outbox)
            {
                if (outbox.Pending.Count == 0)
                {
                    outbox.Delivering = false;
                    outbox.Retired = true;
                    _outboxes.TryRemove(new KeyValuePair<string, Outbox>(rolloutId, outbox));
                    return;
                }

                batch = outbox.Pending;
                outbox.Pending = [];
            }

            try
            {
                // Awaited, not one-way: while the rollout works through this batch, the next one gathers.
                await grains.Ref<IRolloutGrain>(rolloutId).OnHostsReported(batch);
            }
            catch (Exception ex)
            {
                LogDropped(logger, batch.Count, rolloutId, ex);
            }
        }
    }

    private sealed class Outbox
    {
        public List<HostCommandStatus> Pending { get; set; } = [];

        public bool Delivering { get; set; }

        public bool Retired { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} host answers to rollout {RolloutId} were not delivered; its reminder asks those hosts again")]
    private static partial void LogDropped(ILogger logger, int count, string rolloutId, Exception exception);
}
