using System.Text.Json;
using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

/// <summary>
/// Every case of <c>reference/mannwhitney.json</c>, produced by R's own <c>wilcox.test</c>
/// (<c>reference/generate.R</c> says how to rerun it), must be reproduced to 1e-6 relative.
/// </summary>
public class MannWhitneyTests
{
    private const double Relative = 1e-6;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load().RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_R_wilcox_test(string name)
    {
        var c = Load().RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var nan = c.GetProperty("nan").GetString();
        var x = Values(c.GetProperty("x"));
        var y = Values(c.GetProperty("y"));
        x = nan == "replace" ? x.Select(v => double.IsNaN(v) ? 0 : v).ToList() : x.Where(v => !double.IsNaN(v)).ToList();

        var result = MannWhitney.Test(x, y, c.GetProperty("confidence").GetDouble());

        Close(c.GetProperty("w").GetDouble(), result.W, "W");
        Close(c.GetProperty("p").GetDouble(), result.PValue, "p");
        Close(c.GetProperty("estimate").GetDouble(), result.Estimate, "estimate");
        Close(c.GetProperty("lower").GetDouble(), result.Lower, "lower");
        Close(c.GetProperty("upper").GetDouble(), result.Upper, "upper");
    }

    [Fact]
    public void All_values_tied_is_no_shift_with_p_one()
    {
        // R: p = NaN and "cannot compute confidence interval when all observations are tied".
        var result = MannWhitney.Test([2, 2, 2], [2, 2], 0.95);
        Assert.Equal(new MannWhitneyResult(3, 1, 0, 0, 0), result);
    }

    [Fact]
    public void Two_constant_sides_shift_is_known_exactly()
    {
        // R stops with an error here; Kayenta adds random noise. The shift is exactly 3 − 1.
        var result = MannWhitney.Test([3, 3, 3], [1, 1], 0.95);
        Assert.Equal(2, result.Estimate);
        Assert.Equal(2, result.Lower);
        Assert.Equal(2, result.Upper);
        Assert.Equal(6, result.W);
    }

    private static void Close(double expected, double actual, string what)
    {
        var scale = Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(Math.Abs(expected - actual) <= Relative * scale || expected == actual,
            $"{what}: R {expected:R}, ours {actual:R}");
    }

    private static List<double> Values(JsonElement array) =>
        array.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToList();

    private static JsonDocument Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Analysis", "reference", "mannwhitney.json")));
}
