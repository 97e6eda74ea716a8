using Deploy.Engine.Domain.Configuration;

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

    [Theory]
    // protected, approvals → the reason (null: applied directly)
    [InlineData(false, 2, null)]
    [InlineData(true, 1, "environment 'prod' is production tier or protected: its parameters and secrets change only through an approved parameter change (a change authority other than the proposer approves it)")]
    [InlineData(true, 2, "environment 'prod' is production tier or protected: its parameters and secrets change only through an approved parameter change (2 change authorities other than the proposer approve it)")]
    public void Only_protected_environments_need_approval_and_the_reason_names_how_many_authorities_approve(bool isProtected, int approvals, string? reason) =>
        Assert.Equal(reason, ParameterChangeRules.ApprovalNeeded("prod", isProtected, approvals));
}
