using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Domain.Webhooks;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>The subscription API on the shared engine, where loopback receivers are refused (the default policy).</summary>
[Collection(EngineCollection.Name)]
public class WebhooksApiTests(EngineFactory engine)
{
    private readonly HttpClient _operator = engine.As(OperatorKey);

    [Fact]
    public async Task An_operator_subscribes_sees_the_secret_once_and_deletes_the_subscription()
    {
        var env = TestHttp.Unique("hooks");
        var created = await _operator.PostJson("/v1/webhooks", new
        {
            url = "https://hooks.example.com/deploy?token=receiver-token",
            types = new[] { "dev.cdevents.service.*", "dev.cdevents.pipelinerun.finished.0.2.0" },
            environments = new[] { env },
            services = new[] { "shop" },
            description = "chat notifications",
        }).Expect(HttpStatusCode.Created);
        var id = (string)created["id"]!;
        var secret = (string)created["secret"]!;
        Assert.NotNull(WebhookSignature.Key(secret));
        Assert.Equal("alice", (string?)created["createdBy"]);

        var shown = await _operator.GetAsync($"/v1/webhooks/{id}").Expect(HttpStatusCode.OK);
        Assert.Null(shown["secret"]);
        Assert.Equal(new[] { env }, shown["environments"]!.AsArray().Select(e => (string)e!));
        Assert.Equal(0, (int)shown["delivery"]!["pending"]!);
        var list = await _operator.GetAsync("/v1/webhooks").Expect(HttpStatusCode.OK);
        Assert.Contains(list["items"]!.AsArray(), s => (string?)s!["id"] == id);
        Assert.DoesNotContain(secret, list.ToJsonString(), StringComparison.Ordinal);

        // Audited with who and what, never the secret, and the URL without its query (a receiver token may live there).
        var audit = await _operator.WaitFor("/v1/audit?principal=alice&limit=1000",
            a => a["items"]!.AsArray().Any(e => (string?)e!["subject"] == $"webhook/{id}"));
        Assert.DoesNotContain(secret, audit.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("receiver-token", audit.ToJsonString(), StringComparison.Ordinal);

        await _operator.DeleteAsync($"/v1/webhooks/{id}").Expect(HttpStatusCode.NoContent);
        await _operator.GetAsync($"/v1/webhooks/{id}").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _operator.DeleteAsync($"/v1/webhooks/{id}").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _operator.GetAsync($"/v1/webhooks/{id}/dead-letters").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
    }

    [Theory]
    [InlineData("ftp://hooks.example.com/x", HttpStatusCode.BadRequest)]
    [InlineData("hooks.example.com/x", HttpStatusCode.BadRequest)]
    [InlineData("http://127.0.0.1:8080/hook", HttpStatusCode.UnprocessableEntity)] // loopback: not allowed by default
    [InlineData("http://localhost:8080/hook", HttpStatusCode.UnprocessableEntity)]
    [InlineData("http://169.254.169.254/latest/meta-data/", HttpStatusCode.UnprocessableEntity)] // cloud metadata: never
    [InlineData("http://192.168.1.10/hook", HttpStatusCode.UnprocessableEntity)]
    [InlineData("https://user:pw@hooks.example.com/x", HttpStatusCode.UnprocessableEntity)]
    public async Task Urls_outside_the_outbound_policy_are_refused_and_nothing_is_created(string url, HttpStatusCode status)
    {
        var before = (await _operator.GetAsync("/v1/webhooks").Expect(HttpStatusCode.OK))["total"]!.GetValue<int>();
        var problem = await _operator.PostJson("/v1/webhooks", new { url })
            .ExpectProblem(status, status == HttpStatusCode.BadRequest ? Problems.ValidationType : Problems.PolicyType);
        Assert.NotNull(problem["errors"]!["url"]);
        var after = await _operator.GetAsync("/v1/webhooks").Expect(HttpStatusCode.OK);
        Assert.DoesNotContain(after["items"]!.AsArray(), s => (string?)s!["url"] == url);
        Assert.True(after["total"]!.GetValue<int>() <= before + 1); // other tests of the collection may subscribe meanwhile
    }

    [Fact]
    public async Task Bad_filters_and_ids_are_clear_problems()
    {
        var bad = await _operator.PostJson("/v1/webhooks", new { url = "https://hooks.example.com/x", types = new[] { "dev.*.deployed" }, environments = new[] { "Prod!" }, services = new string?[] { null } })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.NotNull(bad["errors"]!["types"]);
        Assert.NotNull(bad["errors"]!["environments"]);
        Assert.NotNull(bad["errors"]!["services"]);
        await _operator.GetAsync("/v1/webhooks/wh-0000000000000000").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _operator.GetAsync("/v1/webhooks/..%2F_webhooks").ExpectProblem(HttpStatusCode.NotFound, Problems.NotFoundType);
        await _operator.PostJson("/v1/webhooks/wh-0000000000000000/dead-letters/redrive", new { eventIds = Array.Empty<string>() })
            .ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
    }

    [Fact]
    public async Task Only_operators_manage_subscriptions()
    {
        foreach (var key in new[] { PipelineKey, ViewerKey, ApproverKey, AgentKey })
        {
            await engine.As(key).PostJson("/v1/webhooks", new { url = "https://hooks.example.com/x" }).ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
            await engine.As(key).GetAsync("/v1/webhooks").ExpectProblem(HttpStatusCode.Forbidden, Problems.ForbiddenType);
        }
    }
}

/// <summary>
/// The walkthrough's path end to end: an engine that allows loopback receivers (as a local demo would), a real Kestrel
/// receiver, a subscription made through the API, a rollout made through the API, and the receiver verifying what it got.
/// </summary>
public sealed class WebhookDeliveryApiTests : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private readonly ConcurrentQueue<(string Name, JsonNode Body, bool Verified, string Id)> _received = new();
    private readonly ConcurrentDictionary<string, string> _secrets = new();
    private EngineFactory _root = null!;
    private WebApplicationFactory<Program> _engine = null!;
    private WebApplication _receiver = null!;
    private Uri _receiverAddress = null!;
    private volatile bool _hang = true;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _receiver = builder.Build();
        _receiver.MapPost("/hooks/{name}", async (string name, HttpRequest request, CancellationToken aborted) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, aborted);
            if (name == "down" && _hang)
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }

            var id = request.Headers["webhook-id"].ToString();
            var verified = _secrets.TryGetValue(name, out var secret) && WebhookSignature.Verify(WebhookSignature.Key(secret)!, id,
                request.Headers["webhook-timestamp"].ToString(), request.Headers["webhook-signature"].ToString(), buffer.ToArray(), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
            _received.Enqueue((name, JsonNode.Parse(buffer.ToArray())!, verified, id));
            return Results.NoContent();
        });
        await _receiver.StartAsync();
        _receiverAddress = new Uri(_receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        _root = new EngineFactory();
        _engine = _root.WithWebHostBuilder(b =>
        {
            b.UseSetting("Webhooks:AllowLoopback", "true");
            // Generous for a loaded machine (a live delivery must not time out); the dead receiver costs these 2 s once.
            b.UseSetting("Webhooks:AttemptTimeout", "00:00:02");
            b.UseSetting("Webhooks:TotalTimeout", "00:00:03");
            b.UseSetting("Webhooks:MaxAttempts", "1");
            b.UseSetting("Webhooks:MaxRounds", "1");
            b.UseSetting("Logging:LogLevel:Default", "Trace");
            b.ConfigureServices(s => s.AddLogging(l => l.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace)));
        });
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _root.DisposeAsync();
        await _receiver.StopAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task A_rollouts_events_arrive_signed_and_a_dead_receivers_events_are_listed_and_redriven_once_it_recovers()
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var env = TestHttp.Unique("hookapi");
        var live = await Subscribe(client, "live", env);
        var down = await Subscribe(client, "down", env, types: ["dev.cdevents.service.*"]);

        await client.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 3, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" }).Expect(HttpStatusCode.Created);
        var release = (string)(await client.PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") }).Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await client.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;
        await client.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        // The live receiver gets the whole story, each delivery verified with the secret the API showed once.
        await Until(() => _received.Any(r => r.Name == "live" && (string?)r.Body["type"] == "dev.cdevents.pipelinerun.finished.0.2.0"));
        var got = _received.Where(r => r.Name == "live").ToList();
        Assert.All(got, r => Assert.True(r.Verified, $"{r.Id} does not verify"));
        Assert.Contains(got, r => (string?)r.Body["type"] == "dev.cdevents.service.deployed.0.2.0" && (string?)r.Body["data"]!["subject"]!["content"]!["environment"]!["id"] == env);
        Assert.Contains(got, r => (string?)r.Body["type"] == "dev.cdevents.pipelinerun.started.0.2.0");

        // The dead receiver's one service event is dead-lettered (one round of one attempt here) and listed.
        var letters = await client.WaitFor($"/v1/webhooks/{down}/dead-letters", d => d["items"]!.AsArray().Count == 1);
        var letter = letters["items"]![0]!;
        Assert.Equal("dev.cdevents.service.deployed.0.2.0", (string?)letter["type"]);
        Assert.StartsWith("dead-lettered after 1 failed delivery round; last: no answer within 2s", (string?)letter["reason"], StringComparison.Ordinal);
        Assert.Equal(1, (int)(await client.GetAsync($"/v1/webhooks/{down}").Expect(HttpStatusCode.OK))["delivery"]!["deadLetters"]!);

        // It recovers; a redrive delivers the same event (same id), verified.
        _hang = false;
        var redriven = await client.PostJson($"/v1/webhooks/{down}/dead-letters/redrive", new { }).Expect(HttpStatusCode.OK);
        Assert.Equal(1, (int)redriven["redriven"]!);
        await Until(() => _received.Any(r => r.Name == "down"));
        var delivered = _received.Single(r => r.Name == "down");
        Assert.True(delivered.Verified);
        Assert.Equal((string?)letter["eventId"], delivered.Id);
        await client.WaitFor($"/v1/webhooks/{down}/dead-letters", d => d["items"]!.AsArray().Count == 0);

        // No secret in any log line of any level.
        foreach (var secret in _secrets.Values)
        {
            Assert.DoesNotContain(_logs.Lines, l => l.Contains(secret, StringComparison.Ordinal) || l.Contains(secret["whsec_".Length..], StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task An_incident_event_names_the_release_active_where_it_was_declared_or_the_one_named()
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var env = TestHttp.Unique("hookinc");
        await Subscribe(client, "incidents", env, types: ["dev.cdeventsx.deploy-engine.incident.*"]);
        await client.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" }).Expect(HttpStatusCode.Created);
        var release = (string)(await client.PostJson("/v1/releases", new { service = "cart", version = "2.0.0", artifact = TestHttp.Digest("cart-2.0.0") }).Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await client.PostJson("/v1/rollouts", new { releaseId = release, environment = env }).Expect(HttpStatusCode.Created))["id"]!;
        await client.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        // Declared without a release: the engine names the release deployed there for the service.
        var found = TestHttp.Unique("inc");
        await client.PostJson("/v1/incidents", new { id = found, scope = new { environment = env, service = "cart" }, title = "checkout errors", severity = "sev2" })
            .Expect(HttpStatusCode.Created);
        await Until(() => _received.Any(r => r.Name == "incidents" && (string?)r.Body["data"]!["customData"]!["data"]!["incident"] == found));
        var declared = _received.Single(r => r.Name == "incidents" && (string?)r.Body["data"]!["customData"]!["data"]!["incident"] == found).Body;
        Assert.Equal("dev.cdeventsx.deploy-engine.incident.declared", (string?)declared["type"]);
        Assert.Equal(release, (string?)declared["data"]!["customData"]!["data"]!["release"]);
        Assert.Equal("deployed", (string?)declared["data"]!["customData"]!["data"]!["releaseLink"]);
        var content = declared["data"]!["subject"]!["content"]!;
        Assert.Equal(release, (string?)content["release"]);
        Assert.Equal(env, (string?)content["environment"]!["id"]);
        Assert.Equal("cart", (string?)content["service"]!["id"]);
        Assert.Equal(release, (string?)(await client.GetAsync($"/v1/incidents/{found}").Expect(HttpStatusCode.OK))["activeReleaseId"]);

        // Named by the declarer: that one, marked as named.
        var named = TestHttp.Unique("inc");
        await client.PostJson("/v1/incidents", new { id = named, scope = new { environment = env }, title = "suspect", severity = "sev3", release })
            .Expect(HttpStatusCode.Created);
        await Until(() => _received.Any(r => r.Name == "incidents" && (string?)r.Body["data"]!["customData"]!["data"]!["incident"] == named));
        var namedEvent = _received.Single(r => r.Name == "incidents" && (string?)r.Body["data"]!["customData"]!["data"]!["incident"] == named).Body;
        Assert.Equal(release, (string?)namedEvent["data"]!["subject"]!["content"]!["release"]);
        Assert.Equal("named", (string?)namedEvent["data"]!["customData"]!["data"]!["releaseLink"]);
    }

    private async Task<string> Subscribe(HttpClient client, string name, string env, string[]? types = null)
    {
        var created = await client.PostJson("/v1/webhooks", new { url = new Uri(_receiverAddress, $"hooks/{name}").ToString(), environments = new[] { env }, types })
            .Expect(HttpStatusCode.Created);
        _secrets[name] = (string)created["secret"]!;
        return (string)created["id"]!;
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// Dead letters at their cap, through the API (an engine of its own: 2 pending, 3 dead letters, a receiver that never
/// answers): the list pages with a cursor, nothing is dropped to make room, what cannot be held is counted and said, and
/// discarding makes room again.
/// </summary>
public sealed class WebhookDeadLetterCapacityTests : IAsyncLifetime
{
    private EngineFactory _root = null!;
    private WebApplicationFactory<Program> _engine = null!;
    private WebApplication _receiver = null!;
    private Uri _receiverAddress = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _receiver = builder.Build();
        _receiver.MapPost("/hooks/dead", async (CancellationToken aborted) =>
        {
            await Task.Delay(Timeout.Infinite, aborted);
            return Results.NoContent();
        });
        await _receiver.StartAsync();
        _receiverAddress = new Uri(_receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        _root = new EngineFactory();
        _engine = _root.WithWebHostBuilder(b =>
        {
            b.UseSetting("Webhooks:AllowLoopback", "true");
            b.UseSetting("Webhooks:AttemptTimeout", "00:00:00.200");
            b.UseSetting("Webhooks:TotalTimeout", "00:00:05");
            b.UseSetting("Webhooks:MaxAttempts", "1");
            b.UseSetting("Webhooks:MaxRounds", "1");
            b.UseSetting("Webhooks:RoundBaseDelay", "00:00:00.050");
            b.UseSetting("Webhooks:MaxRoundDelay", "00:00:00.200");
            b.UseSetting("Webhooks:MaxPending", "2");
            b.UseSetting("Webhooks:MaxDeadLetters", "3");
        });
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _root.DisposeAsync();
        await _receiver.StopAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Dead_letters_page_with_a_cursor_none_is_dropped_at_the_cap_and_what_cannot_be_held_is_counted()
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var id = (string)(await client.PostJson("/v1/webhooks", new { url = new Uri(_receiverAddress, "hooks/dead").ToString(), environments = new[] { TestHttp.Unique("nowhere") } })
            .Expect(HttpStatusCode.Created))["id"]!;
        var delivery = _engine.Services.GetRequiredService<IGrainFactory>().GetGrain<IWebhookDeliveryGrain>(id);
        var events = Enumerable.Range(1, 8).Select(i => new EngineEvent
        {
            Id = $"cap-{i}-{Guid.NewGuid():n}",
            Type = EventTypes.RolloutPaused,
            Subject = "rollout/r.env",
            Timestamp = DateTimeOffset.UtcNow,
            Reason = $"event {i}",
            Data = new Dictionary<string, string>(),
        }).ToList();

        // The first three fail into the dead-letter list (one at a time), which is then full: the fourth stays at the head (held).
        for (var i = 0; i < 3; i++)
        {
            await delivery.Enqueue(events[i]);
            await client.WaitFor($"/v1/webhooks/{id}", s => (int)s["delivery"]!["deadLetters"]! == i + 1);
        }

        await delivery.Enqueue(events[3]);
        var held = await client.WaitFor($"/v1/webhooks/{id}", s => (int)s["delivery"]!["deadLetters"]! == 3 && s["delivery"]!["held"] is not null);
        Assert.Contains("dead-letter list is full (3)", (string?)held["delivery"]!["held"], StringComparison.Ordinal);

        // Pages of 2, oldest first, continued with the cursor; the first three, none dropped for the later ones.
        var first = await client.GetAsync($"/v1/webhooks/{id}/dead-letters?limit=2").Expect(HttpStatusCode.OK);
        Assert.Equal(3, (int)first["total"]!);
        Assert.Equal([events[0].Id, events[1].Id], first["items"]!.AsArray().Select(d => (string)d!["eventId"]!));
        var next = (string)first["next"]!;
        var second = await client.GetAsync($"/v1/webhooks/{id}/dead-letters?limit=2&cursor={next}").Expect(HttpStatusCode.OK);
        Assert.Equal([events[2].Id], second["items"]!.AsArray().Select(d => (string)d!["eventId"]!));
        Assert.Null(second["next"]);
        await client.GetAsync($"/v1/webhooks/{id}/dead-letters?limit=0").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        await client.GetAsync($"/v1/webhooks/{id}/dead-letters?cursor=abc").ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);

        // The outbox fills (2), and what comes after can be held nowhere: refused, counted, and said, never silently lost.
        foreach (var e in events.Skip(4)) await delivery.Enqueue(e);
        var status = (await client.GetAsync($"/v1/webhooks/{id}").Expect(HttpStatusCode.OK))["delivery"]!;
        Assert.Equal(2, (int)status["pending"]!);
        Assert.Equal(3, (int)status["deadLetters"]!);
        Assert.Equal(3, (long)status["refused"]!);
        Assert.Contains(events[7].Id, (string?)status["lastRefusal"], StringComparison.Ordinal);

        // Discarding the oldest makes room: the held event goes to the dead-letter list on its next failed round.
        var discarded = await client.PostJson($"/v1/webhooks/{id}/dead-letters/discard", new { eventIds = new[] { events[0].Id } }).Expect(HttpStatusCode.OK);
        Assert.Equal(1, (int)discarded["discarded"]!);
        var all = await client.WaitFor($"/v1/webhooks/{id}/dead-letters", d => d["items"]!.AsArray().Any(x => (string?)x!["eventId"] == events[3].Id));
        Assert.Equal([events[1].Id, events[2].Id, events[3].Id], all["items"]!.AsArray().Select(d => (string)d!["eventId"]!));
    }
}
