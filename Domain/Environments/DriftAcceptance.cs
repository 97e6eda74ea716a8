namespace Deploy.Engine.Domain.Environments;

/// <summary>The baseline after accepting hosts' drift, or why it cannot be accepted.</summary>
public sealed record AcceptedBaseline(Baseline? Baseline, IReadOnlyList<FieldDifference> Accepted, string? Conflict);

/// <summary>
/// Accepting drift writes what the named hosts actually run into the declared baseline: each drifted field takes
/// the host's value (a service the baseline did not declare is added; a configuration hash or runtime fact the host
/// did not report is removed from the baseline). Two hosts that report different values for the same field cannot
/// both be accepted: that is a conflict naming both, and nothing changes.
/// </summary>
public static class DriftAcceptance
{
    public static AcceptedBaseline Accept(Baseline declared, IReadOnlyList<(string Host, HostFacts Facts)> hosts)
    {
        var chosen = new Dictionary<string, (string Host, FieldDifference Difference)>(StringComparer.Ordinal);
        foreach (var (host, facts) in hosts)
        {
            foreach (var difference in DriftComparer.Compare(declared, facts))
            {
                if (chosen.TryGetValue(difference.Field, out var earlier) && !string.Equals(earlier.Difference.Actual, difference.Actual, StringComparison.Ordinal))
                {
                    return new AcceptedBaseline(null, [], $"hosts '{earlier.Host}' and '{host}' report different values for {difference.Field} " +
                        $"('{earlier.Difference.Actual ?? "none"}' and '{difference.Actual ?? "none"}'): name the hosts whose facts to accept");
                }

                chosen[difference.Field] = (host, difference);
            }
        }

        var services = declared.Services.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var runtime = declared.Runtime.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
        foreach (var (field, (_, difference)) in chosen)
        {
            var parts = field.Split('.');
            if (parts[0] == "runtime")
            {
                var key = field["runtime.".Length..];
                if (difference.Actual is null) runtime.Remove(key);
                else runtime[key] = difference.Actual;
                continue;
            }

            var service = parts[1];
            var current = services.GetValueOrDefault(service) ?? new ServiceBaseline(null, null);
            services[service] = parts[2] == "version"
                ? current with { Version = difference.Actual }
                : current with { ConfigHash = difference.Actual };
        }

        var accepted = chosen.Values.Select(c => c.Difference).OrderBy(d => d.Field, StringComparer.Ordinal).ToList();
        return new AcceptedBaseline(new Baseline(services, runtime), accepted, null);
    }
}
