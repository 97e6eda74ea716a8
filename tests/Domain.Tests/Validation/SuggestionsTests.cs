using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Tests.Validation;

public class SuggestionsTests
{
    private static readonly string[] StrategyFields =
        ["type", "maxSurge", "maxUnavailable", "minimumHealthyHosts", "preset", "maxFailures", "trafficRouter", "steps", "rollbackTriggers", "deadlines"];

    [Theory]
    [InlineData("rollbakTriggers", "rollbackTriggers")] // one letter dropped
    [InlineData("RollbackTriggers", "rollbackTriggers")] // case only
    [InlineData("maxSurg", "maxSurge")]
    [InlineData("maxUnavailible", "maxUnavailable")]
    [InlineData("tpye", null)] // a transposition is two edits; a name of 4 characters allows one
    [InlineData("confLevel", null)] // a Kayenta setting with no near neighbour here: no guess
    [InlineData("weight", null)]
    [InlineData("stesp", "steps")]
    public void Suggests_the_closest_declared_name_only_when_it_is_a_likely_typo(string unknown, string? expected)
    {
        Assert.Equal(expected, Suggestions.Closest(unknown, StrategyFields));
    }

    [Fact]
    public void The_sentence_is_empty_without_a_match_and_names_the_match_otherwise()
    {
        Assert.Equal(" Did you mean 'rollbackTriggers'?", Suggestions.DidYouMean("rollbakTriggers", StrategyFields));
        Assert.Equal(string.Empty, Suggestions.DidYouMean("confLevel", StrategyFields));
    }
}
