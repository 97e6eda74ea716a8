using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Provisioning;
using Deploy.Engine.Grains.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.Rollouts;

/// <summary>Views: the snapshot and the event payloads (what the API and subscribers read).</summary>
public sealed partial class RolloutGrain
{
    private string Subject => "rollout/" + Id;

    /// <summary>The hosts an event moves, named up to a bound so an event stays small on a large fleet.</summary>
    private static string HostList(IReadOnlyList<string> hosts)
    {
        const int named = 50;
        return hosts.Count <= named
            ? string.Join(',', hosts)
            : string.Join(',', hosts.Take(named)) + $",… (+{hosts.Count - named} more)";
    }

    private Dictionary<string, string> Describe() => new(StringComparer.Ordinal)
    {
        ["rollout"] = Id,
        ["release"] = S.ReleaseId ?? string.Empty,
        ["environment"] = S.Environment,
        ["service"] = S.Service,
        ["version"] = S.Version,
        ["artifact"] = S.Artifact,
        ["status"] = S.Status.ToString(),
    };

    /// <summary>
    /// The hosts a finished (or interrupted) deploy step moved to the new version, as a few events of up to
    /// <see cref="EventTypes.HostsPerEvent"/> hosts each instead of one event per host: a 10,000-host rollout appends
    /// tens of events to its history, not ten thousand. Ids are fixed by rollout, step and chunk, so publishing again
    /// after a failover records nothing twice. A failed host is published by the host itself, with its reason.
    /// </summary>
    private List<Announcement> HostOutcomes(StoredStep step, int index) =>
        HostAnnouncements(EventTypes.HostsUpdated, "updated-" + (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            step.Hosts.Where(h => S.Hosts.GetValueOrDefault(h) == HostPhase.Updated).ToList(),
            $"updated to {S.Version}", (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

    private List<Announcement> HostAnnouncements(string type, string key, IReadOnlyList<string> hosts, string what, string step) =>
        hosts.Chunk(EventTypes.HostsPerEvent).Select((chunk, i) => new Announcement(type, $"{chunk.Length} hosts {what}",
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["hosts"] = string.Join(',', chunk),
                ["count"] = chunk.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["step"] = step,
            },
            Id: $"{Id}:{key}:{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}")).ToList();

    /// <summary>The event data of an action someone took: what <see cref="Describe"/> says, plus who and with which roles.</summary>
    private Dictionary<string, string> Actor(string actor, string? role) => new(Describe(), StringComparer.Ordinal)
    {
        [AuditFields.Actor] = actor,
        [AuditFields.Role] = role ?? "unknown",
    };

    private CommandResult<RolloutSnapshot> NotFound() =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.NotFound, $"rollout '{Id}' does not exist");

    private static CommandResult<RolloutSnapshot> Refused(Transition transition) =>
        CommandResult<RolloutSnapshot>.Fail(ErrorKind.InvalidTransition, transition.Refusal!);

    private RolloutSnapshot Snapshot()
    {
        var counts = Counts;
        var deploys = S.Steps.Select((s, i) => (s, i)).Where(x => x.s.Kind == PlanStepKind.Deploy).ToList();
        var previous = S.PreviousDeployed?.Version ?? "previous";
        var perVersion = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string key, int n)
        {
            if (n > 0) perVersion[key] = perVersion.GetValueOrDefault(key) + n;
        }

        Add(S.Version, counts[TargetPhase.Updated]);
        Add(previous, counts[TargetPhase.Untouched] + counts[TargetPhase.RolledBack]);
        Add("updating", counts[TargetPhase.Updating]);
        Add("rolling back", counts[TargetPhase.RollingBack]);
        Add("failed", counts[TargetPhase.Failed]);
        Add("retired", counts[TargetPhase.Retired]);
        Add("quarantined", counts[TargetPhase.Quarantined]);

        return new RolloutSnapshot
        {
            Id = Id,
            ReleaseId = S.ReleaseId!,
            Environment = S.Environment,
            Service = S.Service,
            Version = S.Version,
            Artifact = S.Artifact,
            Status = S.Status,
            StatusReason = S.StatusReason,
            Strategy = S.Strategy,
            Batches = deploys.Select(d => d.s.Hosts.Count).ToList(),
            CurrentBatch = deploys.Count(d => d.i <= S.CurrentStep),
            Hosts = new HostCounts
            {
                Targets = S.Hosts.Count,
                Untouched = counts[TargetPhase.Untouched],
                Updating = counts[TargetPhase.Updating],
                Updated = counts[TargetPhase.Updated],
                Failed = counts[TargetPhase.Failed],
                RollingBack = counts[TargetPhase.RollingBack],
                RolledBack = counts[TargetPhase.RolledBack],
                Quarantined = counts[TargetPhase.Quarantined],
            },
            AllowedFailures = S.AllowedFailures,
            Decisions = S.Decisions.ToList(),
            CreatedAt = S.CreatedAt,
            StartedAt = S.StartedAt,
            FinishedAt = S.FinishedAt,
            QueuePosition = S.QueuePosition,
            SubmittedBy = S.SubmittedBy,
            Selector = new Dictionary<string, string>(S.Selector, StringComparer.Ordinal),
            Silo = RuntimeIdentity,
            Failures = new Dictionary<string, string>(S.Failures, StringComparer.Ordinal),
            Steps = S.Steps.Select((s, i) => new PlanStepView
            {
                Kind = s.Kind.ToString(),
                Stage = S.Stages.ElementAtOrDefault(s.Stage) ?? "all hosts",
                Description = s.Description,
                Hosts = s.Hosts.Count,
                State = i < S.CurrentStep || (i == S.CurrentStep && S.Status == RolloutStatus.Succeeded) ? "done"
                    : i == S.CurrentStep ? "running" : "pending",
            }).ToList(),
            CurrentStep = S.CurrentStep + 1,
            CurrentStage = CurrentStep is { } current ? S.Stages.ElementAtOrDefault(current.Stage) : null,
            TrafficWeight = S.TrafficWeight,
            ActiveSlot = S.ActiveSlot,
            HostsPerVersion = perVersion,
            Supersedes = S.Supersedes,
            SupersededBy = S.SupersededBy,
            Analyses = S.Analyses.ToList(),
            HeldBy = S.HeldByGate ?? (S.Status is RolloutStatus.Pending or RolloutStatus.Queued or RolloutStatus.AwaitingApproval ? S.AdmissionHold : null),
            Deadline = S.Status switch
            {
                RolloutStatus.RollingBack => S.RollbackDeadline,
                RolloutStatus.Progressing or RolloutStatus.Paused => Progress().Deadline,
                _ => null,
            },
            Quarantined = counts[TargetPhase.Quarantined] == 0
                ? []
                : S.Hosts.Where(h => h.Value == HostPhase.Quarantined).Select(h => h.Key).Order(StringComparer.Ordinal).ToList(),
        };
    }
}
