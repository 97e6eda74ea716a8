namespace Deploy.Engine.Grains.Interfaces;

/// <summary>Every grain key and stream key is built and parsed here, never by concatenation at call sites.</summary>
public static class GrainKeys
{
    /// <summary>The single namespace all engine events are published on; keys say what they are about.</summary>
    public const string EventNamespace = "deploy-events";

    private const char RolloutSeparator = '.';

    /// <summary>The storage probe behind <c>/readyz</c>.</summary>
    public const string StorageProbe = "readiness";

    /// <summary>The one audit trail of the engine.</summary>
    public const string AuditLog = "audit";

    /// <summary>Sealed page <paramref name="index"/> (0-based) of the audit trail.</summary>
    public static string AuditPage(long index) => "audit.page-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A rollout is one release in one environment: <c>{releaseId}.{environment}</c>.</summary>
    public static string Rollout(string releaseId, string environment) => releaseId + RolloutSeparator + environment;

    public static bool TryParseRollout(string rolloutId, out string releaseId, out string environment)
    {
        var dot = rolloutId.IndexOf(RolloutSeparator, StringComparison.Ordinal);
        if (dot <= 0 || dot == rolloutId.Length - 1)
        {
            releaseId = environment = string.Empty;
            return false;
        }

        releaseId = rolloutId[..dot];
        environment = rolloutId[(dot + 1)..];
        return true;
    }

    private const string AnalysisSeparator = ".analysis-";

    /// <summary>The canary analysis of one step of a rollout: <c>{rolloutId}.analysis-{step}</c> (step 1-based).</summary>
    public static string Analysis(string rolloutId, int step) =>
        rolloutId + AnalysisSeparator + step.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParseAnalysis(string analysisId, out string rolloutId, out int step)
    {
        var at = analysisId.LastIndexOf(AnalysisSeparator, StringComparison.Ordinal);
        rolloutId = at > 0 ? analysisId[..at] : string.Empty;
        step = 0;
        return at > 0
            && int.TryParse(analysisId.AsSpan(at + AnalysisSeparator.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out step)
            && step > 0
            && TryParseRollout(rolloutId, out _, out _);
    }

    /// <summary>Events about a rollout (and about its hosts while it drives them).</summary>
    public static string RolloutEvents(string rolloutId) => "rollout/" + rolloutId;

    /// <summary>Events about a release: supply-chain evidence (attestations, SBOM, waivers), approvals, readiness sign-offs.</summary>
    public static string ReleaseEvents(string releaseId) => "release/" + releaseId;

    /// <summary>Events about an environment (admission, queue, configuration).</summary>
    public static string EnvironmentEvents(string environment) => "environment/" + environment;

    /// <summary>Page <paramref name="page"/> (0-based) of the history with key <paramref name="historyKey"/>.</summary>
    public static string EventPage(string historyKey, long page) =>
        historyKey + "#" + page.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Events about one artifact (upload, registration, verification failures, deletion).</summary>
    public static string ArtifactEvents(string digest) => "artifact/" + digest;

    /// <summary>The single catalog of artifacts.</summary>
    public const string ArtifactCatalog = "artifacts";

    /// <summary>The single catalog of rollouts (what <c>GET /v1/rollouts</c> lists).</summary>
    public const string RolloutCatalog = "rollouts";

    /// <summary>The single catalog of releases (what <c>GET /v1/releases</c> lists).</summary>
    public const string ReleaseCatalog = "releases";

    /// <summary>The single catalog of built-in change records (what <c>GET /v1/change-records</c> lists).</summary>
    public const string ChangeRecordCatalog = "change-records";

    /// <summary>The one grain that backfills the catalogs from the audit trail.</summary>
    public const string CatalogBackfill = "catalogs";

    /// <summary>The single feed of engine events behind the event stream.</summary>
    public const string EventFeed = "feed";

    /// <summary>The single registry of environment names.</summary>
    public const string EnvironmentRegistry = "environments";

    /// <summary>
    /// Idempotency records are per caller, per route and per key. The parts are hashed: a client's key may hold
    /// characters that storage keys refuse (Azure Table keys reject control characters and '/', '\\', '#', '?').
    /// </summary>
    public static string Idempotency(string caller, string route, string key) =>
        "idem-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(string.Join('\n', caller, route, key)))).ToLowerInvariant();

    /// <summary>Events about a change record of the built-in store.</summary>
    public static string ChangeRecordEvents(string id) => "change-record/" + id;

    /// <summary>Events about the post-implementation reviews of a service.</summary>
    public static string ReviewEvents(string service) => "reviews/" + service;

    /// <summary>The single governance evaluator key (a stateless worker).</summary>
    public const long Governance = 0;

    private const string ReviewPrefix = "pir-";

    /// <summary>The post-implementation review of a failed or rolled-back rollout: <c>pir-{rolloutId}</c>.</summary>
    public static string Review(string rolloutId) => ReviewPrefix + rolloutId;

    public static bool TryParseReview(string reviewId, out string rolloutId)
    {
        rolloutId = reviewId.StartsWith(ReviewPrefix, StringComparison.Ordinal) ? reviewId[ReviewPrefix.Length..] : string.Empty;
        return TryParseRollout(rolloutId, out _, out _);
    }
    /// <summary>The one grain holding every incident (not a DNS label, so no environment can share it).</summary>
    public const string Incidents = "_incidents";

    /// <summary>Events about an environment's governance (calendar, exceptions).</summary>
    public static string GovernanceEvents(string environment) => "governance/" + environment;

    /// <summary>Events about incidents (declared, resolved).</summary>
    public const string IncidentEvents = "incidents";

    /// <summary>Events about a service's dependency declarations.</summary>
    public static string ServiceEvents(string service) => "service/" + service;

    private const string DrillReleasePrefix = "drill_";

    /// <summary>
    /// A rollback drill's copy of a release: <c>drill_{16 hex}</c>. The API names releases <c>rel-…</c>, so no
    /// submitted release can pass for a drill's.
    /// </summary>
    public static string NewDrillRelease() => DrillReleasePrefix + Guid.NewGuid().ToString("n")[..16];

    /// <summary>True for the release of a rollback drill (its rollouts are rehearsals: no review, no delivery metric).</summary>
    public static bool IsDrillRelease(string? releaseId) => releaseId is not null && releaseId.StartsWith(DrillReleasePrefix, StringComparison.Ordinal);

    /// <summary>Events about a release train.</summary>
    public static string TrainEvents(string train) => "train/" + train;

    /// <summary>The DORA ledger of one service (its deployments): <c>delivery/{service}</c>.</summary>
    public static string DeliveryLedger(string service) => "delivery/" + service;

    /// <summary>The DORA ledger of the engine's incidents (few: one grain).</summary>
    public const string IncidentLedger = "delivery/_incidents";

    /// <summary>The one catalog of services the DORA ledger has seen and the team that owns each.</summary>
    public const string ServiceCatalog = "_services";

    /// <summary>The one grain holding what post-mortems teach (factors, checklist proposals and decisions).</summary>
    public const string Learnings = "_learnings";

    /// <summary>Events about checklist proposals (adopted, dismissed).</summary>
    public const string LearningsEvents = "learnings";

    /// <summary>The registry of webhook subscriptions (not a DNS label, so no environment can share it).</summary>
    public const string Webhooks = "_webhooks";

    private const string WebhookPrefix = "wh-";

    /// <summary>A new webhook subscription id: <c>wh-</c> and 16 hex digits; also the key of its delivery grain.</summary>
    public static string NewWebhook(Guid seed) => WebhookPrefix + seed.ToString("n")[..16];

    public static bool IsWebhook(string? id) =>
        id is { Length: 19 } && id.StartsWith(WebhookPrefix, StringComparison.Ordinal) && id[3..].All(char.IsAsciiHexDigitLower);

    /// <summary>The feature flags of one environment: <c>flags/{environment}</c>.</summary>
    public static string FlagSet(string environment) => "flags/" + environment;
}
