namespace Deploy.Engine.Grains.Tests.Governance;

/// <summary>The silo's "Governance" section in the shared test cluster: only environments named gov-* are protected.</summary>
public static class GovernanceSettings
{
    public const string ProtectedPrefix = "gov";

    public static readonly IReadOnlyDictionary<string, string?> Values = new Dictionary<string, string?>
    {
        ["Governance:ProtectedEnvironments:0"] = ProtectedPrefix + "-*",
        ["Governance:Approvers:alice:0"] = "team",
        ["Governance:Approvers:bob:0"] = "cab",
        ["Governance:Approvers:erin:0"] = "executive",
        ["Governance:Approvers:test-pipeline:0"] = "cab",
    };
}
