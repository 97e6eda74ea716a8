using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>
/// What the multi-process tests do through the HTTP API, as a user would: simulated fleets, releases, rollouts, and
/// reading state and event histories. Every read tolerates an engine that is still noticing a dead or restarted silo
/// (a 5xx or a dropped connection is asked again until the deadline).
/// </summary>
public static class ProcessFleet
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>N simulated hosts of <paramref name="service"/> (ids {service}-0001…), labelled service=…, running 1.0.0.</summary>
    public static async Task<List<string>> AddHosts(HttpClient api, string env, string service, int count, int latencyMs, Dictionary<string, string>? labels = null)
    {
        var all = new Dictionary<string, string>(labels ?? []) { ["service"] = service };
        var created = await api.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count, idPrefix = service, labels = all, stepLatencyMs = latencyMs,
            currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return created["hostIds"]!.AsArray().Select(h => (string)h!).ToList();
    }

    /// <summary>Submits release <paramref name="service"/> <paramref name="version"/> and rolls it out to that service's hosts in batches of 2; the rollout id.</summary>
    public static async Task<string> Roll(HttpClient api, string env, string service, string version)
    {
        var release = await api.PostJson("/v1/releases", new { service, version, artifact = TestHttp.Digest($"{service}-{version}") })
            .Expect(HttpStatusCode.Created);
        var rollout = await api.PostJson("/v1/rollouts", new
        {
            releaseId = (string)release["id"]!, environment = env,
            strategy = new { maxSurge = "0", maxUnavailable = "2" },
            selector = new Dictionary<string, string> { ["service"] = service },
        }).Expect(HttpStatusCode.Created);
        return (string)rollout["id"]!;
    }

    /// <summary>GET that retries while the cluster settles; null if it never answered 200 before the deadline.</summary>
    public static async Task<JsonNode?> Get(HttpClient api, string url, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                using var response = await api.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return JsonNode.Parse(await response.Content.ReadAsStringAsync());
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // The node is restarting or was killed; the caller may be asking another.
            }

            if (DateTime.UtcNow > deadline) return null;
            await Task.Delay(250);
        }
    }

    /// <summary>Polls a rollout until <paramref name="condition"/> holds, asking each API in turn.</summary>
    public static async Task<JsonNode> WaitFor(IReadOnlyList<HttpClient> apis, string rollout, Func<JsonNode, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        for (var i = 0; DateTime.UtcNow < deadline; i++)
        {
            last = await Get(apis[i % apis.Count], $"/v1/rollouts/{rollout}", TimeSpan.FromSeconds(2)) ?? last;
            if (last is not null && condition(last)) return last;
            await Task.Delay(200);
        }

        Assert.Fail($"rollout {rollout} did not reach the expected state in {timeout}; last: {last?.ToJsonString()}");
        return last!;
    }

    public static bool Terminal(JsonNode rollout) => (string?)rollout["status"] is "Succeeded" or "RolledBack" or "Aborted" or "Failed";

    /// <summary>The rollout's event history from the API, once it holds the finish (queue streams deliver late).</summary>
    public static async Task<IReadOnlyList<EngineEvent>> History(HttpClient api, string rollout)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<EngineEvent> events = [];
        while (DateTime.UtcNow < deadline)
        {
            var page = await Get(api, $"/v1/rollouts/{rollout}/events?limit=1000");
            events = page?["items"].Deserialize<List<EngineEvent>>(Web) ?? [];
            if (events.Any(e => e.Type == EventTypes.PipelineRunFinished)) return events;
            await Task.Delay(250);
        }

        Assert.Fail($"history of {rollout} has no finish: {string.Join(", ", events.Select(e => e.Type).Distinct())}");
        return events;
    }

    /// <summary>Every host of <paramref name="ids"/> is Ready on <paramref name="version"/>, read through <paramref name="api"/>.</summary>
    public static async Task AssertHosts(HttpClient api, IEnumerable<string> ids, string version)
    {
        foreach (var id in ids)
        {
            var host = await Get(api, $"/v1/hosts/{id}");
            Assert.NotNull(host);
            Assert.True((string?)host["state"] == "Ready" && (string?)host["currentVersion"] == version,
                $"{id} is {(string?)host["state"]} on {(string?)host["currentVersion"]}, expected Ready on {version}");
        }
    }

    /// <summary>
    /// From one rollout's history: every target host was sent the release in exactly one batch and reported updated
    /// exactly once (a host commanded again after a failover or restart would appear twice).
    /// </summary>
    public static void AssertEachHostDeployedOnce(IReadOnlyList<EngineEvent> history, IReadOnlyCollection<string> targets, string rollout)
    {
        var batched = history.Where(e => e.Type == EventTypes.RolloutBatchStarted).SelectMany(e => e.Data["hosts"].Split(',')).ToList();
        var updated = history.Where(e => e.Type == EventTypes.HostsUpdated).SelectMany(e => e.Data["hosts"].Split(',')).ToList();
        var timeline = string.Join("\n", history.Where(e => e.Type is EventTypes.RolloutBatchStarted or EventTypes.PipelineRunStarted or EventTypes.SlotAdmitted
                or EventTypes.RolloutCreated or EventTypes.PipelineRunQueued)
            .Select(e => $"  {e.Sequence} {e.Timestamp:HH:mm:ss.fff} {e.Type} {e.Data.GetValueOrDefault("hosts")} {e.Reason}"));
        Assert.True(batched.Order().SequenceEqual(targets.Order()),
            $"{rollout}: batches named [{string.Join(",", batched.Order())}], expected each of [{string.Join(",", targets.Order())}] once:\n{timeline}");
        Assert.True(updated.Order().SequenceEqual(targets.Order()),
            $"{rollout}: hosts.updated named [{string.Join(",", updated.Order())}], expected each target once");
    }
}
