using System.Net;
using System.Text;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>Declarations, host facts, gate results and accepted drift are in Azure storage (Azurite) and survive a restart.</summary>
public sealed class DeclaredEnvironmentsOnAzuriteTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task A_declaration_its_accepted_drift_host_facts_and_gate_results_survive_a_restart()
    {
        var settings = EngineHost.Settings.For(_azurite);
        string releaseId;
        await using (var first = new EngineHost(settings))
        {
            var api = first.Client();
            await api.PutAsync("/v1/environments/qa/declaration", new StringContent("""
                tier: staging
                dataClassification: anonymised
                gates: [security-scan]
                baseline:
                  services: {shop: {version: 2.0.0}}
                  runtime: {os-image: ubuntu-24.04}
                ephemeral: {owner: team-cart, ttl: 7d, hostQuota: 3}
                """, Encoding.UTF8, "application/yaml")).Expect(HttpStatusCode.OK);
            await api.PostJson("/v1/environments/qa/simulated-hosts", new { count = 2 }).Expect(HttpStatusCode.Created);
            await api.PostJson("/v1/hosts/qa-0001/facts", new { services = new { shop = new { version = "2.0.1" } }, runtime = new Dictionary<string, string> { ["os-image"] = "ubuntu-24.04" } })
                .Expect(HttpStatusCode.OK);
            await api.PostJson("/v1/environments/qa/drift/reconcile", new { mode = "accept" }).Expect(HttpStatusCode.OK);
            releaseId = (string)(await api.PostJson("/v1/releases", new { service = "shop", version = "2.0.1", artifact = TestHttp.Digest("2.0.1") })
                .Expect(HttpStatusCode.Created))["id"]!;
            await api.PostJson($"/v1/releases/{releaseId}/gates", new { environment = "qa", gate = "security-scan", status = "passed" }).Expect(HttpStatusCode.OK);
        }

        await using var second = new EngineHost(settings);
        var client = second.Client();
        var declared = await client.GetAsync("/v1/environments/qa/declaration").Expect(HttpStatusCode.OK);
        Assert.Equal(2, (int)declared["version"]!);
        Assert.Equal("2.0.1", (string?)declared["declaration"]!["baseline"]!["services"]!["shop"]!["version"]);
        Assert.Equal("team-cart", (string?)declared["declaration"]!["ephemeral"]!["owner"]);
        Assert.Equal("2.0.1", (string?)(await client.GetAsync("/v1/hosts/qa-0001/facts").Expect(HttpStatusCode.OK))["services"]!["shop"]!["version"]);
        Assert.Equal("passed", ((string?)(await client.GetAsync($"/v1/releases/{releaseId}/gates").Expect(HttpStatusCode.OK))[0]!["status"])?.ToLowerInvariant());

        // The host quota is the environment grain's, in storage too.
        await client.PostJson("/v1/environments/qa/simulated-hosts", new { count = 2, idPrefix = "qa-more" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        var drift = await client.PostAsync("/v1/environments/qa/drift/scan", null).Expect(HttpStatusCode.OK);
        Assert.Empty(drift["drifted"]!.AsArray());
    }
}
