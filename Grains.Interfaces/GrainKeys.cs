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

    /// <summary>Events about a release train.</summary>
    public static string TrainEvents(string train) => "train/" + train;
}
