using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>The run command's storage, for real: Azure Table/Blob/Queue providers on Azurite.</summary>
public sealed class RestartSurvivalTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task State_survives_a_restart_of_engine_and_azurite_and_an_in_flight_rollout_completes()
    {
        var settings = EngineHost.Settings.For(_azurite);
        string releaseId, rolloutId;
        const int hosts = 24;

        await using (var first = new EngineHost(settings))
        {
            var api = first.Client();
            await api.PutJson("/v1/environments/staging", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
            await api.PostJson("/v1/environments/staging/simulated-hosts", new
            {
                count = hosts,
                stepLatencyMs = 250,
                labels = new { region = "eu-west" },
                currentArtifact = TestHttp.Digest("1.0.0"),
                currentVersion = "1.0.0",
            }).Expect(HttpStatusCode.Created);
            releaseId = (string)(await PostRelease(api).Expect(HttpStatusCode.Created))["id"]!;
            rolloutId = (string)(await api.PostJson("/v1/rollouts", new { releaseId, environment = "staging", strategy = new { preset = "OneAtATime" } })
                .Expect(HttpStatusCode.Created))["id"]!;

            // Stop in the middle: some hosts done, most not started, one in flight.
            var partial = await api.WaitFor($"/v1/rollouts/{rolloutId}", r => (int)r["hosts"]!["updated"]! >= 3, TimeSpan.FromSeconds(60));
            Assert.Equal("Progressing", (string?)partial["status"]);
        }

        await _azurite.RestartAsync();

        await using var second = new EngineHost(settings);
        var client = second.Client();

        var release = await client.GetAsync($"/v1/releases/{releaseId}").Expect(HttpStatusCode.OK);

        // The pipeline retries its submission after the restart: same answer, nothing new.
        var replay = await PostRelease(client);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(releaseId, (string?)(await Task.FromResult(replay).Expect(HttpStatusCode.Created))["id"]);
        Assert.Equal("shop", (string?)release["service"]);
        Assert.Contains(rolloutId, release["rollouts"]!.AsArray().Select(r => (string?)r));

        var resumed = await client.GetAsync($"/v1/rollouts/{rolloutId}").Expect(HttpStatusCode.OK);
        Assert.NotEqual("Succeeded", (string?)resumed["status"]);
        Assert.True((int)resumed["hosts"]!["updated"]! >= 3, resumed.ToJsonString());

        var done = await client.WaitFor($"/v1/rollouts/{rolloutId}", r => (string?)r["status"] is "Succeeded" or "RolledBack" or "Failed", TimeSpan.FromSeconds(120));
        Assert.Equal("Succeeded", (string?)done["status"]);
        Assert.Equal(hosts, (int)done["hosts"]!["updated"]!);

        var onNew = await client.GetAsync("/v1/hosts?environment=staging&version=2.0.0&state=Ready").Expect(HttpStatusCode.OK);
        Assert.Equal(hosts, (int)onNew["total"]!);

        var environment = await client.GetAsync("/v1/environments/staging").Expect(HttpStatusCode.OK);
        Assert.Equal("2.0.0", (string?)environment["services"]!["shop"]!["version"]);

        // The event history was written through Azure Queue streams and is in storage too.
        var events = await client.WaitFor($"/v1/rollouts/{rolloutId}/events?limit=1000",
            e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == "dev.cdevents.service.deployed.0.2.0")
                && TestHttp.HostsIn(e, TestHttp.HostsUpdatedType).Distinct().Count() >= hosts,
            TimeSpan.FromSeconds(60));
        Assert.Contains(events["items"]!.AsArray(), x => (string?)x!["type"] == "dev.cdevents.pipelinerun.started.0.2.0");

        // Across the restart every host is recorded as updated exactly once.
        var updated = TestHttp.HostsIn(events, TestHttp.HostsUpdatedType).GroupBy(h => h).ToList();
        Assert.Equal(hosts, updated.Count);
        Assert.All(updated, g => Assert.Single(g));
    }

    private static Task<HttpResponseMessage> PostRelease(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/releases")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0"), commit = "c0ffee" }),
        };
        request.Headers.Add("Idempotency-Key", "pipeline/run-42#attempt?1");
        return client.SendAsync(request);
    }

    [Fact]
    public async Task Storage_outage_gives_503_with_retry_after_and_the_engine_resumes_on_its_own()
    {
        var settings = EngineHost.Settings.For(_azurite);
        await using var engine = new EngineHost(settings);
        var api = engine.Client();
        await api.PutJson("/v1/environments/outage", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var before = (string)(await api.PostJson("/v1/releases", new { service = "shop", version = "1.0.0", artifact = TestHttp.Digest("1.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;

        await _azurite.StopAsync(graceful: true);
        var response = await api.PostJson("/v1/releases", new { service = "shop", version = "1.0.1", artifact = TestHttp.Digest("1.0.1") });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("urn:deploy-engine:problem:storage-unavailable", (string?)JsonNode.Parse(body)!["type"]);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", body, StringComparison.Ordinal);

        await _azurite.RestartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpStatusCode status;
        do
        {
            status = (await api.PostJson("/v1/releases", new { service = "shop", version = "1.0.2", artifact = TestHttp.Digest("1.0.2") })).StatusCode;
            if (status != HttpStatusCode.Created) await Task.Delay(500);
        }
        while (status != HttpStatusCode.Created && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Created, status);
        await api.GetAsync($"/v1/releases/{before}").Expect(HttpStatusCode.OK);
    }
}
