using System.Collections.Concurrent;
using System.Net;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// Storage goes away while pipelines keep writing. Every answer is either a success that was persisted or a 503
/// with Retry-After — never a 500, never a 2xx for work that was not stored — and everything acknowledged is
/// readable once storage is back.
/// </summary>
public sealed class StorageOutageUnderLoadTests : IAsyncLifetime
{
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task Writes_during_an_outage_are_503_with_retry_after_and_every_acknowledged_one_survives()
    {
        var engine = new EngineHost(EngineHost.Settings.For(_azurite));
        try
        {
            await WriteThroughAnOutage(engine.Client());
        }
        finally
        {
            try
            {
                await engine.DisposeAsync();
            }
            catch (OperationCanceledException)
            {
                // A silo that is slow to leave after the outage is not what this test judges; keep its verdict visible.
            }
        }
    }

    private async Task WriteThroughAnOutage(HttpClient api)
    {
        await api.PutJson("/v1/environments/load", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);

        var acknowledged = new ConcurrentBag<string>();
        var environments = new ConcurrentBag<(string Name, int Limit)>();
        var unexpected = new ConcurrentBag<string>();
        var unavailable = 0;
        using var stop = new CancellationTokenSource();

        async Task Writer(int writer)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var version = $"{writer}.{i}.0";
                var release = await api.PostJson("/v1/releases", new { service = "load", version, artifact = TestHttp.Digest(version) });
                await Classify(release, r => acknowledged.Add((string)r["id"]!), HttpStatusCode.Created);

                var name = $"load-{writer}-{i}";
                var env = await api.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 + (i % 5) });
                await Classify(env, _ => environments.Add((name, 1 + (i % 5))), HttpStatusCode.OK);
            }
        }

        async Task Classify(HttpResponseMessage response, Action<System.Text.Json.Nodes.JsonNode> onSuccess, HttpStatusCode success)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == success)
            {
                onSuccess(System.Text.Json.Nodes.JsonNode.Parse(body)!);
            }
            else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null
                && body.Contains("urn:deploy-engine:problem:storage-unavailable", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref unavailable);
                await Task.Delay(50);
            }
            else
            {
                unexpected.Add($"{(int)response.StatusCode} retry-after={response.Headers.RetryAfter}: {body[..Math.Min(body.Length, 300)]}");
            }
        }

        var writers = Enumerable.Range(1, 4).Select(w => Task.Run(() => Writer(w))).ToArray();
        await WaitUntil(() => acknowledged.Count >= 20, TimeSpan.FromSeconds(60));

        // A graceful stop: Azurite saves what it acknowledged, so a lost write here would be the engine's.
        await _azurite.StopAsync(graceful: true);
        var ackedBeforeOutage = acknowledged.Count;
        await WaitUntil(() => Volatile.Read(ref unavailable) + unexpected.Count >= 8, TimeSpan.FromSeconds(120));
        await _azurite.RestartAsync();
        await WaitUntil(() => acknowledged.Count >= ackedBeforeOutage + 20, TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(unexpected.IsEmpty, string.Join("\n", unexpected.Take(10)));
        foreach (var id in acknowledged)
        {
            await api.GetAsync($"/v1/releases/{id}").Expect(HttpStatusCode.OK);
        }

        foreach (var (name, limit) in environments)
        {
            var env = await api.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK);
            Assert.Equal(limit, (int)env["spec"]!["concurrencyLimit"]!);
        }
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met in {timeout}");
            await Task.Delay(100);
        }
    }
}
