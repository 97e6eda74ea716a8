using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Domain.Webhooks;
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
