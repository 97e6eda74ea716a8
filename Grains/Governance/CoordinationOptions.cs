using Deploy.Engine.Domain.Validation;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>
/// Change governance, bound from configuration section "Governance" (validated at start).
/// <code>
/// Governance:Executives:0                 = cto            (API key names that may grant freeze exceptions)
/// Governance:Budgets:0:Selector:region    = eu-west        (a fleet-wide blast-radius budget over hosts with these labels)
/// Governance:Budgets:0:MaxPercent         = 5              (at most 5 % of them changing at once, whatever release) and/or
/// Governance:Budgets:0:MaxHosts           = 20             (at most 20 at once; with both, the stricter)
/// Governance:EmergencyClass               = emergency      (releases whose metadata "class" is this pass incident holds)
/// </code>
/// </summary>
public sealed class CoordinationOptions
{
    public const string Section = "Governance";

    public List<string> Executives { get; set; } = [];

    public List<BudgetOptions> Budgets { get; set; } = [];

    public string EmergencyClass { get; set; } = "emergency";
}

public sealed class BudgetOptions
{
    public Dictionary<string, string> Selector { get; set; } = new(StringComparer.Ordinal);

    public double? MaxPercent { get; set; }

    public int? MaxHosts { get; set; }
}

public sealed class CoordinationOptionsValidator : IValidateOptions<CoordinationOptions>
{
    public ValidateOptionsResult Validate(string? name, CoordinationOptions options)
    {
        var errors = new List<string>();
        if (options.Executives.Any(string.IsNullOrWhiteSpace)) errors.Add("Governance:Executives has an empty name.");
        for (var i = 0; i < options.Budgets.Count; i++)
        {
            var budget = options.Budgets[i];
            var at = $"Governance:Budgets:{i}";
            if (budget.Selector.Count == 0) errors.Add($"{at}:Selector must name at least one label (e.g. region: eu-west).");
            if (budget.Selector.Any(kv => !Names.IsLabel(kv.Key, kv.Value))) errors.Add($"{at}:Selector has an invalid label key or value.");
            if (budget.MaxPercent is null && budget.MaxHosts is null) errors.Add($"{at} needs MaxPercent or MaxHosts.");
            if (budget.MaxPercent is <= 0 or > 100) errors.Add($"{at}:MaxPercent must be more than 0 and at most 100.");
            if (budget.MaxHosts is < 1) errors.Add($"{at}:MaxHosts must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
