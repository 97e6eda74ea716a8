using System.Text.Json;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Validation;

namespace Deploy.Engine.Grains.Interfaces;

/// <summary>
/// Validates a declaration document completely, naming each problem by its JSON path (<c>baseline.services.shop.version</c>,
/// <c>dataSources[1].classification</c>), and builds the <see cref="EnvironmentDeclaration"/>. Unknown fields are
/// errors: a misspelt field would otherwise silently declare nothing.
/// </summary>
public static class DeclarationParser
{
    public const int MaxItems = 64;

    private static readonly string[] TopFields =
        ["name", "tier", "protected", "after", "gates", "hostGroups", "labels", "dataClassification", "dataSources", "baseline", "ephemeral", "concurrencyLimit", "description", "rollback"];

    /// <param name="prefix">Path prefix for errors (<c>declarations[2].</c>), empty for a single document.</param>
    /// <param name="expectedName">The name in the route, which a name in the document must equal.</param>
    public static EnvironmentDeclaration? Parse(JsonElement root, ValidationErrors errors, string prefix = "", string? expectedName = null)
    {
        var before = errors.Count;
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.Length == 0 ? "$" : prefix.TrimEnd('.'), "must be an object: the environment declaration");
            return null;
        }

        Unknown(root, TopFields, prefix, errors);
        var name = String(root, "name", prefix, errors) ?? expectedName;
        if (!Names.IsDnsLabel(name)) errors.Add(prefix + "name", "is required: a lower-case DNS label (a-z, 0-9, '-'; 1-63 characters)");
        else if (expectedName is not null && name != expectedName) errors.Add(prefix + "name", $"must be '{expectedName}', the name in the path");

        var declaredTier = Enum<EnvironmentTier>(root, "tier", prefix, errors, required: true);
        var tier = declaredTier ?? EnvironmentTier.Development;
        var isProduction = tier == EnvironmentTier.Production;

        // Rules that depend on the tier are checked only against a valid tier (one error, not a cascade).
        var tierKnown = declaredTier is not null;
        var isProtected = Bool(root, "protected", prefix, errors) ?? isProduction;

        var after = String(root, "after", prefix, errors);
        if (after is not null && !Names.IsDnsLabel(after)) errors.Add(prefix + "after", "must be an environment name");
        else if (after is not null && after == name) errors.Add(prefix + "after", "must name another environment: an environment cannot come after itself");

        var gates = new List<string>();
        foreach (var (gate, at) in Array(root, "gates", prefix, errors))
        {
            var value = gate.ValueKind == JsonValueKind.String ? gate.GetString() : null;
            if (!Names.IsDnsLabel(value)) errors.Add(at, "must be a gate name: a lower-case DNS label such as 'security-scan'");
            else if (gates.Contains(value!)) errors.Add(at, $"gate '{value}' is named twice");
            else gates.Add(value!);
        }

        var groups = new List<HostGroupSpec>();
        foreach (var (group, at) in Array(root, "hostGroups", prefix, errors))
        {
            if (group.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at, "must be an object {name, labels}");
                continue;
            }

            Unknown(group, ["name", "labels"], at + ".", errors);
            var groupName = String(group, "name", at + ".", errors);
            if (!Names.IsDnsLabel(groupName)) errors.Add(at + ".name", "is required: a lower-case DNS label");
            else if (groups.Any(g => g.Name == groupName)) errors.Add(at + ".name", $"host group '{groupName}' is declared twice");
            groups.Add(new HostGroupSpec { Name = groupName ?? string.Empty, Labels = Labels(group, "labels", at + ".", errors) });
        }

        var labels = Labels(root, "labels", prefix, errors);

        var data = Enum<DataClassification>(root, "dataClassification", prefix, errors, required: false);
        if (data is null && !isProduction && tierKnown) errors.Add(prefix + "dataClassification", "is required for a non-production environment: synthetic or anonymised");
        else if (data == DataClassification.Production && !isProduction && tierKnown)
            errors.Add(prefix + "dataClassification", "a non-production environment must use synthetic or anonymised data");

        var sources = new List<DataSourceSpec>();
        foreach (var (source, at) in Array(root, "dataSources", prefix, errors))
        {
            if (source.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at, "must be an object {name, classification}");
                continue;
            }

            Unknown(source, ["name", "classification"], at + ".", errors);
            var sourceName = String(source, "name", at + ".", errors);
            if (!Names.IsDnsLabel(sourceName)) errors.Add(at + ".name", "is required: a lower-case DNS label");
            else if (sources.Any(s => s.Name == sourceName)) errors.Add(at + ".name", $"data source '{sourceName}' is declared twice");
            var classification = Enum<DataClassification>(source, "classification", at + ".", errors, required: true) ?? DataClassification.Synthetic;
            if (classification == DataClassification.Production && !isProduction && tierKnown)
                errors.Add(at + ".classification", "a non-production environment cannot declare a production data source");
            sources.Add(new DataSourceSpec { Name = sourceName ?? string.Empty, Classification = classification });
        }

        var baseline = Baseline(root, prefix, errors);
        var ephemeral = Ephemeral(root, prefix, errors, isProduction);

        var concurrency = Int(root, "concurrencyLimit", prefix, errors);
        if (concurrency is < 1 or > 1000) errors.Add(prefix + "concurrencyLimit", "must be from 1 to 1000");
        var description = String(root, "description", prefix, errors);
        if (description is { Length: > 1024 }) errors.Add(prefix + "description", "must be at most 1024 characters");
        var rollback = Rollback(root, prefix, errors, name);

        if (errors.Count > before)
        {
            return null;
        }

        return new EnvironmentDeclaration
        {
            Name = name!,
            Tier = tier,
            Protected = isProtected,
            After = after,
            Gates = gates,
            HostGroups = groups,
            Labels = labels,
            DataClassification = data ?? DataClassification.Production,
            DataSources = sources,
            Baseline = baseline,
            Ephemeral = ephemeral,
            ConcurrencyLimit = concurrency,
            Description = description,
            Rollback = rollback,
        };
    }

    /// <summary>The strategies an RTO may be declared for, by their wire names.</summary>
    private static readonly string[] RtoStrategies = ["rolling", "canary", "blueGreen", "immutable"];

    private static RollbackObjectivesSpec? Rollback(JsonElement root, string prefix, ValidationErrors errors, string? name)
    {
        if (!root.TryGetProperty("rollback", out var rollback) || rollback.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var at = prefix + "rollback";
        if (rollback.ValueKind != JsonValueKind.Object)
        {
            errors.Add(at, "must be an object {rto, drillEnvironment, drillFreshness, timeout}");
            return null;
        }

        Unknown(rollback, ["rto", "drillEnvironment", "drillFreshness", "timeout"], at + ".", errors);
        var rto = new Dictionary<string, long>(StringComparer.Ordinal);
        if (rollback.TryGetProperty("rto", out var objectives) && objectives.ValueKind != JsonValueKind.Null)
        {
            if (objectives.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at + ".rto", "must map a strategy (rolling, canary, blueGreen, immutable) to a duration such as '5m'");
            }
            else
            {
                foreach (var item in objectives.EnumerateObject())
                {
                    var strategy = RtoStrategies.FirstOrDefault(s => string.Equals(s, item.Name, StringComparison.OrdinalIgnoreCase));
                    if (strategy is null) errors.Add($"{at}.rto.{item.Name}", "unknown strategy; expected one of rolling, canary, blueGreen, immutable");
                    else if (Duration(item.Value) is not { } seconds) errors.Add($"{at}.rto.{item.Name}", "must be a duration such as '90s', '5m' or '1h'");
                    else rto[strategy] = seconds;
                }
            }
        }

        var drillEnvironment = String(rollback, "drillEnvironment", at + ".", errors);
        if (drillEnvironment is not null && !Names.IsDnsLabel(drillEnvironment)) errors.Add(at + ".drillEnvironment", "must be an environment name");
        else if (drillEnvironment is not null && drillEnvironment == name) errors.Add(at + ".drillEnvironment", "must name another environment: a non-production one to drill rollbacks in");

        long? freshness = null;
        if (rollback.TryGetProperty("drillFreshness", out var fresh) && fresh.ValueKind != JsonValueKind.Null && (freshness = Duration(fresh)) is null)
            errors.Add(at + ".drillFreshness", "must be a duration such as '30d' (at most 365 days)");
        long? timeout = null;
        if (rollback.TryGetProperty("timeout", out var limit) && limit.ValueKind != JsonValueKind.Null && ((timeout = Duration(limit)) is null or > 86_400))
            errors.Add(at + ".timeout", "must be a duration such as '10m' (at most 1 day)");

        return new RollbackObjectivesSpec
        {
            RtoSeconds = rto,
            DrillEnvironment = drillEnvironment,
            DrillFreshnessSeconds = freshness ?? new RollbackObjectivesSpec().DrillFreshnessSeconds,
            TimeoutSeconds = timeout,
        };
    }

    /// <summary>A duration written '90s', '5m', '12h', '7d' (or a number of seconds), in whole seconds; null when invalid.</summary>
    private static long? Duration(JsonElement value)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText() + "s",
            JsonValueKind.String => value.GetString(),
            _ => null,
        };
        return Lifecycle.TryParseDuration(text, out var duration) && duration >= TimeSpan.FromSeconds(1) ? (long)duration.TotalSeconds : null;
    }

    /// <summary>
    /// A document of several declarations: a list, <c>{declarations: [...]}</c>, or a single declaration. Each comes
    /// back with the path prefix its errors use (<c>declarations[1].</c>).
    /// </summary>
    public static IReadOnlyList<(EnvironmentDeclaration Declaration, string Path)> ParseMany(JsonElement root, ValidationErrors errors, string prefix = "")
    {
        var items = new List<(JsonElement, string)>();
        if (root.ValueKind == JsonValueKind.Array)
        {
            items.AddRange(root.EnumerateArray().Select((e, i) => (e, $"{prefix}[{i}].")));
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("declarations", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                errors.Add(prefix + "declarations", "must be an array of environment declarations");
                return [];
            }

            items.AddRange(list.EnumerateArray().Select((e, i) => (e, $"{prefix}declarations[{i}].")));
        }
        else
        {
            items.Add((root, prefix));
        }

        if (items.Count > 256)
        {
            errors.Add(prefix + "declarations", "at most 256 declarations at once");
            return [];
        }

        var parsed = new List<(EnvironmentDeclaration, string)>();
        foreach (var (item, path) in items)
        {
            if (Parse(item, errors, path) is { } declaration)
            {
                parsed.Add((declaration, path));
            }
        }

        return parsed;
    }

    /// <summary>
    /// Promotion order across a batch and what is already declared (<paramref name="existing"/>: name → after): names
    /// are unique in the batch, <c>after</c> names a declared environment, and no chain loops back on itself.
    /// </summary>
    public static void CheckOrder(
        IReadOnlyList<(EnvironmentDeclaration Declaration, string Path)> batch, IReadOnlyDictionary<string, string?> existing, ValidationErrors errors)
    {
        var afters = new Dictionary<string, string?>(existing, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (declaration, path) in batch)
        {
            if (!seen.Add(declaration.Name)) errors.Add(path + "name", $"environment '{declaration.Name}' is declared twice");
            afters[declaration.Name] = declaration.After;
        }

        foreach (var (declaration, path) in batch)
        {
            if (declaration.After is not { } after)
            {
                continue;
            }

            if (!afters.ContainsKey(after))
            {
                errors.Add(path + "after", $"environment '{after}' is not declared; declare it first (or in the same request)");
                continue;
            }

            var chain = new List<string> { declaration.Name };
            for (var next = after; next is not null; next = afters.GetValueOrDefault(next))
            {
                if (chain.Contains(next))
                {
                    errors.Add(path + "after", $"promotion order loops: {string.Join(" after ", chain)} after {next}");
                    break;
                }

                chain.Add(next);
            }
        }
    }

    private static BaselineSpec Baseline(JsonElement root, string prefix, ValidationErrors errors)
    {
        if (!root.TryGetProperty("baseline", out var baseline) || baseline.ValueKind == JsonValueKind.Null)
        {
            return new BaselineSpec();
        }

        var at = prefix + "baseline";
        if (baseline.ValueKind != JsonValueKind.Object)
        {
            errors.Add(at, "must be an object {services, runtime}");
            return new BaselineSpec();
        }

        Unknown(baseline, ["services", "runtime"], at + ".", errors);
        var services = new Dictionary<string, ServiceBaselineSpec>(StringComparer.Ordinal);
        if (baseline.TryGetProperty("services", out var declared) && declared.ValueKind != JsonValueKind.Null)
        {
            if (declared.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at + ".services", "must map each service to {version, configHash}");
            }
            else
            {
                foreach (var service in declared.EnumerateObject())
                {
                    var path = $"{at}.services.{service.Name}";
                    if (services.Count >= MaxItems) { errors.Add(at + ".services", $"at most {MaxItems} services"); break; }
                    if (!Names.IsDnsLabel(service.Name)) errors.Add(path, "service names are lower-case DNS labels");
                    if (service.Value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(path, "must be an object {version, configHash}");
                        continue;
                    }

                    Unknown(service.Value, ["version", "configHash"], path + ".", errors);
                    var version = String(service.Value, "version", path + ".", errors);
                    if (!Names.IsVersion(version)) errors.Add(path + ".version", "is required: 1-64 characters, letters, digits, '.', '+', '_', '-'");
                    var hash = String(service.Value, "configHash", path + ".", errors);
                    if (hash is not null && !ArtifactDigest.IsValid(hash)) errors.Add(path + ".configHash", "must be 'sha256:' followed by 64 lower-case hex digits");
                    services[service.Name] = new ServiceBaselineSpec { Version = version, ConfigHash = hash };
                }
            }
        }

        return new BaselineSpec { Services = services, Runtime = Facts(baseline, "runtime", at + ".", errors) };
    }

    private static EphemeralSpec? Ephemeral(JsonElement root, string prefix, ValidationErrors errors, bool isProduction)
    {
        if (!root.TryGetProperty("ephemeral", out var ephemeral) || ephemeral.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var at = prefix + "ephemeral";
        if (ephemeral.ValueKind != JsonValueKind.Object)
        {
            errors.Add(at, "must be an object {owner, ttl, hostQuota}");
            return null;
        }

        if (isProduction) errors.Add(at, "a production environment cannot be ephemeral");
        Unknown(ephemeral, ["owner", "ttl", "hostQuota"], at + ".", errors);
        var owner = String(ephemeral, "owner", at + ".", errors);
        if (string.IsNullOrWhiteSpace(owner) || owner.Length > 128) errors.Add(at + ".owner", "is required: who owns the environment (1-128 characters)");
        var ttlText = ephemeral.TryGetProperty("ttl", out var ttlValue) && ttlValue.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? (ttlValue.ValueKind == JsonValueKind.Number ? ttlValue.GetRawText() + "s" : ttlValue.GetString())
            : null;
        if (!Lifecycle.TryParseDuration(ttlText, out var ttl)) errors.Add(at + ".ttl", "is required: a time to live such as '90s', '30m', '12h' or '7d' (at most 365 days)");
        var quota = Int(ephemeral, "hostQuota", at + ".", errors);
        if (quota is null or < 0 or > 100_000) errors.Add(at + ".hostQuota", "is required: how many hosts the environment may hold (0 to 100000)");
        return new EphemeralSpec { Owner = owner ?? string.Empty, TtlSeconds = (long)ttl.TotalSeconds, HostQuota = quota ?? 0 };
    }

    private static Dictionary<string, string> Labels(JsonElement obj, string field, string prefix, ValidationErrors errors)
    {
        var labels = Facts(obj, field, prefix, errors, labelValues: true);
        if (labels.Count > 32) errors.Add(prefix + field, "at most 32 labels");
        return labels;
    }

    /// <summary>A string map; label values follow label rules, runtime facts may be any text up to 256 characters.</summary>
    private static Dictionary<string, string> Facts(JsonElement obj, string field, string prefix, ValidationErrors errors, bool labelValues = false)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return map;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix + field, "must be an object of names to strings");
            return map;
        }

        foreach (var item in value.EnumerateObject())
        {
            var path = $"{prefix}{field}.{item.Name}";
            if (map.Count >= MaxItems) { errors.Add(prefix + field, $"at most {MaxItems} entries"); break; }
            var text = item.Value.ValueKind switch
            {
                JsonValueKind.String => item.Value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => item.Value.GetRawText(),
                _ => null,
            };
            if (text is null) errors.Add(path, "must be a string");
            else if (labelValues ? !Names.IsLabel(item.Name, text) : !Names.IsLabel(item.Name, "x") || text.Length is 0 or > 256)
                errors.Add(path, labelValues
                    ? "keys and values: up to 63 letters, digits, '.', '-', '_', starting and ending alphanumeric"
                    : "names: up to 63 letters, digits, '.', '-', '_'; values 1-256 characters");
            else map[item.Name] = text;
        }

        return map;
    }

    private static List<(JsonElement Item, string Path)> Array(JsonElement obj, string field, string prefix, ValidationErrors errors)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(prefix + field, "must be an array");
            return [];
        }

        if (value.GetArrayLength() > MaxItems)
        {
            errors.Add(prefix + field, $"at most {MaxItems} items");
            return [];
        }

        return value.EnumerateArray().Select((item, i) => (item, $"{prefix}{field}[{i}]")).ToList();
    }

    private static string? String(JsonElement obj, string field, string prefix, ValidationErrors errors)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        // YAML writes 2.0 unquoted: a number keeps its text where a string is expected.
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetRawText();
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(prefix + field, "must be a string");
            return null;
        }

        return value.GetString();
    }

    private static bool? Bool(JsonElement obj, string field, string prefix, ValidationErrors errors)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        errors.Add(prefix + field, "must be true or false");
        return null;
    }

    private static int? Int(JsonElement obj, string field, string prefix, ValidationErrors errors)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n))
        {
            return n;
        }

        errors.Add(prefix + field, "must be a whole number");
        return null;
    }

    private static T? Enum<T>(JsonElement obj, string field, string prefix, ValidationErrors errors, bool required)
        where T : struct, Enum
    {
        var names = string.Join("|", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) errors.Add(prefix + field, $"is required: {names}");
            return null;
        }

        if (value.ValueKind == JsonValueKind.String && System.Enum.TryParse<T>(value.GetString(), ignoreCase: true, out var parsed)
            && System.Enum.IsDefined(parsed) && !value.GetString()!.Any(char.IsDigit))
        {
            return parsed;
        }

        errors.Add(prefix + field, $"must be one of {names}");
        return null;
    }

    private static void Unknown(JsonElement obj, string[] known, string prefix, ValidationErrors errors)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                errors.Add(prefix + property.Name,
                    $"unknown field.{Suggestions.DidYouMean(property.Name, known)} Allowed here: {string.Join(", ", known)}.");
            }
        }
    }
}
