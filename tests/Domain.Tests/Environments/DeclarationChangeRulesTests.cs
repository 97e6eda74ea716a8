using System.Text.Json;
using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Environments;

/// <summary>
/// Issue 14: "an operator refused in a production-tier environment redeclares it as development and deploys; a pipeline
/// refused by a promotion gate removes the gate from the declaration". Such declarations change only through approval.
/// </summary>
public class DeclarationChangeRulesTests
{
    [Theory]
    // declared, production, declared protected, configured protected → needs approval because ...
    [InlineData(true, true, true, false, "is declared production tier")]
    [InlineData(true, false, true, false, "is declared protected")]
    [InlineData(true, false, false, true, "is protected by configuration (Governance:ProtectedEnvironments)")]
    [InlineData(true, false, false, false, null)]
    // A new declaration (nothing declared yet) is direct, whatever the name or configuration says.
    [InlineData(false, false, false, true, null)]
    public void Only_declarations_of_production_tier_or_protected_environments_need_approval(
        bool declared, bool production, bool declaredProtected, bool configuredProtected, string? because)
    {
        var reason = DeclarationChangeRules.ApprovalNeeded("prod", new DeclaredControls(declared, production, declaredProtected, configuredProtected));
        if (because is null)
        {
            Assert.Null(reason);
            return;
        }

        Assert.Equal($"environment 'prod' {because}: its declaration changes only through an approved declaration change " +
            "(a change authority other than the proposer approves it)", reason);
    }

    [Theory]
    // the doc comment's examples: required 2, proposer alice
    [InlineData(2, "", 2)]
    [InlineData(2, "bob", 1)]
    [InlineData(2, "bob,bob", 1)]
    [InlineData(2, "bob,alice", 1)]
    [InlineData(2, "bob,carol", 0)]
    [InlineData(1, "bob", 0)]
    [InlineData(1, "alice", 1)]
    public void A_change_applies_once_enough_distinct_authorities_other_than_the_proposer_approve(int required, string approvers, int missing) =>
        Assert.Equal(missing, DeclarationChangeRules.ApprovalsStillNeeded("alice", approvers.Split(',', StringSplitOptions.RemoveEmptyEntries), required));

    [Fact]
    public void The_reason_names_how_many_authorities_approve() =>
        Assert.EndsWith("(3 change authorities other than the proposer approve it)",
            DeclarationChangeRules.ApprovalNeeded("prod", new DeclaredControls(true, true, false, false), 3), StringComparison.Ordinal);

    [Theory]
    [InlineData("admin", "admin", Authorisation.Approve, "'admin' proposed declaration change dc-1 and cannot approve it: no self-approval (four eyes)")]
    [InlineData("dana", "dana", Authorisation.Reject, "'dana' proposed declaration change dc-1 and cannot reject it: no self-approval (four eyes)")]
    [InlineData("alice", "carol", Authorisation.Approve, null)]
    public void The_proposer_never_decides_their_own_declaration_change(string proposer, string actor, Authorisation act, string? refusal) =>
        Assert.Equal(refusal, DeclarationChangeRules.DecisionRefusal(proposer, actor, "dc-1", act));

    [Theory]
    [InlineData(3, 3, null)]
    [InlineData(3, 4, "the declaration of 'prod' is at version 4, not version 3 that change dc-1 was proposed against: nothing was applied; propose the change again against the current declaration")]
    public void An_approval_applies_only_onto_the_version_the_change_was_proposed_against(long proposedAgainst, long current, string? refusal) =>
        Assert.Equal(refusal, DeclarationChangeRules.StaleRefusal("prod", "dc-1", proposedAgainst, current));

    [Theory]
    [InlineData("""{"tier":"Production","gates":["perf"],"after":"stg"}""", """{"tier":"Development","gates":[],"after":"stg"}""",
        "gates: [\"perf\"] → []|tier: Production → Development")]
    [InlineData("""{"baseline":{"services":{"shop":{"version":"1.0"}}}}""", """{"baseline":{"services":{"shop":{"version":"1.1"},"cart":{"version":"2"}}}}""",
        "baseline.services.cart.version: - → 2|baseline.services.shop.version: 1.0 → 1.1")]
    [InlineData("""{"protected":true,"description":"x"}""", """{"protected":false,"description":null}""",
        "description: x → -|protected: true → false")]
    [InlineData("""{"tier":"Production"}""", """{"tier":"Production"}""", "")]
    public void The_diff_names_every_changed_field_by_its_path(string before, string after, string expected)
    {
        using var a = JsonDocument.Parse(before);
        using var b = JsonDocument.Parse(after);
        var diff = DeclarationChangeRules.Diff(a.RootElement, b.RootElement);
        Assert.Equal(expected, string.Join("|", diff.Select(d => $"{d.Field}: {d.Expected ?? "-"} → {d.Actual ?? "-"}")));
    }
}
