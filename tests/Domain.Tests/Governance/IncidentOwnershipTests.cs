using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

/// <summary>Issue 14: "a pipeline key can ... resolve another team's incident". The examples are the rule's doc comments.</summary>
public class IncidentOwnershipTests
{
    [Theory]
    [InlineData("payments", "", "payments")]
    [InlineData("payments", "web", "payments")]
    [InlineData(null, "web", "web")]
    [InlineData(null, "web,ops", null)]
    [InlineData(null, "", null)]
    public void An_incident_belongs_to_the_service_owners_team_else_the_declarers_one_team(string? owner, string declarerTeams, string? team) =>
        Assert.Equal(team, IncidentOwnership.TeamOf(owner, Teams(declarerTeams)));

    [Theory]
    [InlineData("payments", "alice", "bob", "web", false,
        "incident inc-1 belongs to team payments: key 'bob' (teams web) may not resolve it; its team, its declarer (alice) or an incident commander (approver) may")]
    [InlineData("payments", "alice", "bob", "", false,
        "incident inc-1 belongs to team payments: key 'bob' (no team) may not resolve it; its team, its declarer (alice) or an incident commander (approver) may")]
    [InlineData("payments", "alice", "bob", "web,Payments", false, null)]
    [InlineData("payments", "alice", "alice", "", false, null)]
    [InlineData("payments", "alice", "carol", "", true, null)]
    [InlineData(null, "alice", "bob", "", false, null)]
    public void Only_the_team_the_declarer_or_an_incident_commander_resolves_an_incident(
        string? team, string declaredBy, string actor, string actorTeams, bool commander, string? refusal) =>
        Assert.Equal(refusal, IncidentOwnership.ResolveRefusal("inc-1", team, declaredBy, actor, Teams(actorTeams), commander));

    private static List<string> Teams(string csv) => csv.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
}
