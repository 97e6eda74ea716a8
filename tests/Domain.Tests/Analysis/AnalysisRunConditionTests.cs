using Deploy.Engine.Domain.Analysis;

namespace Deploy.Engine.Domain.Tests.Analysis;

public class AnalysisRunConditionTests
{
    private static bool Eval(string text, double? result)
    {
        var expression = ConditionExpression.Parse(text);
        Assert.True(expression.TryEvaluate(result, out var value, out var error), error);
        return value;
    }

    [Theory]
    [InlineData("result < 5", 4, true)]
    [InlineData("result < 5", 5, false)]
    [InlineData("result <= 5", 5, true)]
    [InlineData("result >= 0.95", 0.95, true)]
    [InlineData("result > 0.95", 0.95, false)]
    [InlineData("result == 3", 3, true)]
    [InlineData("result != 3", 3, false)]
    [InlineData("result >= 1e-3", 0.001, true)]
    [InlineData(".5 == result", 0.5, true)]
    public void Comparisons(string text, double result, bool expected) => Assert.Equal(expected, Eval(text, result));

    [Theory]
    // * binds tighter than +, + tighter than comparisons, comparisons tighter than and, and tighter than or.
    [InlineData("1 + 2 * 3 == 7", true)]
    [InlineData("(1 + 2) * 3 == 9", true)]
    [InlineData("10 - 4 - 3 == 3", true)]         // left-associative
    [InlineData("12 / 3 / 2 == 2", true)]
    [InlineData("-2 * 3 == -6", true)]
    [InlineData("- -2 == 2", true)]
    [InlineData("true || false && false", true)]  // && before ||
    [InlineData("(true || false) && false", false)]
    [InlineData("false or true and true", true)]
    [InlineData("not false and false", false)]    // not binds tighter than and
    [InlineData("!(1 > 2)", true)]
    [InlineData("not (1 > 2) == true", true)]
    [InlineData("1 < 2 == true", true)]           // (1 < 2) == true
    public void Precedence_follows_exprs_table(string text, bool expected) => Assert.Equal(expected, Eval(text, 0));

    [Theory]
    // Go's float rules: ordered comparisons with NaN are false, NaN == NaN is false, NaN != NaN is true.
    [InlineData("result < 5", false)]
    [InlineData("result >= 5", false)]
    [InlineData("result == result", false)]
    [InlineData("result != result", true)]
    [InlineData("isNaN(result)", true)]
    [InlineData("isInf(result)", false)]
    [InlineData("!isNaN(result) && result < 5", false)]
    public void NaN_compares_as_Go_does(string text, bool expected) => Assert.Equal(expected, Eval(text, double.NaN));

    [Theory]
    [InlineData("isInf(result)", double.PositiveInfinity, true)]
    [InlineData("isInf(result)", double.NegativeInfinity, true)]
    [InlineData("isInf(1 / result)", 0.0, true)]   // division by zero is Inf, not an error
    [InlineData("isNaN(0 / result)", 0.0, true)]
    [InlineData("isInf(result)", 1.0, false)]
    public void Infinities(string text, double result, bool expected) => Assert.Equal(expected, Eval(text, result));

    [Fact]
    public void Default_stands_in_for_a_missing_result()
    {
        Assert.True(Eval("default(result, 0) == 0", null));
        Assert.True(Eval("default(result, 0) == 7", 7));
        Assert.True(Eval("default(result, 0) < 1", null));
    }

    [Fact]
    public void A_missing_result_without_default_is_a_runtime_error_with_a_position()
    {
        var expression = ConditionExpression.Parse("result > 1");
        Assert.False(expression.TryEvaluate(null, out _, out var error));
        Assert.Contains("position 0", error, StringComparison.Ordinal);
        Assert.Contains("no value", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parsed_once_evaluated_many_times()
    {
        var expression = ConditionExpression.Parse("result >= 0.95 and result <= 1");
        Assert.Equal(
            [false, true, true, false],
            new double[] { 0.5, 0.95, 1, 1.5 }.Select(v => expression.TryEvaluate(v, out var b, out _) && b).ToArray());
    }

    [Theory]
    [InlineData("", 0, "empty")]
    [InlineData("result >", 8, "unexpected end")]
    [InlineData("(result > 1", 11, "expected ')'")]
    [InlineData("result > 1)", 10, "unexpected ')'")]
    [InlineData("result = 1", 7, "did you mean '=='")]
    [InlineData("result & 1", 7, "did you mean '&&'")]
    [InlineData("result.p99 > 1", 6, "fields are not supported")]
    [InlineData("result[0 > 1", 12, "expected ']'")]
    [InlineData("len(1) > 1", 4, "takes result")]
    [InlineData("foo > 1", 0, "unknown name 'foo'")]
    [InlineData("result > 1 $", 11, "unexpected character '$'")]
    [InlineData("result + 1", 0, "must be boolean")]
    [InlineData("result == true", 7, "compares a number with a boolean")]
    [InlineData("result && true", 7, "needs booleans")]
    [InlineData("not result", 0, "needs a boolean")]
    [InlineData("not result > 5", 0, "needs a boolean")]  // (not result) > 5, as in expr
    [InlineData("isNaN(result, 1)", 0, "takes 1 argument")]
    [InlineData("default(result)", 0, "takes 2 arguments")]
    [InlineData("isNaN(true)", 6, "takes numbers")]
    [InlineData("1.2.3 > 1", 0, "not a number")]
    public void Syntax_and_type_errors_name_their_position(string text, int position, string message)
    {
        Assert.False(ConditionExpression.TryParse(text, out var expression, out var error));
        Assert.Null(expression);
        Assert.Equal(position, error!.Position);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_and_length_are_bounded()
    {
        Assert.True(ConditionExpression.TryParse(new string('(', 30) + "result > 1" + new string(')', 30), out _, out _));
        Assert.False(ConditionExpression.TryParse(new string('(', 100) + "result > 1" + new string(')', 100), out _, out var deep));
        Assert.Contains("nested deeper", deep!.Message, StringComparison.Ordinal);
        Assert.False(ConditionExpression.TryParse(new string('!', 100) + "true", out _, out _));
        Assert.False(ConditionExpression.TryParse("result > " + new string('1', 5000), out _, out var longError));
        Assert.Equal(ConditionExpression.MaxLength, longError!.Position);
    }

    [Fact]
    public void Long_flat_chains_parse_and_evaluate()
    {
        var chain = string.Join(" + ", Enumerable.Repeat("result", 400)) + " == 400";
        Assert.True(Eval(chain, 1));
    }

    [Fact]
    public void Parse_throws_a_format_exception_naming_the_position()
    {
        var e = Assert.Throws<FormatException>(() => ConditionExpression.Parse("result >"));
        Assert.Contains("position 8", e.Message, StringComparison.Ordinal);
    }
}
