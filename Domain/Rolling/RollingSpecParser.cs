using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Domain.Rolling;

/// <summary>Turns a declared rolling strategy (strings, as a pipeline sends them) into a <see cref="RollingSpec"/>.</summary>
public static class RollingSpecParser
{
    public const string PresetOneAtATime = "OneAtATime";
    public const string PresetHalfAtATime = "HalfAtATime";
    public const string PresetAllAtOnce = "AllAtOnce";

    /// <summary>
    /// Validates every field and names the offending one. <paramref name="fieldPrefix"/> is prepended to field
    /// names (e.g. "strategy.") so an API error points at the JSON path the caller sent.
    /// </summary>
    public static Validated<RollingSpec> Parse(
        string? maxSurge,
        string? maxUnavailable,
        string? minimumHealthyType,
        int? minimumHealthyValue,
        string? preset,
        string? maxFailures,
        string fieldPrefix = "")
    {
        var errors = new ValidationErrors();
        IntOrPercent? surge = null, unavailable = null;
        MinimumHealthyHosts? minimum = null;
        var failures = IntOrPercent.Count(0);

        if (maxSurge is not null)
        {
            if (IntOrPercent.TryParse(maxSurge, out var v, out var e)) surge = v;
            else errors.Add(fieldPrefix + "maxSurge", e!);
        }

        if (maxUnavailable is not null)
        {
            if (IntOrPercent.TryParse(maxUnavailable, out var v, out var e)) unavailable = v;
            else errors.Add(fieldPrefix + "maxUnavailable", e!);
        }

        if (maxFailures is not null)
        {
            if (IntOrPercent.TryParse(maxFailures, out var v, out var e)) failures = v;
            else errors.Add(fieldPrefix + "maxFailures", e!);
        }

        if (minimumHealthyType is not null || minimumHealthyValue is not null)
        {
            if (preset is not null)
            {
                errors.Add(fieldPrefix + "preset", "declare either a preset or minimumHealthyHosts, not both");
            }

            minimum = ParseMinimum(minimumHealthyType, minimumHealthyValue, fieldPrefix, errors);
        }
        else if (preset is not null)
        {
            minimum = preset switch
            {
                PresetOneAtATime => new MinimumHealthyHosts(MinimumHealthyKind.MostConcurrency, 1),
                PresetHalfAtATime => new MinimumHealthyHosts(MinimumHealthyKind.FleetPercent, 50),
                PresetAllAtOnce => new MinimumHealthyHosts(MinimumHealthyKind.HostCount, 0),
                _ => null,
            };
            if (minimum is null)
            {
                errors.Add(fieldPrefix + "preset", $"must be one of {PresetOneAtATime}, {PresetHalfAtATime}, {PresetAllAtOnce}");
            }
        }

        if (minimum is not null && maxFailures is null)
        {
            // CodeDeploy has no failure budget: with a minimum declared and no maxFailures, the minimum alone decides
            // (MinimumHealthyRule), as it does in CodeDeploy. A declared maxFailures still applies as well.
            failures = IntOrPercent.Percent(100);
        }

        return errors.Any
            ? Validated<RollingSpec>.Invalid(errors)
            : Validated<RollingSpec>.Valid(new RollingSpec(surge, unavailable, minimum, failures));
    }

    private static MinimumHealthyHosts? ParseMinimum(string? type, int? value, string prefix, ValidationErrors errors)
    {
        var field = prefix + "minimumHealthyHosts";
        if (value is null)
        {
            errors.Add(field + ".value", "is required");
            return null;
        }

        switch (type)
        {
            case "HOST_COUNT" when value >= 0:
                return new MinimumHealthyHosts(MinimumHealthyKind.HostCount, value.Value);
            case "HOST_COUNT":
                errors.Add(field + ".value", "must be zero or more hosts");
                return null;
            case "FLEET_PERCENT" when value is >= 0 and <= 100:
                return new MinimumHealthyHosts(MinimumHealthyKind.FleetPercent, value.Value);
            case "FLEET_PERCENT":
                errors.Add(field + ".value", "must be a percentage from 0 to 100");
                return null;
            default:
                errors.Add(field + ".type", "must be HOST_COUNT or FLEET_PERCENT");
                return null;
        }
    }
}
