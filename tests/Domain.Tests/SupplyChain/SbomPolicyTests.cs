using Deploy.Engine.Domain.SupplyChain;
using Microsoft.Extensions.Time.Testing;

namespace Deploy.Engine.Domain.Tests.SupplyChain;

public class SbomPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 6, 0, 0, TimeSpan.Zero);

    public const string Bom = """
        {
          "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
          "components": [
            { "type": "library", "bom-ref": "lodash", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20",
              "licenses": [ { "license": { "id": "MIT" } } ] },
            { "type": "library", "bom-ref": "readline", "name": "readline", "version": "8.2", "purl": "pkg:generic/readline@8.2",
              "licenses": [ { "license": { "id": "GPL-3.0-only" } } ] },
            { "type": "library", "bom-ref": "dual", "name": "dual", "version": "1.0.0", "purl": "pkg:npm/dual@1.0.0",
              "licenses": [ { "expression": "(GPL-2.0-only OR Apache-2.0) AND MIT" } ] },
            { "type": "library", "bom-ref": "bare", "name": "bare", "version": "0.1.0", "purl": "pkg:npm/bare@0.1.0" }
          ],
          "vulnerabilities": [
            { "id": "CVE-2021-23337", "ratings": [ { "severity": "high" }, { "severity": "critical" } ], "affects": [ { "ref": "lodash" } ] },
            { "id": "CVE-2020-0001", "ratings": [ { "severity": "low" } ], "affects": [ { "ref": "lodash" } ] },
            { "id": "CVE-2024-9999", "ratings": [ { "severity": "critical" } ], "affects": [ { "ref": "dual" } ],
              "analysis": { "state": "not_affected", "justification": "code_not_reachable" } }
          ]
        }
        """;

    private static readonly HashSet<string> Allowed = new(["MIT", "Apache-2.0", "BSD-3-Clause"], StringComparer.OrdinalIgnoreCase);

    private static CycloneDxBom Parse(string json = Bom)
    {
        Assert.True(CycloneDxParser.TryParse(json, out var bom, out var field, out var error), $"{field} {error}");
        return bom!;
    }

    [Fact]
    public void The_sbom_parses_components_licences_and_vulnerabilities()
    {
        var bom = Parse();

        Assert.Equal(["pkg:npm/lodash@4.17.20", "pkg:generic/readline@8.2", "pkg:npm/dual@1.0.0", "pkg:npm/bare@0.1.0"], bom.Components.Select(c => c.Key));
        Assert.Equal("(GPL-2.0-only OR Apache-2.0) AND MIT", bom.Components[2].Licences.Expression);
        Assert.Equal(Severity.Critical, bom.Vulnerabilities[0].Severity);
        Assert.Equal("not_affected", bom.Vulnerabilities[2].AnalysisState);
    }

    [Fact]
    public void A_blocked_licence_and_a_critical_vulnerability_block_promotion_naming_the_components()
    {
        var policy = new EnvironmentSupplyChainPolicy { Sbom = new SbomPolicy { MinimumBlockedSeverity = Severity.Critical, AllowedLicenses = Allowed } };

        var verdict = SupplyChainDecision.Decide("production", policy, new SupplyChainEvidence { ReleaseId = "rel-1", Sbom = Parse() }, Now);

        Assert.False(verdict.Passed);
        Assert.Equal(
            ["vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20", "licence:GPL-3.0-only@pkg:generic/readline@8.2", "no-licence@pkg:npm/bare@0.1.0"],
            verdict.Findings.Select(f => f.Finding.Id));
        Assert.Equal(
            "3 SBOM finding(s) block environment 'production': "
            + "CVE-2021-23337 (critical) affects pkg:npm/lodash@4.17.20 [finding vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20]; "
            + "pkg:generic/readline@8.2: licence GPL-3.0-only is not on the allow-list [finding licence:GPL-3.0-only@pkg:generic/readline@8.2]; "
            + "pkg:npm/bare@0.1.0: no licence declared [finding no-licence@pkg:npm/bare@0.1.0]; "
            + "fix the components or have an approver waive each finding with POST /v1/releases/rel-1/waivers",
            verdict.Reason);
    }

    [Theory]
    [InlineData("critical", new[] { "vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20" })]
    [InlineData("high", new[] { "vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20" })]
    [InlineData("low", new[] { "vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20", "vuln:CVE-2020-0001@pkg:npm/lodash@4.17.20" })]
    public void Vulnerabilities_block_at_or_above_the_severity_and_vex_not_affected_never(string minimum, string[] ids)
    {
        Assert.True(Severities.TryParse(minimum, out var severity));
        var findings = SbomEvaluator.Findings(Parse(), new SbomPolicy { MinimumBlockedSeverity = severity });
        Assert.Equal(ids, findings.Select(f => f.Id));
    }

    [Fact]
    public void The_operators_vulnerability_list_matches_components_by_purl()
    {
        var policy = new SbomPolicy
        {
            MinimumBlockedSeverity = Severity.High,
            KnownVulnerabilities = [new("GHSA-xxxx", Severity.Critical, "pkg:npm/bare"), new("CVE-2000-1", Severity.Medium, "pkg:npm/dual@1.0.0")],
        };

        var findings = SbomEvaluator.Findings(Parse(), policy);

        Assert.Contains(findings, f => f.Id == "vuln:GHSA-xxxx@pkg:npm/bare@0.1.0" && f.Detail.Contains("from the operator's list", StringComparison.Ordinal));
        Assert.DoesNotContain(findings, f => f.Id.StartsWith("vuln:CVE-2000-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Components_without_a_licence_are_a_finding_only_when_configured()
    {
        var findings = SbomEvaluator.Findings(Parse(), new SbomPolicy { AllowedLicenses = Allowed, RequireLicence = false });
        Assert.DoesNotContain(findings, f => f.Kind == FindingKind.NoLicence);
    }

    [Fact]
    public void A_waiver_with_an_expiry_lets_exactly_its_finding_through_until_it_expires()
    {
        var time = new FakeTimeProvider(Now);
        var bom = Parse();
        var policy = new EnvironmentSupplyChainPolicy { Sbom = new SbomPolicy { MinimumBlockedSeverity = Severity.Critical, AllowedLicenses = Allowed, RequireLicence = false } };
        var waivers = new List<Waiver>
        {
            new("vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20", "production", "carol", "not reachable from our code paths", Now.AddDays(7)),
            new("licence:GPL-3.0-only@pkg:generic/readline@8.2", "production", "carol", "legal approved dynamic linking", Now.AddDays(1)),
        };
        SupplyChainVerdict Decide(string environment = "production") =>
            SupplyChainDecision.Decide(environment, policy, new SupplyChainEvidence { ReleaseId = "rel-1", Sbom = bom, Waivers = waivers }, time.GetUtcNow());

        Assert.True(Decide().Passed, Decide().Reason);
        Assert.Equal("carol", Decide().Findings[0].WaivedBy!.Approver);

        // A waiver covers one environment only.
        Assert.False(Decide("staging").Passed);

        // The licence waiver expires after a day: only that finding blocks again.
        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(["licence:GPL-3.0-only@pkg:generic/readline@8.2"], Decide().Findings.Where(f => f.Blocking).Select(f => f.Finding.Id));

        time.Advance(TimeSpan.FromDays(6));
        Assert.Equal(2, Decide().Findings.Count(f => f.Blocking));
    }

    [Fact]
    public void A_missing_sbom_blocks_only_where_one_is_required()
    {
        var evidence = new SupplyChainEvidence { ReleaseId = "rel-1" };
        Assert.True(SupplyChainDecision.Decide("dev", new EnvironmentSupplyChainPolicy(), evidence, Now).Passed);
        Assert.Equal("release 'rel-1' has no SBOM, which environment 'production' requires; attach a CycloneDX JSON SBOM with POST /v1/releases/rel-1/sbom",
            SupplyChainDecision.Decide("production", new EnvironmentSupplyChainPolicy { RequireSbom = true }, evidence, Now).Reason);
    }

    [Theory]
    [InlineData("{\"bomFormat\":\"SPDX\",\"specVersion\":\"1.6\"}", "bomFormat")]
    [InlineData("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"2.0\"}", "specVersion")]
    [InlineData("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":{}}", "components")]
    [InlineData("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":[{\"version\":\"1\"}]}", "components[0].name")]
    [InlineData("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"vulnerabilities\":[{\"ratings\":[]}]}", "vulnerabilities[0].id")]
    [InlineData("{\"bomFormat\":", "sbom")]
    public void Malformed_sboms_name_the_field(string json, string field)
    {
        Assert.False(CycloneDxParser.TryParse(json, out _, out var f, out _));
        Assert.Equal(field, f);
    }
}

public class SpdxExpressionTests
{
    private static readonly HashSet<string> Allowed = new(["MIT", "Apache-2.0", "GPL-2.0-only", "LicenseRef-acme"], StringComparer.OrdinalIgnoreCase);

    [Theory]
    [InlineData("MIT", true, "")]
    [InlineData("mit", true, "")]
    [InlineData("GPL-3.0-only", false, "GPL-3.0-only")]
    [InlineData("MIT OR GPL-3.0-only", true, "")]
    [InlineData("MIT AND GPL-3.0-only", false, "GPL-3.0-only")]
    [InlineData("GPL-3.0-only OR AGPL-3.0-only", false, "GPL-3.0-only,AGPL-3.0-only")]
    [InlineData("(MIT OR GPL-3.0-only) AND (Apache-2.0 OR BSD-3-Clause)", true, "")]
    [InlineData("MIT AND (GPL-3.0-only OR BSD-3-Clause)", false, "GPL-3.0-only,BSD-3-Clause")]
    [InlineData("GPL-3.0-only OR MIT AND Apache-2.0", true, "")]
    [InlineData("GPL-3.0-only OR MIT AND EPL-2.0", false, "GPL-3.0-only,EPL-2.0")]
    [InlineData("GPL-2.0-only WITH Classpath-exception-2.0", true, "")]
    [InlineData("GPL-3.0-only WITH Classpath-exception-2.0", false, "GPL-3.0-only WITH Classpath-exception-2.0")]
    [InlineData("Apache-2.0+", true, "")]
    [InlineData("LicenseRef-acme", true, "")]
    [InlineData("LicenseRef-other", false, "LicenseRef-other")]
    [InlineData("mit or gpl-3.0-only", true, "")]
    public void Expressions_are_evaluated_against_the_allow_list(string text, bool allowed, string blocking)
    {
        Assert.True(SpdxExpression.TryParse(text, out var expression, out var error), error);
        var found = new List<string>();
        Assert.Equal(allowed, expression!.IsAllowed(Allowed, found));
        Assert.Equal(blocking, string.Join(",", found));
    }

    [Theory]
    [InlineData("MIT AND", "ends where a licence id or '(' was expected")]
    [InlineData("(MIT OR Apache-2.0", "has an unclosed '('")]
    [InlineData("MIT Apache-2.0", "unexpected 'Apache-2.0'")]
    [InlineData("AND MIT", "has 'AND' where a licence id was expected")]
    [InlineData("MIT WITH", "has WITH without an exception id")]
    [InlineData("MIT; rm -rf /", "contains a character that is not allowed in an SPDX expression")]
    [InlineData("", "must be 1-2048 characters")]
    public void Malformed_expressions_say_what_is_wrong(string text, string error)
    {
        Assert.False(SpdxExpression.TryParse(text, out _, out var e));
        Assert.Equal(error, e);
    }

    [Fact]
    public void Precedence_is_with_then_and_then_or()
    {
        Assert.True(SpdxExpression.TryParse("A OR B AND C WITH D", out var e, out _));
        Assert.Equal("(A OR (B AND C WITH D))", e!.ToString());
    }
}
