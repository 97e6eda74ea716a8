namespace Deploy.Engine.Domain.Governance;

/// <summary>
/// Incidents per team (issue 14: "a pipeline key can ... resolve another team's incident"). An incident belongs to the
/// team that owns the service it concerns (or, without a service, to the declaring key's team); resolving it halts no
/// more rollouts, so only that team, the key that declared it, or an incident commander across teams (approver role)
/// may resolve it. An incident of no team (no owner known) is every operator's.
/// </summary>
public static class IncidentOwnership
{
    /// <summary>
    /// The team an incident belongs to: the service owner's team when the incident names a service that has one, else the
    /// declaring key's team when it holds exactly one, else none. Examples: service shop owned by payments → payments;
    /// no service, key of team web → web; key of teams web and ops, no service → null.
    /// </summary>
    public static string? TeamOf(string? serviceOwner, IReadOnlyCollection<string> declarerTeams)
    {
        ArgumentNullException.ThrowIfNull(declarerTeams);
        return serviceOwner ?? (declarerTeams.Count == 1 ? declarerTeams.First() : null);
    }

    /// <summary>
    /// Null when <paramref name="actor"/> may resolve the incident; otherwise the reason. Example: incident inc-1 of team
    /// payments, declared by alice, resolved by bob of team web → "incident inc-1 belongs to team payments: key 'bob'
    /// (teams web) may not resolve it; its team, its declarer (alice) or an incident commander (approver) may".
    /// </summary>
    public static string? ResolveRefusal(string incidentId, string? team, string declaredBy, string actor, IReadOnlyCollection<string> actorTeams, bool commander)
    {
        ArgumentNullException.ThrowIfNull(actorTeams);
        if (team is null || commander || string.Equals(actor, declaredBy, StringComparison.Ordinal) || actorTeams.Contains(team, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        var teams = actorTeams.Count == 0 ? "no team" : "teams " + string.Join(", ", actorTeams);
        return $"incident {incidentId} belongs to team {team}: key '{actor}' ({teams}) may not resolve it; its team, its declarer ({declaredBy}) or an incident commander (approver) may";
    }
}
