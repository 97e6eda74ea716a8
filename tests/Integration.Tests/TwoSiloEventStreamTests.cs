using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// Two engine processes' worth of silos (one cluster on a real Azurite), each with its own API: a client watching
/// <c>GET /v1/events/stream</c> on either API sees every event of a rollout, whichever silo its grain lives on.
/// </summary>
public sealed class TwoSiloEventStreamTests : IAsyncLifetime
{
    private const string Finished = "dev.cdevents.pipelinerun.finished.0.2.0";
    private const string Created = "dev.cdeventsx.deploy-engine.rollout.created";

    private AzuriteProcess _azurite = null!;
    private EngineHost _a = null!;
    private EngineHost _b = null!;
    private EngineHost.Settings _settingsA = null!;
    private EngineHost.Settings _settingsB = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        _settingsA = EngineHost.Settings.For(_azurite);
        _settingsB = _settingsA with { SiloPort = EngineHost.FreePort(), GatewayPort = EngineHost.FreePort() };
        _a = new EngineHost(_settingsA);
        _a.Client().Dispose(); // starts silo A
        _b = new EngineHost(_settingsB);
        _b.Client().Dispose(); // silo B joins the same cluster
    }

    public async Task DisposeAsync()
    {
        // Silos before Azurite: silo shutdown waits on the membership table.
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    [Fact]
    public async Task Each_silos_api_streams_every_event_of_a_rollout_that_lives_on_either_silo()
    {
        using var a = _a.Client();
        using var b = _b.Client();
        var env = TestHttp.Unique("two-silos");
        await a.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await a.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count = 6, stepLatencyMs = 50, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);

        using var streamA = await Open(a, env);
        using var streamB = await Open(b, env);
        var release = (string)(await b.PostJson("/v1/releases", new { service = "web", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await b.PostJson("/v1/rollouts", new { releaseId = release, environment = env, strategy = new { maxSurge = "0", maxUnavailable = "2" } })
            .Expect(HttpStatusCode.Created))["id"]!;

        var seenA = await streamA.EventsUntil(e => e.Type == Finished && e.Rollout == rollout, TimeSpan.FromSeconds(120));
        var seenB = await streamB.EventsUntil(e => e.Type == Finished && e.Rollout == rollout, TimeSpan.FromSeconds(120));

        // The rollout's grain lives on one of the two silos: the other silo's API streamed a grain it does not host.
        var silo = (string?)(await a.GetAsync($"/v1/rollouts/{rollout}").Expect(HttpStatusCode.OK))["silo"];
        var port = (silo ?? string.Empty).Contains(_settingsA.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) ? "A"
            : (silo ?? string.Empty).Contains(_settingsB.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) ? "B" : null;
        Assert.True(port is not null, $"the rollout's silo '{silo}' is neither silo A nor silo B");

        var ofRollout = (List<SseEvent> seen) => seen.Where(e => e.Rollout == rollout).Select(e => e.Id).ToList();
        Assert.Contains(seenA, e => e.Type == Created && e.Rollout == rollout);
        Assert.Contains(seenB, e => e.Type == Created && e.Rollout == rollout);
        Assert.True(ofRollout(seenA).Count >= 4, $"too few events: {string.Join(", ", seenA.Select(e => e.Type))}");
        Assert.Equal(ofRollout(seenA), ofRollout(seenB));
    }

    private static async Task<SseStream> Open(HttpClient client, string env)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/events/stream?environment={env}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new SseStream(response, new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8));
    }

    private sealed record SseEvent(string? Id, string? Type, string? Rollout);

    private sealed class SseStream(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public async Task<List<SseEvent>> EventsUntil(Func<SseEvent, bool> until, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var events = new List<SseEvent>();
            string? id = null, type = null;
            var data = new StringBuilder();
            while (true)
            {
                var line = await reader.ReadLineAsync(cts.Token) ?? throw new IOException("the stream ended");
                if (line.Length > 0)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                    else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                    else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Append(line[6..]);
                    continue;
                }

                if (data.Length > 0 && type is not "heartbeat")
                {
                    var e = new SseEvent(id, type, (string?)JsonNode.Parse(data.ToString())?["rollout"]);
                    events.Add(e);
                    if (until(e)) return events;
                }

                (id, type) = (null, null);
                data.Clear();
            }
        }

        public void Dispose()
        {
            reader.Dispose();
            response.Dispose();
        }
    }
}
