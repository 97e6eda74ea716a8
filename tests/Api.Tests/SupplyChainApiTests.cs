using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Domain.Tests.SupplyChain;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// The engine with a "SupplyChain" configuration whose builder key is generated here: "prod" requires provenance from
/// the GitHub builder; "hardened" allows only another builder; "payments" requires an SBOM without critical
/// vulnerabilities and with MIT or Apache-2.0 licences only.
/// </summary>
public sealed class SupplyChainEngine : IDisposable
{
    private readonly EngineFactory _base = new();
    private readonly LiveConfiguration _configuration = new();

    public SupplyChainEngine()
    {
        var settings = new Dictionary<string, string?>
        {
            ["SupplyChain:TrustedBuilders:0:Id"] = Provenance.Builder,
            ["SupplyChain:TrustedBuilders:0:Keys:0:KeyId"] = Signer.KeyId,
            ["SupplyChain:TrustedBuilders:0:Keys:0:Algorithm"] = "ecdsa-p256",
            ["SupplyChain:TrustedBuilders:0:Keys:0:PublicKeyPem"] = Signer.PublicKeyPem,
            ["SupplyChain:TrustedBuilders:0:Keys:1:KeyId"] = OldSigner.KeyId,
            ["SupplyChain:TrustedBuilders:0:Keys:1:Algorithm"] = "ed25519",
            ["SupplyChain:TrustedBuilders:0:Keys:1:PublicKeyPem"] = OldSigner.PublicKeyPem,
            ["SupplyChain:Services:shop:Repository"] = Provenance.Repository,
            ["SupplyChain:Services:shop:Ref"] = "refs/heads/main",
            // Supply-chain policy alone: no environment here also needs change records and approvals.
            ["Governance:ProtectedEnvironments:0"] = "governed-elsewhere",
            ["SupplyChain:Environments:prod:RequireProvenance"] = "true",
            ["SupplyChain:Environments:prod:AllowedBuilders:0"] = Provenance.Builder,
            ["SupplyChain:Environments:prod-eu:RequireProvenance"] = "true",
            ["SupplyChain:Environments:hardened:RequireProvenance"] = "true",
            ["SupplyChain:Environments:hardened:AllowedBuilders:0"] = "https://ci.acme.internal/hardened",
            ["SupplyChain:Environments:payments:RequireSbom"] = "true",
            ["SupplyChain:Environments:payments:MinimumBlockedSeverity"] = "critical",
            ["SupplyChain:Environments:payments:AllowedLicenses:0"] = "MIT",
            ["SupplyChain:Environments:payments:AllowedLicenses:1"] = "Apache-2.0",
            ["SupplyChain:Environments:payments-queued:MinimumBlockedSeverity"] = "critical",
        };
        foreach (var (key, value) in settings)
        {
            _configuration.Provider.Set(key, value);
        }

        Factory = _base.WithWebHostBuilder(b => b.ConfigureAppConfiguration((_, c) => c.Add(_configuration)));
    }

    /// <summary>ECDSA P-256 key of the trusted builder.</summary>
    public TestSigner Signer { get; } = TestSigner.Ecdsa("ci-2026");

    /// <summary>Ed25519 key of the same builder, revoked by one of the tests.</summary>
    public TestSigner OldSigner { get; } = TestSigner.Ed25519("ci-2025");

    public WebApplicationFactory<Program> Factory { get; }

    public HttpClient As(string key)
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Changes one setting in the running engine, as a configuration reload would.</summary>
    public void Reconfigure(string key, string value) => _configuration.Provider.SetAndReload(key, value);

    public void Dispose()
    {
        Factory.Dispose();
        _base.Dispose();
        Signer.Dispose();
        OldSigner.Dispose();
    }

    private sealed class LiveConfiguration : IConfigurationSource
    {
        public LiveProvider Provider { get; } = new();

        public IConfigurationProvider Build(IConfigurationBuilder builder) => Provider;
    }

    private sealed class LiveProvider : ConfigurationProvider
    {
        public void SetAndReload(string key, string value)
        {
            Set(key, value);
            OnReload();
        }
    }
}

public class SupplyChainApiTests(SupplyChainEngine engine) : IClassFixture<SupplyChainEngine>
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);

    private const string Sbom = """
        {
          "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
          "components": [
            { "type": "library", "bom-ref": "lodash", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20",
              "licenses": [ { "license": { "id": "MIT" } } ] },
            { "type": "library", "bom-ref": "readline", "name": "readline", "version": "8.2", "purl": "pkg:generic/readline@8.2",
              "licenses": [ { "expression": "GPL-3.0-only OR GPL-2.0-only" } ] },
            { "type": "library", "bom-ref": "left-pad", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0",
              "licenses": [ { "expression": "MIT OR GPL-3.0-only" } ] }
          ],
          "vulnerabilities": [
            { "id": "CVE-2021-23337", "ratings": [ { "severity": "critical" } ], "affects": [ { "ref": "lodash" } ] }
          ]
        }
        """;

    private const string VulnFinding = "vuln:CVE-2021-23337@pkg:npm/lodash@4.17.20";
    private const string LicenceFinding = "licence:GPL-3.0-only OR GPL-2.0-only@pkg:generic/readline@8.2";

    private async Task Environment(string name, int stepLatencyMs = 0)
    {
        await _operator.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = 2,
            stepLatencyMs,
            idPrefix = TestHttp.Unique(name),
            currentArtifact = TestHttp.Digest("shop-1.0.0"),
            currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
    }

    private async Task<string> Release(string version = "2.0.0") =>
        (string)(await _pipeline.PostJson("/v1/releases", new { service = "shop", version, artifact = Provenance.Artifact, commit = "4f2a9c1" })
            .Expect(HttpStatusCode.Created))["id"]!;

    private Task<HttpResponseMessage> PostRaw(HttpClient client, string url, string body) =>
        client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> Rollout(string release, string environment) =>
        _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment });

    [Fact]
    public async Task An_agents_command_carries_the_releases_provenance_envelope_for_it_to_verify()
    {
        var env = BoundEnvironment;
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var agent = engine.As(BoundAgentKey);
        var host = TestHttp.Unique("vm");
        await agent.PostJson("/v1/hosts", new { id = host, environment = env, service = "shop", currentArtifact = TestHttp.Digest("shop-1"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.OK);
        var release = await Release("2.5.0");
        var envelope = Provenance.Envelope(engine.Signer, Provenance.Statement());
        await PostRaw(_pipeline, $"/v1/releases/{release}/attestations", envelope).Expect(HttpStatusCode.OK);
        await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created);

        var desired = await agent.GetAsync($"/v1/hosts/{host}/desired").Expect(HttpStatusCode.OK);
        var command = desired["services"]!.AsArray().Single()!;
        Assert.Equal("Apply", (string?)command["kind"]);
        Assert.Equal(envelope, (string?)command["provenance"]);
    }

    [Fact]
    public async Task Provenance_attesting_another_commit_than_the_release_claims_is_refused_and_nothing_is_kept()
    {
        await Environment("prod");
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "shop", version = "2.9.0", artifact = Provenance.Artifact, commit = "0badc0ffee" })
            .Expect(HttpStatusCode.Created))["id"]!;

        var refused = await PostRaw(_pipeline, $"/v1/releases/{release}/attestations", Provenance.Envelope(engine.Signer, Provenance.Statement()))
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal($"attestation refused: release {release} claims commit 0badc0ffee, but its provenance attests commit {Provenance.Commit}", (string?)refused["detail"]);
        var provenance = await _operator.GetAsync($"/v1/releases/{release}/provenance").Expect(HttpStatusCode.OK);
        Assert.Equal(0, (int)provenance["attestations"]!);
        Assert.Null(Env(provenance, "prod")["verified"]);
        var rollout = await Rollout(release, "prod").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains("claims commit 0badc0ffee", (string?)rollout["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_protected_environment_refuses_a_release_until_a_valid_attestation_is_attached()
    {
        await Environment("prod");
        await Environment("hardened");
        var release = await Release();

        var refused = await Rollout(release, "prod").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal($"supply-chain: release '{release}' has no verified provenance attestation for environment 'prod', which requires one (none is attached); "
            + $"attach a DSSE-signed SLSA v1 provenance with POST /v1/releases/{release}/attestations", (string?)refused["detail"]);

        // Malformed envelopes are 400 with the field, never 500.
        foreach (var bad in new[] { "[]", "{\"payloadType\":1}", "{\"payloadType\":\"t\",\"payload\":\"***\",\"signatures\":[{\"sig\":\"AA\"}]}", "null", "{" })
        {
            await PostRaw(_pipeline, $"/v1/releases/{release}/attestations", bad).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        }

        // Wrong signer, wrong subject and wrong source are each refused with their own reason, and nothing is kept.
        using var intruder = TestSigner.Ecdsa("laptop");
        var wrongSigner = await PostRaw(_pipeline, $"/v1/releases/{release}/attestations", Provenance.Envelope(intruder, Provenance.Statement()))
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal("attestation refused: keyid 'laptop' is not trusted", (string?)wrongSigner["detail"]);
        var wrongSubject = await PostRaw(_pipeline, $"/v1/releases/{release}/attestations",
            Provenance.Envelope(engine.Signer, Provenance.Statement(subjectHex: new string('b', 64))))
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.StartsWith($"attestation refused: no subject has digest {Provenance.Artifact} (the release's artifact)", (string?)wrongSubject["detail"], StringComparison.Ordinal);
        var wrongSource = await PostRaw(_pipeline, $"/v1/releases/{release}/attestations",
            Provenance.Envelope(engine.Signer, Provenance.Statement(repository: "https://github.com/mallory/shop")))
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal("attestation refused: source repository 'https://github.com/mallory/shop' is not service 'shop''s declared source 'https://github.com/acme/shop'",
            (string?)wrongSource["detail"]);
        var stillRefused = await Rollout(release, "prod").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains("attached attestations were refused: source repository 'https://github.com/mallory/shop'", (string?)stillRefused["detail"], StringComparison.Ordinal);

        // A valid attestation verifies for prod; "hardened" allows only another builder and says so.
        var attached = await PostRaw(_pipeline, $"/v1/releases/{release}/attestations", Provenance.Envelope(engine.Signer, Provenance.Statement()))
            .Expect(HttpStatusCode.OK);
        Assert.Equal(Provenance.Commit, (string?)attached["provenance"]!["commit"]);
        var provenance = await _operator.GetAsync($"/v1/releases/{release}/provenance").Expect(HttpStatusCode.OK);
        var prod = Env(provenance, "prod");
        Assert.Equal(Provenance.Builder, (string?)prod["verified"]!["builder"]);
        Assert.Equal(Provenance.Repository, (string?)prod["verified"]!["sourceRepository"]);
        Assert.Equal(Provenance.Commit, (string?)prod["verified"]!["commit"]);
        Assert.Equal("ci-2026", (string?)prod["verified"]!["keyId"]);
        Assert.Null(Env(provenance, "hardened")["verified"]);
        var shown = await _operator.GetAsync($"/v1/releases/{release}").Expect(HttpStatusCode.OK);
        Assert.Equal(Provenance.Commit, (string?)shown["provenance"]!["prod"]!["commit"]);
        Assert.Null(shown["provenance"]!["hardened"]);

        var rollout = (string)(await Rollout(release, "prod").Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        var hardened = await Rollout(release, "hardened").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains($"builder '{Provenance.Builder}' is not allowed in environment 'hardened' (allowed: https://ci.acme.internal/hardened)",
            (string?)hardened["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sbom_findings_block_promotion_until_each_is_waived_and_block_again_when_a_waiver_expires()
    {
        await Environment("payments");
        var release = await Release();

        var noSbom = await Rollout(release, "payments").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains($"release '{release}' has no SBOM, which environment 'payments' requires", (string?)noSbom["detail"], StringComparison.Ordinal);
        await PostRaw(_pipeline, $"/v1/releases/{release}/sbom", "{\"bomFormat\":\"SPDX\"}").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");

        var findings = await PostRaw(_pipeline, $"/v1/releases/{release}/sbom", Sbom).Expect(HttpStatusCode.OK);
        Assert.Equal([VulnFinding, LicenceFinding], Env(findings, "payments")["findings"]!.AsArray().Select(f => (string?)f!["id"]));

        var blocked = await Rollout(release, "payments").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        var detail = (string?)blocked["detail"];
        Assert.Contains("2 SBOM finding(s) block environment 'payments'", detail, StringComparison.Ordinal);
        Assert.Contains($"CVE-2021-23337 (critical) affects pkg:npm/lodash@4.17.20 [finding {VulnFinding}]", detail, StringComparison.Ordinal);
        Assert.Contains($"pkg:generic/readline@8.2: licence expression 'GPL-3.0-only OR GPL-2.0-only' is not allowed", detail, StringComparison.Ordinal);

        // Only operators (or approvers) waive; a waiver names one existing finding.
        var soon = DateTimeOffset.UtcNow.AddSeconds(2);
        await _pipeline.PostJson($"/v1/releases/{release}/waivers", new { finding = VulnFinding, environment = "payments", reason = "x", expiresAt = soon })
            .ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await _operator.PostJson($"/v1/releases/{release}/waivers", new { finding = "vuln:nope", environment = "payments", reason = "x", expiresAt = soon })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        await _operator.PostJson($"/v1/releases/{release}/waivers", new { finding = VulnFinding, environment = "payments", reason = "x", expiresAt = DateTimeOffset.UtcNow.AddDays(400) })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");

        // Short waivers let it through until they expire...
        foreach (var finding in new[] { VulnFinding, LicenceFinding })
        {
            var waiver = await _operator.PostJson($"/v1/releases/{release}/waivers",
                new { finding, environment = "payments", reason = "accepted until the patched build ships", expiresAt = soon }).Expect(HttpStatusCode.Created);
            Assert.Equal("alice", (string?)waiver["approver"]);
        }

        var waived = await _operator.GetAsync($"/v1/releases/{release}/sbom-findings").Expect(HttpStatusCode.OK);
        Assert.True(DateTimeOffset.UtcNow < soon, "the machine was too slow to observe the waiver before it expired");
        Assert.True((bool)Env(waived, "payments")["passed"]!);

        // ...and block again once they have.
        await _operator.WaitFor($"/v1/releases/{release}/sbom-findings", v => !(bool)Env(v, "payments")["passed"]!);
        var expired = await Rollout(release, "payments").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains(VulnFinding, (string?)expired["detail"], StringComparison.Ordinal);

        foreach (var finding in new[] { VulnFinding, LicenceFinding })
        {
            await _operator.PostJson($"/v1/releases/{release}/waivers",
                new { finding, environment = "payments", reason = "accepted for this release", expiresAt = DateTimeOffset.UtcNow.AddDays(7) }).Expect(HttpStatusCode.Created);
        }

        var rollout = (string)(await Rollout(release, "payments").Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        // The SBOM and each waiver are in the audit trail with who, which role, the environment and why.
        var trail = await _operator.WaitFor($"/v1/audit?release={release}&limit=1000",
            p => p["items"]!.AsArray().Count(e => ((string?)e!["action"])!.EndsWith("waiver.granted", StringComparison.Ordinal)) == 4);
        var waiverEntry = trail["items"]!.AsArray().First(e => ((string?)e!["action"])!.EndsWith("waiver.granted", StringComparison.Ordinal))!;
        Assert.Equal(("alice", "operator", "payments", "accepted until the patched build ships"),
            ((string?)waiverEntry["principal"], (string?)waiverEntry["role"], (string?)waiverEntry["environment"], (string?)waiverEntry["reason"]));
        Assert.Contains(trail["items"]!.AsArray(), e => ((string?)e!["action"])!.EndsWith("sbom.attached", StringComparison.Ordinal) && (string?)e["principal"] == "ci");
    }

    private static JsonNode Env(JsonNode view, string environment) =>
        view["environments"]!.AsArray().Single(e => (string?)e!["environment"] == environment)!;

    [Fact]
    public async Task Revoking_a_key_refuses_new_attestations_but_does_not_invalidate_a_release_verified_before()
    {
        await Environment("prod-eu");
        var verifiedBefore = await Release();
        await PostRaw(_pipeline, $"/v1/releases/{verifiedBefore}/attestations", Provenance.Envelope(engine.OldSigner, Provenance.Statement()))
            .Expect(HttpStatusCode.OK);

        engine.Reconfigure("SupplyChain:TrustedBuilders:0:Keys:1:Revoked", "true");

        var attachedAfter = await Release();
        var refused = await PostRaw(_pipeline, $"/v1/releases/{attachedAfter}/attestations", Provenance.Envelope(engine.OldSigner, Provenance.Statement()))
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Equal($"attestation refused: key 'ci-2025' is revoked (builder '{Provenance.Builder}')", (string?)refused["detail"]);
        await Rollout(attachedAfter, "prod-eu").ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");

        var kept = Env(await _operator.GetAsync($"/v1/releases/{verifiedBefore}/provenance").Expect(HttpStatusCode.OK), "prod-eu");
        Assert.Equal("ci-2025", (string?)kept["verified"]!["keyId"]);
        var rollout = (string)(await Rollout(verifiedBefore, "prod-eu").Expect(HttpStatusCode.Created))["id"]!;
        await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");
    }

    [Fact]
    public async Task A_waiver_that_expires_while_the_rollout_is_queued_aborts_it_with_the_reason()
    {
        // One slot, held for a few seconds by another service's rollout (no SBOM findings there: it has no SBOM).
        await Environment("payments-queued", stepLatencyMs: 3000);
        var holder = (string)(await _pipeline.PostJson("/v1/releases", new { service = "ledger", version = "1.1.0", artifact = TestHttp.Digest("ledger") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var holding = (string)(await Rollout(holder, "payments-queued").Expect(HttpStatusCode.Created))["id"]!;

        var release = await Release("2.0.1");
        await PostRaw(_pipeline, $"/v1/releases/{release}/sbom", Sbom).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/releases/{release}/waivers",
            new { finding = VulnFinding, environment = "payments-queued", reason = "hotfix window", expiresAt = DateTimeOffset.UtcNow.AddSeconds(2) })
            .Expect(HttpStatusCode.Created);
        var rollout = (string)(await Rollout(release, "payments-queued").Expect(HttpStatusCode.Created))["id"]!;

        var aborted = await _operator.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Aborted");
        Assert.Contains($"supply-chain: 1 SBOM finding(s) block environment 'payments-queued'", (string?)aborted["statusReason"], StringComparison.Ordinal);
        Assert.Contains(VulnFinding, (string?)aborted["statusReason"], StringComparison.Ordinal);
        await _operator.WaitFor($"/v1/rollouts/{holding}", r => (string?)r["status"] == "Succeeded");
    }
}
