using System.Text.Json;
using Deploy.Engine.Domain.Environments;

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

    [Fact]
    public void The_reason_names_how_many_authorities_approve() =>
        Assert.EndsWith("(3 change authorities other than the proposer approve it)",
            DeclarationChangeRules.ApprovalNeeded("prod", new DeclaredControls(true, true, false, false), 3), StringComparison.Ordinal);

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
