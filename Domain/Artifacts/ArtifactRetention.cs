namespace Deploy.Engine.Domain.Artifacts;

/// <summary>Configuration section "Artifacts:Retention": keep the last N releases per service per environment, delete others after D days.</summary>
public sealed record RetentionPolicy(int KeepLastReleasesPerServicePerEnvironment, int DeleteAfterDays);

/// <summary>A release that names an artifact, and the environments it was rolled out to.</summary>
public sealed record RetainedRelease(string ReleaseId, string Service, DateTimeOffset CreatedAt, IReadOnlyList<string> Environments);

/// <summary>What retention knows about one stored artifact.</summary>
public sealed record RetainedArtifact(string Digest, DateTimeOffset UploadedAt, IReadOnlyList<RetainedRelease> Releases);

/// <summary>
/// What is live now, digest → where (for the reason): artifacts an environment records as deployed or a host runs
/// or is moving to, and artifacts a host would return to on rollback (its previous artifact).
/// </summary>
public sealed record LiveArtifacts(IReadOnlyDictionary<string, string> Deployed, IReadOnlyDictionary<string, string> RollbackTargets);

public sealed record RetentionDecision(string Digest, bool Remove, string Why);

/// <summary>
/// Which stored artifacts a retention run removes. An artifact is kept, for the first reason that holds:
/// <list type="number">
/// <item>it is deployed anywhere (an environment's recorded version, or a host's current or desired artifact);</item>
/// <item>it is the rollback target (previous artifact) of a live host;</item>
/// <item>one of its releases is among the last N releases (by creation time) of its service rolled out to some environment;</item>
/// <item>it was uploaded less than D days ago.</item>
/// </list>
/// Otherwise it is removed. Example, N = 1, D = 30, now = day 100: service "shop" released r1 (day 10, artifact a1) and
/// r2 (day 20, a2) to staging, a2 runs there: a1 removed ("not deployed … older than 30 days"), a2 kept ("deployed").
/// An artifact uploaded on day 90 and never released: kept ("uploaded less than 30 days ago").
/// </summary>
public static class ArtifactRetention
{
    public static IReadOnlyList<RetentionDecision> Decide(
        IReadOnlyList<RetainedArtifact> artifacts, LiveArtifacts live, RetentionPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(policy);
        var recent = RecentReleases(artifacts, policy.KeepLastReleasesPerServicePerEnvironment);
        var maxAge = TimeSpan.FromDays(policy.DeleteAfterDays);

        return artifacts.Select(a =>
        {
            if (live.Deployed.TryGetValue(a.Digest, out var where))
            {
                return new RetentionDecision(a.Digest, false, $"deployed: {where}");
            }

            if (live.RollbackTargets.TryGetValue(a.Digest, out var target))
            {
                return new RetentionDecision(a.Digest, false, $"rollback target: {target}");
            }

            if (recent.TryGetValue(a.Digest, out var among))
            {
                return new RetentionDecision(a.Digest, false, among);
            }

            return now - a.UploadedAt < maxAge
                ? new RetentionDecision(a.Digest, false, $"uploaded less than {policy.DeleteAfterDays} days ago ({a.UploadedAt:u})")
                : new RetentionDecision(a.Digest, true,
                    $"not deployed, not a rollback target, not among the last {policy.KeepLastReleasesPerServicePerEnvironment} releases of its service in any environment, and uploaded {policy.DeleteAfterDays} or more days ago ({a.UploadedAt:u})");
        }).ToList();
    }

    /// <summary>Digest → reason, for every artifact of the last <paramref name="keep"/> releases of each (service, environment).</summary>
    private static Dictionary<string, string> RecentReleases(IReadOnlyList<RetainedArtifact> artifacts, int keep)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keep <= 0)
        {
            return result;
        }

        var groups = artifacts
            .SelectMany(a => a.Releases.SelectMany(r => r.Environments.Distinct(StringComparer.Ordinal).Select(e => (Artifact: a.Digest, Release: r, Environment: e))))
            .GroupBy(x => (x.Release.Service, x.Environment));
        foreach (var group in groups.OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Environment, StringComparer.Ordinal))
        {
            foreach (var x in group.OrderByDescending(x => x.Release.CreatedAt).ThenByDescending(x => x.Release.ReleaseId, StringComparer.Ordinal).Take(keep))
            {
                result.TryAdd(x.Artifact,
                    $"release '{x.Release.ReleaseId}' is among the last {keep} releases of service '{group.Key.Service}' in environment '{group.Key.Environment}'");
            }
        }

        return result;
    }
}
