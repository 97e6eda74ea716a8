using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Delivery;

/// <summary>
/// Feeds the DORA ledger from engine events: every rollout that ends Succeeded, RolledBack or Failed (the rollout
/// streams' pipelinerun.finished, whose data names the service, release, environment and status), and every incident
/// declared or resolved. It reads the rollout (when it started) and the release (its commit time) once per finished
/// rollout; the ledger ignores a record it already holds, so a redelivered event changes nothing. Gate results a
/// pipeline records (release.gate-recorded) go to the release's service's ledger for the gates' flakiness.
/// </summary>
public sealed class DeliveryFollower : IEventFollower
{
    private static readonly string RolloutPrefix = GrainKeys.RolloutEvents(string.Empty);

    public Task Follow(string streamKey, EngineEvent item, IGrainFactory grains)
    {
        if (item.Type == EventTypes.PipelineRunFinished && streamKey.StartsWith(RolloutPrefix, StringComparison.Ordinal))
        {
            return FollowRollout(streamKey[RolloutPrefix.Length..], item, grains);
        }

        if (item.Type == EventTypes.GateRecorded && item.Data.GetValueOrDefault("release") is { Length: > 0 } release)
        {
            return FollowGate(release, item, grains);
        }

        if (streamKey == GrainKeys.IncidentEvents && item.Type is EventTypes.IncidentDeclared or EventTypes.IncidentResolved
            && item.Data.TryGetValue("incident", out var incident))
        {
            return FollowIncident(incident, item, grains);
        }

        return Task.CompletedTask;
    }

    private static async Task FollowRollout(string rolloutId, EngineEvent item, IGrainFactory grains)
    {
        DeploymentOutcome? outcome = item.Data.GetValueOrDefault("status") switch
        {
            "Succeeded" => DeploymentOutcome.Succeeded,
            "RolledBack" => DeploymentOutcome.RolledBack,
            "Failed" => DeploymentOutcome.Failed,
            _ => null, // Aborted: an operator's or a policy's stop, not a deployment (docs/dora.md)
        };
        if (outcome is null || item.Data.GetValueOrDefault("service") is not { Length: > 0 } service
            || item.Data.GetValueOrDefault("release") is not { Length: > 0 } releaseId
            || GrainKeys.IsDrillRelease(releaseId)) // a rollback drill rehearses; it deploys no change (docs/rollouts.md)
        {
            return;
        }

        var rollout = await grains.Ref<IRolloutGrain>(rolloutId).Get();
        var release = await grains.Ref<IReleaseGrain>(releaseId).Get();
        await grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(service)).RecordDeployment(new DeliveryDeployment
        {
            RolloutId = rolloutId,
            ReleaseId = releaseId,
            Service = service,
            Environment = item.Data.GetValueOrDefault("environment", string.Empty),
            Outcome = outcome.Value,
            StartedAt = rollout?.StartedAt,
            FinishedAt = item.Timestamp,
            SucceededAt = outcome == DeploymentOutcome.Succeeded ? item.Timestamp : null,
            CommitTime = release?.CommitTime,
            ReleaseCreatedAt = release?.CreatedAt ?? item.Timestamp,
            CreatedAt = rollout?.CreatedAt ?? item.Timestamp,
            // The stages of lead time: up to the success, also in the record a rollback after success writes again.
            Waits = rollout is null ? new Dictionary<WaitKind, double>() : RolloutTiming.UntilDeployed(DeliveryTimings.Timed(rollout.Decisions), item.Timestamp).ByKind,
        });
    }

    private static async Task FollowGate(string releaseId, EngineEvent item, IGrainFactory grains)
    {
        if (await grains.Ref<IReleaseGrain>(releaseId).Get() is not { } release
            || item.Data.GetValueOrDefault("gate") is not { Length: > 0 } gate
            || item.Data.GetValueOrDefault("status") is not { } status || status is not ("passed" or "failed"))
        {
            return;
        }

        await grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(release.Service)).RecordGateRun(new DeliveryGateRun
        {
            EventId = item.Id,
            ReleaseId = releaseId,
            Environment = item.Data.GetValueOrDefault("environment", string.Empty),
            Gate = gate,
            Passed = status == "passed",
            At = item.Timestamp,
        });
    }

    private static async Task FollowIncident(string id, EngineEvent item, IGrainFactory grains)
    {
        var record = await grains.Ref<IIncidentsGrain>(GrainKeys.Incidents).Get(id);
        var declared = item.Type == EventTypes.IncidentDeclared;
        await grains.Ref<IDeliveryLedgerGrain>(GrainKeys.IncidentLedger).RecordIncident(new DeliveryIncident
        {
            Id = id,
            Service = item.Data.GetValueOrDefault("service"),
            Environment = item.Data.GetValueOrDefault("environment"),
            // Only a release the declarer named is held against (docs/dora.md); one the engine found active is context.
            ReleaseId = item.Data.GetValueOrDefault("releaseLink") is null or "named" ? item.Data.GetValueOrDefault("release") : null,
            DeclaredAt = declared ? item.Timestamp : record?.DeclaredAt ?? item.Timestamp,
            ResolvedAt = declared ? null : item.Timestamp,
        });
    }
}
