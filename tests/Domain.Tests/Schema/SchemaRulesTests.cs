using Deploy.Engine.Domain.Schema;

namespace Deploy.Engine.Domain.Tests.Schema;

public class SchemaRulesTests
{
    private static readonly SchemaDeclaration Contract3Drops2 = new(SchemaPhase.Contract, 3, 2);

    public static TheoryData<string, RunningVersion[], int> Blockers => new()
    {
        { "nothing runs", [], 0 },
        { "everything needs v3", [new("staging", "3.0.0", 3), new("production", "3.1.0", 3)], 0 },
        { "production still needs v2", [new("staging", "3.0.0", 3), new("production", "2.4.0", 2)], 1 },
        { "a host needs v1", [new("production/web-0007", "1.9.0", 1)], 1 },
        { "an undeclared version may need anything", [new("dev", "0.1.0", null)], 1 },
        { "the same place and version once", [new("production", "2.4.0", 2), new("production", "2.4.0", 2)], 1 },
    };

    [Theory]
    [MemberData(nameof(Blockers))]
    public void A_contract_is_blocked_by_every_version_that_needs_the_dropped_schema(string why, RunningVersion[] running, int blockers) =>
        Assert.True(blockers == SchemaRules.ContractBlockers(Contract3Drops2, running).Count, why);

    [Fact]
    public void The_blocker_names_the_place_the_version_and_both_schemas()
    {
        var reason = Assert.Single(SchemaRules.ContractBlockers(Contract3Drops2, [new RunningVersion("production", "2.4.0", 2)]));

        Assert.Equal("production runs 2.4.0, which needs schema v2 (the contract drops v2)", reason);
    }

    [Theory]
    [InlineData(SchemaPhase.Expand)]
    [InlineData(SchemaPhase.Migrate)]
    public void Only_a_contract_is_blocked(SchemaPhase phase) =>
        Assert.Empty(SchemaRules.ContractBlockers(new SchemaDeclaration(phase, 3), [new RunningVersion("production", "2.4.0", 2)]));

    [Theory]
    [InlineData(3, "standard", false)]
    [InlineData(4, "standard", false)]
    [InlineData(2, "standard", true)]
    [InlineData(null, "standard", true)]
    [InlineData(2, "major", false)]
    [InlineData(2, "Major", false)]
    [InlineData(2, "emergency", true)]
    public void A_contract_without_a_preceding_expand_needs_the_major_class(int? targetRequires, string releaseClass, bool refused) =>
        Assert.Equal(refused, SchemaRules.BreakingWithoutExpand(Contract3Drops2, targetRequires, releaseClass) is not null);

    [Fact]
    public void An_expand_is_never_a_breaking_change() =>
        Assert.Null(SchemaRules.BreakingWithoutExpand(new SchemaDeclaration(SchemaPhase.Expand, 3), 1, "standard"));

    [Theory]
    [InlineData("contract", 3, 2, null)]
    [InlineData("expand", 3, null, null)]
    [InlineData("MIGRATE", 3, null, null)]
    [InlineData("sideways", 3, null, "phase")]
    [InlineData("expand", null, null, "requires")]
    [InlineData("expand", 0, null, "requires")]
    [InlineData("contract", 3, null, "drops")]
    [InlineData("contract", 3, 3, "drops")]
    [InlineData("contract", 3, 0, "drops")]
    [InlineData("expand", 3, 2, "drops")]
    public void Declarations_are_checked_field_by_field(string phase, int? requires, int? drops, string? field)
    {
        var errors = SchemaRules.Validate(phase, requires, drops);

        if (field is null) Assert.Empty(errors);
        else Assert.Contains(errors, e => e.Field == field);
    }
}
