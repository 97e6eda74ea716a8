using System.Text.Json;

namespace Deploy.Engine.Domain.Environments;

/// <summary>What an environment is now, as far as the change process cares: whether it is declared, its tier, its protection.</summary>
public sealed record DeclaredControls(bool Declared, bool Production, bool DeclaredProtected, bool ConfiguredProtected);

/// <summary>
/// The change process for declarations of production-tier and protected environments (issue 14): the keys a
/// declaration constrains (operators held out of production, pipelines held back by its gates) cannot rewrite it.
/// A change to such a declaration is proposed and decided by <see cref="ChangeProposals"/>, the rule parameter and
/// secret changes share: it applies once the required number of change authorities other than the proposer approve it,
/// onto the very version it was proposed against. Declaring a new environment stays direct.
/// </summary>
public static class DeclarationChangeRules
{
    /// <summary>
    /// Why a change to <paramref name="environment"/>'s declaration needs approval, or null when it may be applied
    /// directly. Examples: a declared production-tier 'prod' → "environment 'prod' is declared production tier: ...";
    /// an undeclared 'prod' (a new declaration) → null; a declared development 'dev' → null.
    /// </summary>
    public static string? ApprovalNeeded(string environment, DeclaredControls current, int approvals = 1)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (!current.Declared) return null;
        var what = current.Production ? "declared production tier"
            : current.DeclaredProtected ? "declared protected"
            : current.ConfiguredProtected ? "protected by configuration (Governance:ProtectedEnvironments)"
            : null;
        return what is null
            ? null
            : $"environment '{environment}' is {what}: its declaration changes only through an approved declaration change " +
              ChangeProposals.WhoApproves(approvals);
    }

    /// <summary>
    /// Every field that differs between two declarations as JSON documents, by path (<c>tier</c>, <c>gates</c>,
    /// <c>baseline.services.shop.version</c>), in path order; arrays compare whole (written as compact JSON), objects
    /// field by field. Null on a side: absent or null there. Example: {"tier":"Production","gates":["perf"]} against
    /// {"tier":"Development","gates":[]} → tier: Production → Development; gates: ["perf"] → [].
    /// </summary>
    public static IReadOnlyList<FieldDifference> Diff(JsonElement before, JsonElement after)
    {
        var left = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        var right = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        Flatten(before, string.Empty, left);
        Flatten(after, string.Empty, right);
        return left.Keys.Union(right.Keys).Order(StringComparer.Ordinal)
            .Select(k => new FieldDifference(k, left.GetValueOrDefault(k), right.GetValueOrDefault(k)))
            .Where(d => !string.Equals(d.Expected, d.Actual, StringComparison.Ordinal))
            .ToList();
    }

    private static void Flatten(JsonElement element, string path, IDictionary<string, string?> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, path.Length == 0 ? property.Name : path + "." + property.Name, into);
                }

                break;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                break;
            case JsonValueKind.String:
                into[path] = element.GetString();
                break;
            default:
                into[path] = element.GetRawText();
                break;
        }
    }
}
