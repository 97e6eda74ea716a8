using System.Globalization;

namespace Deploy.Engine.Domain.Rolling;

/// <summary>
/// A Kubernetes-style "int or percent" quantity: <c>"3"</c> is three hosts, <c>"25%"</c> is a quarter of the
/// target host count. Percentages resolve against a total with an explicit rounding direction, because the
/// direction is part of the contract (surge rounds up, unavailable rounds down).
/// </summary>
public readonly record struct IntOrPercent(int Value, bool IsPercent)
{
    public static IntOrPercent Count(int value) => new(value, false);

    public static IntOrPercent Percent(int value) => new(value, true);

    /// <summary>
    /// Parses <c>"N"</c> or <c>"N%"</c> where N is a whole number 0..100 for percentages and 0..1,000,000 for counts.
    /// </summary>
    public static bool TryParse(string? text, out IntOrPercent value, out string? error)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "must be a whole number of hosts such as \"2\" or a percentage such as \"25%\"";
            return false;
        }

        var trimmed = text.Trim();
        var isPercent = trimmed.EndsWith('%');
        var digits = isPercent ? trimmed[..^1] : trimmed;
        if (digits.Length == 0 || digits.Length > 7 || !digits.All(char.IsAsciiDigit)
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            error = $"'{Truncate(trimmed)}' is not a whole number of hosts such as \"2\" or a percentage such as \"25%\"";
            return false;
        }

        if (isPercent && number > 100)
        {
            error = $"'{trimmed}' is above 100%";
            return false;
        }

        value = new IntOrPercent(number, isPercent);
        error = null;
        return true;
    }

    /// <summary>
    /// Resolves against <paramref name="total"/>: a count is returned as is; a percentage is
    /// <c>total × p / 100</c> rounded up or down. Examples: 25% of 10 rounded up = 3, rounded down = 2;
    /// 50% of 9 rounded up = 5; 1% of 50 rounded down = 0.
    /// </summary>
    public int Resolve(int total, bool roundUp)
    {
        if (!IsPercent)
        {
            return Value;
        }

        var scaled = (long)total * Value;
        return (int)(roundUp ? (scaled + 99) / 100 : scaled / 100);
    }

    public override string ToString() => IsPercent
        ? string.Create(CultureInfo.InvariantCulture, $"{Value}%")
        : Value.ToString(CultureInfo.InvariantCulture);

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";
}
