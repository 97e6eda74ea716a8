using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Telemetry;

/// <summary>
/// The engine's own ActivitySource and Meter, both named <see cref="Name"/>. Spans carry the attributes
/// <see cref="ReleaseTag"/>, <see cref="RolloutTag"/>, <see cref="EnvironmentTag"/>, <see cref="ServiceTag"/>; deployment
/// markers (rollout started, step, finished, rolled back) are span events on the span that caused them, so a monitoring
/// system can overlay them on its charts. With no listener (tracing off) none of this allocates.
/// </summary>
public static class EngineTelemetry
{
    public const string Name = "Deploy.Engine";

    public const string ReleaseTag = "deploy.release";
    public const string RolloutTag = "deploy.rollout";
    public const string EnvironmentTag = "deploy.environment";
    public const string ServiceTag = "deploy.service";

    /// <summary>Span event names of the deployment markers.</summary>
    public const string RolloutStartedMarker = "deploy.rollout.started";
    public const string RolloutStepMarker = "deploy.rollout.step";
    public const string RolloutFinishedMarker = "deploy.rollout.finished";
    public const string RollbackDecidedMarker = "deploy.rollout.rollback_decided";
    public const string RolledBackMarker = "deploy.rollout.rolled_back";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Rollouts by <c>status</c>: <c>Started</c> when one starts deploying, then its terminal status (Succeeded, RolledBack, Aborted, Failed).</summary>
    public static readonly Counter<long> Rollouts = Meter.CreateCounter<long>("deploy_engine.rollouts", "{rollout}", "Rollouts started, and finished by terminal status");

    /// <summary>Host transitions by <c>to</c>: updated (moved to the new version), reverted (returned by a rollback), failed.</summary>
    public static readonly Counter<long> HostTransitions = Meter.CreateCounter<long>("deploy_engine.host.transitions", "{host}", "Host transitions made by rollouts");

    /// <summary>Time one reconcile of a rollout takes: read the evidence, decide, persist, act.</summary>
    public static readonly Histogram<double> DecisionDuration = Meter.CreateHistogram<double>("deploy_engine.decision.duration", "s", "Time a rollout takes to reach and apply one decision");

    /// <summary>From the rollback decision to every host back on its previous version (the rollout RolledBack).</summary>
    public static readonly Histogram<double> TimeToSafe = Meter.CreateHistogram<double>("deploy_engine.rollback.time_to_safe", "s", "Rollback decision to rolled back");

    /// <summary>Canary analysis verdicts by <c>verdict</c> (Pass, Fail, Inconclusive...).</summary>
    public static readonly Counter<long> AnalysisVerdicts = Meter.CreateCounter<long>("deploy_engine.analysis.verdicts", "{verdict}", "Canary analysis verdicts");

    /// <summary>Webhook deliveries by <c>outcome</c> (delivered, failed round, dead-lettered).</summary>
    public static readonly Counter<long> WebhookDeliveries = Meter.CreateCounter<long>("deploy_engine.webhook.deliveries", "{delivery}", "Webhook delivery rounds by outcome");

    private static readonly ConcurrentDictionary<string, int> QueueDepths = new(StringComparer.Ordinal);

    /// <summary>Rollouts waiting for a slot, per environment active on this silo.</summary>
    public static readonly ObservableGauge<int> QueueDepth = Meter.CreateObservableGauge("deploy_engine.queue.depth",
        () => QueueDepths.Select(q => new Measurement<int>(q.Value, new KeyValuePair<string, object?>(EnvironmentTag, q.Key))),
        "{rollout}", "Rollouts queued for an environment slot");

    public static void SetQueueDepth(string environment, int depth) => QueueDepths[environment] = depth;

    public static void ForgetQueue(string environment) => QueueDepths.TryRemove(environment, out _);

    /// <summary>
    /// A span of the engine's own work, tagged with what it is about. A tag not given is taken from the nearest
    /// enclosing span in this process that has it, so an outbound call (traffic router, metric provider, change record)
    /// made while reconciling a rollout carries that rollout's release, environment and service.
    /// </summary>
    public static Activity? Start(string name, ActivityKind kind = ActivityKind.Internal, string? rollout = null, string? release = null, string? environment = null, string? service = null)
    {
        var activity = Source.StartActivity(name, kind);
        if (activity is null) return null;
        Tag(activity, rollout ?? Inherited(activity, RolloutTag), release ?? Inherited(activity, ReleaseTag),
            environment ?? Inherited(activity, EnvironmentTag), service ?? Inherited(activity, ServiceTag));
        return activity;
    }

    private static string? Inherited(Activity activity, string tag)
    {
        for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent.GetTagItem(tag) is string { Length: > 0 } value) return value;
        }

        return null;
    }

    /// <summary>
    /// What publishing an event tells telemetry: the current span gets the event's release, rollout, environment and
    /// service and, for a deployment marker, a span event; the counters of rollouts and host transitions move.
    /// </summary>
    public static void Published(EngineEvent item)
    {
        var d = item.Data;
        switch (item.Type)
        {
            case EventTypes.PipelineRunStarted:
                Rollouts.Add(1, Tags("status", "Started", d));
                break;
            case EventTypes.PipelineRunFinished:
                Rollouts.Add(1, Tags("status", d.GetValueOrDefault("status", "Unknown"), d));
                break;
            case EventTypes.HostsUpdated:
                HostTransitions.Add(Count(d), Tags("to", "updated", d));
                break;
            case EventTypes.HostsReverted:
                HostTransitions.Add(Count(d), Tags("to", "reverted", d));
                break;
            case EventTypes.HostFailed:
                HostTransitions.Add(1, Tags("to", "failed", d));
                break;
        }

        if (Activity.Current is not { } activity || !activity.IsAllDataRequested) return;
        Tag(activity, d.GetValueOrDefault("rollout"), d.GetValueOrDefault("release"), d.GetValueOrDefault("environment"), d.GetValueOrDefault("service"));
        var marker = item.Type switch
        {
            EventTypes.PipelineRunStarted => RolloutStartedMarker,
            EventTypes.RolloutStepStarted or EventTypes.RolloutBatchStarted => RolloutStepMarker,
            EventTypes.PipelineRunFinished => RolloutFinishedMarker,
            EventTypes.RolloutRollbackDecided => RollbackDecidedMarker,
            EventTypes.ServiceRolledBack => RolledBackMarker,
            _ => null,
        };
        if (marker is null) return;
        var tags = new ActivityTagsCollection
        {
            ["deploy.event.id"] = item.Id,
            ["deploy.event.type"] = item.Type,
            [RolloutTag] = d.GetValueOrDefault("rollout"),
            [ReleaseTag] = d.GetValueOrDefault("release"),
            [EnvironmentTag] = d.GetValueOrDefault("environment"),
            [ServiceTag] = d.GetValueOrDefault("service"),
            ["deploy.version"] = d.GetValueOrDefault("version"),
            ["deploy.status"] = d.GetValueOrDefault("status"),
            ["deploy.reason"] = item.Reason,
        };
        if (d.TryGetValue("step", out var step)) tags["deploy.step"] = step;
        activity.AddEvent(new ActivityEvent(marker, item.Timestamp, tags));
    }

    private static void Tag(Activity activity, string? rollout, string? release, string? environment, string? service)
    {
        if (!string.IsNullOrEmpty(rollout)) activity.SetTag(RolloutTag, rollout);
        if (!string.IsNullOrEmpty(release)) activity.SetTag(ReleaseTag, release);
        if (!string.IsNullOrEmpty(environment)) activity.SetTag(EnvironmentTag, environment);
        if (!string.IsNullOrEmpty(service)) activity.SetTag(ServiceTag, service);
    }

    private static long Count(IReadOnlyDictionary<string, string> d) =>
        d.TryGetValue("hosts", out var hosts) ? hosts.Split(',', StringSplitOptions.RemoveEmptyEntries).Length : 0;

    /// <summary>Metric tags: the value of interest plus environment and service (bounded sets, unlike rollout ids).</summary>
    private static TagList Tags(string key, string value, IReadOnlyDictionary<string, string> d) => new()
    {
        { key, value },
        { EnvironmentTag, d.GetValueOrDefault("environment", "") },
        { ServiceTag, d.GetValueOrDefault("service", "") },
    };
}
