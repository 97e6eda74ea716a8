using System.Globalization;
using System.Text.Json;
using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Environments;

/// <summary>What an environment is now, as far as the change process cares: whether it is declared, its tier, its protection.</summary>
public sealed record DeclaredControls(bool Declared, bool Production, bool DeclaredProtected, bool ConfiguredProtected);

/// <summary>
/// The change process for declarations of production-tier and protected environments (issue 14): the keys a
/// declaration constrains (operators held out of production, pipelines held back by its gates) cannot rewrite it.
/// A change to such a declaration is proposed, and applied only once a change authority other than the proposer
/// approves it, against the very version it was proposed on. Declaring a new environment stays direct.
/// How many change authorities must approve is a setting (<c>Governance:DeclarationChangeApprovals</c>, default 1, and
/// per environment <c>Governance:EnvironmentChangeApprovals:{env}</c>); the proposer never counts.
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
              (approvals <= 1
                  ? "(a change authority other than the proposer approves it)"
                  : $"({approvals.ToString(CultureInfo.InvariantCulture)} change authorities other than the proposer approve it)");
    }

    /// <summary>The most approvals a change may be set to need: more than a handful is a process nobody can meet.</summary>
    public const int MaxApprovals = 10;

    /// <summary>
    /// How many more approvals a change needs: <paramref name="required"/> less the distinct approvers other than the
    /// proposer (the proposer's own vote never counts; the same approver twice counts once), never below 0.
    /// Examples (required 2, proposer alice): [] → 2; [bob] → 1; [bob, bob] → 1; [bob, alice] → 1; [bob, carol] → 0.
    /// </summary>
    public static int ApprovalsStillNeeded(string proposer, IReadOnlyCollection<string> approvers, int required)
    {
        ArgumentNullException.ThrowIfNull(approvers);
        var counted = approvers.Where(a => !string.Equals(a, proposer, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).Count();
        return Math.Max(0, required - counted);
    }

    /// <summary>
    /// Four eyes on a declaration change: the proposer never decides it (approve or reject), whatever roles their key
    /// holds; reuses <see cref="SeparationOfDuties"/>'s wording. Null when <paramref name="actor"/> may decide.
    /// </summary>
    public static string? DecisionRefusal(string proposer, string actor, string changeId, Authorisation act) =>
        SeparationOfDuties.Refusal(new ChangeAuthors(proposer, []), actor, changeId, act)
            ?.Replace("submitted release", "proposed declaration change", StringComparison.Ordinal);

    /// <summary>
    /// An approval applies the change only onto the version it was proposed against; null when
    /// <paramref name="current"/> is still <paramref name="proposedAgainst"/> (0: proposed before any declaration).
    /// </summary>
    public static string? StaleRefusal(string environment, string changeId, long proposedAgainst, long current) =>
        proposedAgainst == current
            ? null
            : $"the declaration of '{environment}' is at version {current.ToString(CultureInfo.InvariantCulture)}, not version " +
              $"{proposedAgainst.ToString(CultureInfo.InvariantCulture)} that change {changeId} was proposed against: nothing was applied; propose the change again against the current declaration";

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
