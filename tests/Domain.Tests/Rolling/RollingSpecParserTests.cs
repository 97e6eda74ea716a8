using Deploy.Engine.Domain.Rolling;

namespace Deploy.Engine.Domain.Tests.Rolling;

public class RollingSpecParserTests
{
    [Theory]
    [InlineData("3", 3, false)]
    [InlineData("0", 0, false)]
    [InlineData("25%", 25, true)]
    [InlineData(" 10% ", 10, true)]
    [InlineData("100%", 100, true)]
    public void Parses_counts_and_percentages(string text, int value, bool percent)
    {
        Assert.True(IntOrPercent.TryParse(text, out var parsed, out _));
        Assert.Equal(new IntOrPercent(value, percent), parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("%")]
    [InlineData("101%")]
    [InlineData("25 %")]
    [InlineData("1e3")]
    [InlineData("99999999999")]
    public void Rejects_malformed_quantities(string text)
    {
        Assert.False(IntOrPercent.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Names_every_offending_field_with_its_prefix()
    {
        var parsed = RollingSpecParser.Parse("abc", "101%", null, null, "Sometimes", "-2", "strategy.");

        Assert.False(parsed.IsValid);
        Assert.Equal(
            new[] { "strategy.maxFailures", "strategy.maxSurge", "strategy.maxUnavailable", "strategy.preset" },
            parsed.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("HOST_COUNT", -1, "strategy.minimumHealthyHosts.value")]
    [InlineData("FLEET_PERCENT", 101, "strategy.minimumHealthyHosts.value")]
    [InlineData("SOME", 1, "strategy.minimumHealthyHosts.type")]
    [InlineData(null, 1, "strategy.minimumHealthyHosts.type")]
    [InlineData("HOST_COUNT", null, "strategy.minimumHealthyHosts.value")]
    public void Rejects_malformed_minimums(string? type, int? value, string field)
    {
        var parsed = RollingSpecParser.Parse(null, null, type, value, null, null, "strategy.");
        Assert.Contains(field, parsed.Errors.Keys);
    }

    [Fact]
    public void A_preset_and_an_explicit_minimum_conflict()
    {
        var parsed = RollingSpecParser.Parse(null, null, "HOST_COUNT", 1, "OneAtATime", null);
        Assert.Contains("preset", parsed.Errors.Keys);
    }
}
