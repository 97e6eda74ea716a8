using System.Globalization;

namespace Deploy.Engine.Domain.Governance;

/// <summary>What is known about a release going into one environment.</summary>
/// <param name="Environment">The target environment's name (for the reasons).</param>
/// <param name="ProtectedEnvironment">The environment is production or otherwise protected.</param>
/// <param name="FleetShare">The share of the environment's hosts the rollout changes, 0–1.</param>
/// <param name="CustomerFacing">Customers use the service directly.</param>
/// <param name="Visibility">How visible the change is to users.</param>
/// <param name="Schema">What the release does to the data schema.</param>
/// <param name="DataMigration">The release migrates stored data.</param>
/// <param name="FirstDeploy">The service has no previous version in the environment: a rollback has nothing to return to.</param>
/// <param name="RecentFailures">Failed or rolled-back rollouts of the service within the policy's failure window.</param>
public sealed record RiskSignals(
    string Environment,
    bool ProtectedEnvironment,
    double FleetShare,
    bool CustomerFacing,
    Visibility Visibility,
    SchemaChange Schema,
    bool DataMigration,
    bool FirstDeploy,
    int RecentFailures);

/// <summary>One contribution to a score: how many points and why.</summary>
public sealed record RiskReason(int Points, string Reason);

public sealed record RiskAssessment(RiskLevel Level, int Score, IReadOnlyList<RiskReason> Reasons);

/// <summary>
/// Scores a release from its declared signals. Points (impact, visibility, rollback complexity, history):
/// <list type="table">
/// <item>protected (production) environment: 3</item>
/// <item>share of the environment's hosts changed: ≥ 50% → 2, ≥ 10% → 1, less → 0</item>
/// <item>customer-facing service: 2</item>
/// <item>visibility: none 0, low 1, high 2</item>
/// <item>schema change: compatible 1, breaking (not backward-compatible) 3</item>
/// <item>data migration: 2</item>
/// <item>first deploy (no previous artifact to roll back to): 1</item>
/// <item>recent failures of the service: 1 each, at most 3</item>
/// </list>
/// Level: score 0–2 low, 3–5 medium, 6–8 high, 9 and more critical; then raised to the class's minimum.
/// <para>Worked examples (the tests reuse them):</para>
/// <list type="number">
/// <item>staging, 20% of hosts, nothing declared: 1 → low.</item>
/// <item>prod, all hosts, nothing declared: 3 + 2 = 5 → medium.</item>
/// <item>prod, all hosts, customer-facing: 3 + 2 + 2 = 7 → high.</item>
/// <item>prod, 5% of hosts, customer-facing, high visibility, breaking schema, data migration: 3 + 0 + 2 + 2 + 3 + 2 = 12 → critical.</item>
/// <item>staging, all hosts, first deploy, 5 recent failures: 2 + 1 + 3 = 6 → high.</item>
/// </list>
/// </summary>
public static class RiskClassifier
{
    public const int MaxFailurePoints = 3;

    public static RiskAssessment Classify(RiskSignals signals, RiskLevel minimum = RiskLevel.Low)
    {
        ArgumentNullException.ThrowIfNull(signals);
        var reasons = new List<RiskReason>();
        void Add(int points, string reason)
        {
            if (points > 0) reasons.Add(new RiskReason(points, reason));
        }

        Add(signals.ProtectedEnvironment ? 3 : 0, $"environment '{signals.Environment}' is protected");
        var share = Math.Clamp(signals.FleetShare, 0, 1);
        var percent = (share * 100).ToString("0.#", CultureInfo.InvariantCulture);
        Add(share >= 0.5 ? 2 : share >= 0.1 ? 1 : 0, $"changes {percent}% of the environment's hosts");
        Add(signals.CustomerFacing ? 2 : 0, "customer-facing service");
        Add((int)signals.Visibility, $"{signals.Visibility.ToString().ToLowerInvariant()} visibility to users");
        Add(signals.Schema switch { SchemaChange.Compatible => 1, SchemaChange.Breaking => 3, _ => 0 },
            signals.Schema == SchemaChange.Breaking ? "schema change that is not backward-compatible" : "backward-compatible schema change");
        Add(signals.DataMigration ? 2 : 0, "data migration");
        Add(signals.FirstDeploy ? 1 : 0, "first deploy to this environment: no previous artifact to roll back to");
        Add(Math.Min(Math.Max(signals.RecentFailures, 0), MaxFailurePoints),
            $"{signals.RecentFailures} failed or rolled-back rollout{(signals.RecentFailures == 1 ? "" : "s")} of the service recently");

        var score = reasons.Sum(r => r.Points);
        var level = LevelOf(score);
        if (minimum > level)
        {
            reasons.Add(new RiskReason(0, $"raised from {GovernanceNames.Of(level)} to {GovernanceNames.Of(minimum)}: the release class's minimum"));
            level = minimum;
        }

        return new RiskAssessment(level, score, reasons);
    }

    public static RiskLevel LevelOf(int score) => score switch
    {
        <= 2 => RiskLevel.Low,
        <= 5 => RiskLevel.Medium,
        <= 8 => RiskLevel.High,
        _ => RiskLevel.Critical,
    };
}
