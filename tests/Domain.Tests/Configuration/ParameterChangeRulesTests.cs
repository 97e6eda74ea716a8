using Deploy.Engine.Domain.Configuration;
using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Configuration;

public class ParameterChangeRulesTests
{
    [Fact]
    public void The_diff_names_values_with_their_text_and_secrets_only_as_set()
    {
        // The worked example of ParameterChangeRules.Diff.
        var diff = ParameterChangeRules.Diff(
            new Dictionary<string, string> { ["a"] = "1" }, [],
            new Dictionary<string, string> { ["a"] = "2", ["b"] = "3" }, ["k"]);
        Assert.Equal(
            new (string, string?, string?)[] { ("secrets.k", null, "set"), ("values.a", "1", "2"), ("values.b", null, "3") },
            diff.Select(d => (d.Field, d.Expected, d.Actual)).ToArray());
    }

    [Fact]
    public void Only_protected_environments_need_approval_and_the_proposer_never_decides()
    {
        Assert.Null(ParameterChangeRules.ApprovalNeeded("dev", isProtected: false));
        Assert.Contains("approved parameter change", ParameterChangeRules.ApprovalNeeded("prod", isProtected: true), StringComparison.Ordinal);
        Assert.Contains("proposed parameter change pc-1", ParameterChangeRules.DecisionRefusal("dana", "dana", "pc-1", Authorisation.Approve), StringComparison.Ordinal);
        Assert.Null(ParameterChangeRules.DecisionRefusal("dana", "carol", "pc-1", Authorisation.Approve));
        Assert.Null(ParameterChangeRules.StaleRefusal("prod", "pc-1", 3, 3));
        Assert.Contains("version 4, not version 3", ParameterChangeRules.StaleRefusal("prod", "pc-1", 3, 4), StringComparison.Ordinal);
    }
}
