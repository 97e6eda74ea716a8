using System.Diagnostics;
using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Grains.Webhooks;
using Xunit.Abstractions;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Webhooks;

/// <summary>
/// Webhook deliveries against a real HTTP receiver on loopback (Kestrel): events of real rollouts arrive as signed
/// CloudEvents, in order; a failing receiver is retried with the same event id; one that hangs is timed out and
/// dead-lettered; a re-drive delivers what was dead-lettered; and a hanging receiver does not slow a rollout.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WebhookDeliveryTests(ClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    private IGrainFactory Grains => fixture.Grains;

    private IWebhookRegistryGrain Registry => Grains.GetGrain<IWebhookRegistryGrain>(GrainKeys.Webhooks);

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_rollouts_events_reach_the_receiver_in_order_as_signed_cloudevents()
    {
        var env = Unique("hook");
        await CreateEnvironment(Grains, env, 4);
        var (id, secret) = await Subscribe("ordered", environments: [env]);
        var release = await CreateRelease(Grains, "shop", "2.0.0");
        var rollout = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, rollout.Id)).Status);

        var history = await History(Grains, GrainKeys.RolloutEvents(rollout.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished));
        var received = await _receiver.WaitForAccepted("ordered", calls => history.All(h => calls.Any(c => c.Id == h.Id)));

        // Every delivery is a structured CloudEvent whose signature verifies with the secret given at creation.
        Assert.All(received, call =>
        {
            Assert.True(call.Verifies(secret), $"signature of {call.Id} does not verify");
            Assert.StartsWith("application/cloudevents+json", call.ContentType, StringComparison.Ordinal);
            Assert.Equal("1.0", (string?)call.Json["specversion"]);
            Assert.Equal(call.Id, (string?)call.Json["id"]);
        });

        // The rollout's own events arrive in the order they happened (the environment's events interleave freely).
        var rolloutIds = history.Select(h => h.Id).ToHashSet();
        Assert.Equal(history.Select(h => h.Id), received.Select(c => c.Id).Where(rolloutIds.Contains));
        Assert.Equal(received.Count, received.Select(c => c.Id).Distinct().Count());

        // service.deployed is the CDEvent, with the environment and the artifact as a purl.
        var deployed = received.Single(c => (string?)c.Json["type"] == EventTypes.ServiceDeployed).Json;
        Assert.Equal("service/shop", (string?)deployed["subject"]);
        Assert.Equal("0.4.1", (string?)deployed["data"]!["context"]!["version"]);
        Assert.Equal(env, (string?)deployed["data"]!["subject"]!["content"]!["environment"]!["id"]);
        Assert.Equal($"pkg:generic/shop@2.0.0?checksum={Uri.EscapeDataString(Digest("2.0.0"))}", (string?)deployed["data"]!["subject"]!["content"]!["artifactId"]);
        var finished = received.Single(c => (string?)c.Json["type"] == EventTypes.PipelineRunFinished).Json;
        Assert.Equal("success", (string?)finished["data"]!["subject"]!["content"]!["outcome"]);

        // Events about other environments never reach it.
        Assert.All(received, c => Assert.Equal(env, (string?)c.Json["data"]!["customData"]!["data"]!["environment"] ?? env));
        var status = await Grains.GetGrain<IWebhookDeliveryGrain>(id).Status();
        Assert.Equal(0, status.DeadLetters);
    }

    [Fact]
    public async Task A_failing_receiver_is_retried_with_the_same_event_id_and_nothing_overtakes_the_event_it_waits_on()
    {
        var (id, secret) = await Subscribe("flaky", environments: [Unique("nowhere")]);
        _receiver.Answer("flaky", 503, 500, 503, 200); // round 1: two attempts fail; round 2: one fails, one succeeds
        var events = Enumerable.Range(1, 5).Select(i => Event($"flaky-{i}-{Guid.NewGuid():n}")).ToList();
        foreach (var e in events)
        {
            await Grains.GetGrain<IWebhookDeliveryGrain>(id).Enqueue(e);
        }

        var accepted = await _receiver.WaitForAccepted("flaky", calls => calls.Count == 5);
        Assert.Equal(events.Select(e => e.Id), accepted.Select(c => c.Id));
        var calls = _receiver.Calls("flaky");
        Assert.Equal(Enumerable.Repeat(events[0].Id, 4), calls.Take(4).Select(c => c.Id));
        Assert.All(calls, c => Assert.True(c.Verifies(secret)));
        Assert.Single(calls.Take(4).Select(c => Convert.ToBase64String(c.Body)).Distinct()); // every retry sends the same bytes

        await Eventually(async () => (await Grains.GetGrain<IWebhookDeliveryGrain>(id).Status()) is { Delivered: 5, Pending: 0, DeadLetters: 0 });
        Assert.Empty(await Grains.GetGrain<IWebhookDeliveryGrain>(id).DeadLetters());

        // An event the stream delivers again (at least once) is not sent twice.
        await Grains.GetGrain<IWebhookDeliveryGrain>(id).Enqueue(events[2]);
        await Task.Delay(300);
        Assert.Equal(5, _receiver.Accepted("flaky").Count);
    }

    [Fact]
    public async Task A_hanging_receiver_times_out_into_dead_letters_in_order_and_a_redrive_delivers_them_once_it_recovers()
    {
        var (id, secret) = await Subscribe("hangs", environments: [Unique("nowhere")]);
        _receiver.Hang("hangs");
        var delivery = Grains.GetGrain<IWebhookDeliveryGrain>(id);
        var events = Enumerable.Range(1, 3).Select(i => Event($"hang-{i}-{Guid.NewGuid():n}")).ToList();
        foreach (var e in events)
        {
            await delivery.Enqueue(e);
        }

        // While the receiver hangs, the grain still answers at once (the pump interleaves).
        var clock = Stopwatch.StartNew();
        var during = await delivery.Status();
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(250), $"status took {clock.ElapsedMilliseconds} ms while the receiver hung");
        Assert.Equal(3, during.Pending);

        await Eventually(async () => (await delivery.DeadLetters()).Count == 3, TimeSpan.FromSeconds(30));
        var dead = await delivery.DeadLetters();
        Assert.Equal(events.Select(e => e.Id), dead.Select(d => d.Event.Id));
        Assert.All(dead, d =>
        {
            Assert.Equal(6, d.Attempts); // 3 rounds × 2 attempts
            Assert.StartsWith("dead-lettered after 3 failed delivery rounds; last: no answer within 0.3s", d.Reason, StringComparison.Ordinal);
        });
        Assert.Empty(_receiver.Accepted("hangs"));

        // The receiver recovers; a re-drive of two of them, named out of order, sends them in their original order.
        _receiver.Answer("hangs", 200);
        Assert.Equal(2, await delivery.Redrive([events[2].Id, events[0].Id]));
        var accepted = await _receiver.WaitForAccepted("hangs", calls => calls.Count == 2);
        Assert.Equal([events[0].Id, events[2].Id], accepted.Select(c => c.Id));
        Assert.Equal(1, await delivery.Redrive(null));
        accepted = await _receiver.WaitForAccepted("hangs", calls => calls.Count == 3);
        Assert.Equal(events[1].Id, accepted[2].Id);
        Assert.All(accepted, c => Assert.True(c.Verifies(secret)));
        Assert.Empty(await delivery.DeadLetters());
        Assert.Equal(0, await delivery.Redrive(null));
    }

    [Fact]
    public async Task A_rollout_whose_events_go_to_a_hanging_receiver_finishes_as_fast_as_one_without()
    {
        // A warm-up, a baseline, the same rollout with every event bound for a receiver that never answers (each
        // attempt waits out its 300 ms timeout), and a baseline again.
        await TimedRollout(subscribe: false);
        var baseline1 = await TimedRollout(subscribe: false);
        var hanging = await TimedRollout(subscribe: true);
        var baseline2 = await TimedRollout(subscribe: false);
        output.WriteLine($"rollout of 8 hosts one at a time (50 ms per host): without receiver {baseline1.TotalMilliseconds:0} ms and {baseline2.TotalMilliseconds:0} ms; with a hanging receiver {hanging.TotalMilliseconds:0} ms");

        var slowerBaseline = baseline1 > baseline2 ? baseline1 : baseline2;
        Assert.True(hanging < slowerBaseline * 1.5 + TimeSpan.FromMilliseconds(500),
            $"with a hanging receiver the rollout took {hanging.TotalMilliseconds:0} ms against {baseline1.TotalMilliseconds:0} / {baseline2.TotalMilliseconds:0} ms without");
        await Eventually(() => Task.FromResult(_receiver.Calls("slow").Count > 0));
        Assert.Empty(_receiver.Accepted("slow"));
    }

    [Fact]
    public async Task A_deleted_subscription_stops_delivering_and_drops_its_outbox()
    {
        var (id, _) = await Subscribe("gone", environments: [Unique("nowhere")]);
        _receiver.Hang("gone");
        var delivery = Grains.GetGrain<IWebhookDeliveryGrain>(id);
        await delivery.Enqueue(Event("gone-1-" + Guid.NewGuid().ToString("n")));
        await delivery.Enqueue(Event("gone-2-" + Guid.NewGuid().ToString("n")));
        await Eventually(() => Task.FromResult(_receiver.Calls("gone").Count > 0));

        Assert.True(await Registry.Delete(id, "alice", "operator"));
        Assert.Null(await Registry.Get(id));
        Assert.DoesNotContain(await Registry.List(), s => s.Id == id);
        Assert.Equal(0, (await delivery.Status()).Pending);
        var calls = _receiver.Calls("gone").Count;
        await Task.Delay(1500);
        Assert.Equal(calls, _receiver.Calls("gone").Count);
        Assert.False(await Registry.Delete(id, "alice", "operator"));
    }

    [Fact]
    public async Task The_registry_refuses_urls_the_address_policy_forbids()
    {
        foreach (var url in new[] { "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook", "ftp://example.com/x", "http://u:p@example.com/" })
        {
            var result = await Registry.Create(new WebhookDraft { Url = url, Actor = "alice" });
            Assert.Equal(ErrorKind.PolicyRefused, result.Error);
        }
    }

    [Fact]
    public async Task The_connect_time_check_refuses_a_name_that_resolves_to_loopback_when_loopback_is_not_allowed()
    {
        // "localhost" passes as a name at creation only when loopback is allowed; DNS could point any name there, so
        // the handler checks the address it connects to.
        using var http = new HttpClient(HttpWebhookSender.Handler(new WebhookOptions { AllowLoopback = false }));
        var url = _receiver.UrlFor("ssrf").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(url, new StringContent("{}")));
        Assert.IsType<HttpWebhookSender.AddressRefusedException>(refused.InnerException);
        Assert.Empty(_receiver.Calls("ssrf"));

        using var allowed = new HttpClient(HttpWebhookSender.Handler(new WebhookOptions { AllowLoopback = true }));
        using var answer = await allowed.PostAsync(url, new StringContent("{}"));
        Assert.True(answer.IsSuccessStatusCode);
    }

    private async Task<TimeSpan> TimedRollout(bool subscribe)
    {
        var env = Unique(subscribe ? "hookslow" : "hookbase");
        await CreateEnvironment(Grains, env, 8, latencyMs: 50);
        if (subscribe)
        {
            _receiver.Hang("slow");
            await Subscribe("slow", environments: [env]);
        }

        var release = await CreateRelease(Grains, "shop", "2.0.0");
        var clock = Stopwatch.StartNew();
        var rollout = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, rollout.Id)).Status);
        var elapsed = clock.Elapsed;

        // The event history (whose follower fills the outbox) keeps up too: a follower that waited on the receiver
        // would hold each of the rollout's ~30 events for 0.6 s or more (two attempts that time out).
        await History(Grains, GrainKeys.RolloutEvents(rollout.Id), e => e.Any(x => x.Type == EventTypes.PipelineRunFinished), TimeSpan.FromSeconds(3));
        return elapsed;
    }

    private async Task<(string Id, string Secret)> Subscribe(string name, IReadOnlyList<string>? environments = null)
    {
        var created = await Registry.Create(new WebhookDraft { Url = _receiver.UrlFor(name), Environments = environments ?? [], Actor = "alice" });
        Assert.True(created.Ok, created.Detail);
        Assert.StartsWith("whsec_", created.Value!.Secret, StringComparison.Ordinal);
        return (created.Value.Subscription.Id, created.Value.Secret);
    }

    private static EngineEvent Event(string id) => new()
    {
        Id = id,
        Type = EventTypes.RolloutPaused,
        Subject = "rollout/r.env",
        Timestamp = DateTimeOffset.UtcNow,
        Reason = "paused by a test",
        Data = new Dictionary<string, string> { ["environment"] = "env", ["service"] = "shop" },
    };

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }

        Assert.Fail("condition not met in time");
    }
}
