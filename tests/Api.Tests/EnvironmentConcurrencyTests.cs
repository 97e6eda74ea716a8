using System.Net;
using System.Net.Http.Json;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Optimistic concurrency on environments: ETag on GET, If-Match / If-None-Match: * on PUT.</summary>
[Collection(EngineCollection.Name)]
public class EnvironmentConcurrencyTests(EngineFactory engine)
{
    private const string PreconditionFailed = "urn:deploy-engine:problem:precondition-failed";

    [Fact]
    public async Task A_put_without_a_concurrency_limit_keeps_the_environments_limit()
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("keep");
        Assert.Equal(1, (int)(await client.PutJson($"/v1/environments/{name}", new { description = "new" }).Expect(HttpStatusCode.OK))["spec"]!["concurrencyLimit"]!);
        await client.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 4 }).Expect(HttpStatusCode.OK);
        var kept = await client.PutJson($"/v1/environments/{name}", new { description = "renamed" }).Expect(HttpStatusCode.OK);
        Assert.Equal(4, (int)kept["spec"]!["concurrencyLimit"]!);
        Assert.Equal(4, (int)(await client.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK))["spec"]!["concurrencyLimit"]!);
    }

    [Fact]
    public async Task Of_two_concurrent_puts_with_the_same_if_match_exactly_one_wins_and_the_state_is_the_winners()
    {
        var client = engine.As(OperatorKey);
        for (var round = 0; round < 10; round++)
        {
            var name = TestHttp.Unique("etag-race");
            var created = await client.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 });
            await Task.FromResult(created).Expect(HttpStatusCode.OK);
            var etag = created.Headers.ETag!.ToString();

            var bodies = new[] { new { concurrencyLimit = 2, description = "writer A" }, new { concurrencyLimit = 3, description = "writer B" } };
            var answers = await Task.WhenAll(bodies.Select(body => Put(client, name, body, ("If-Match", etag))));

            Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
            var loser = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.PreconditionFailed);
            await Task.FromResult(loser).ExpectProblem(HttpStatusCode.PreconditionFailed, PreconditionFailed);
            var winner = bodies[Array.FindIndex(answers, a => a.StatusCode == HttpStatusCode.OK)];

            var final = await client.GetAsync($"/v1/environments/{name}");
            var state = await Task.FromResult(final).Expect(HttpStatusCode.OK);
            Assert.Equal(winner.description, (string?)state["spec"]!["description"]);
            Assert.Equal(winner.concurrencyLimit, (int)state["spec"]!["concurrencyLimit"]!);
            Assert.NotEqual(etag, final.Headers.ETag!.ToString());
        }
    }

    [Fact]
    public async Task A_put_with_a_stale_etag_is_412_and_changes_nothing()
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("etag-stale");
        await client.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var first = (await client.GetAsync($"/v1/environments/{name}")).Headers.ETag!;
        Assert.False(first.IsWeak);

        var second = await Put(client, name, new { concurrencyLimit = 2, description = "second" }, ("If-Match", first.ToString()));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.NotEqual(first, second.Headers.ETag);

        await Put(client, name, new { concurrencyLimit = 5, description = "stale" }, ("If-Match", first.ToString()))
            .ExpectProblem(HttpStatusCode.PreconditionFailed, PreconditionFailed);
        await Put(client, name, new { concurrencyLimit = 5, description = "weak" }, ("If-Match", "W/" + second.Headers.ETag))
            .ExpectProblem(HttpStatusCode.PreconditionFailed, PreconditionFailed);

        var now = await client.GetAsync($"/v1/environments/{name}");
        var state = await Task.FromResult(now).Expect(HttpStatusCode.OK);
        Assert.Equal("second", (string?)state["spec"]!["description"]);
        Assert.Equal(second.Headers.ETag, now.Headers.ETag);

        // A list naming the current version matches; so does *.
        await Put(client, name, new { concurrencyLimit = 3, description = "listed" }, ("If-Match", $"{first}, {second.Headers.ETag}")).Expect(HttpStatusCode.OK);
        await Put(client, name, new { concurrencyLimit = 3, description = "any" }, ("If-Match", "*")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task If_none_match_star_creates_only_once_and_if_match_star_only_updates()
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("etag-create");
        await Put(client, name, new { concurrencyLimit = 1 }, ("If-Match", "*")).ExpectProblem(HttpStatusCode.PreconditionFailed, PreconditionFailed);
        await client.GetAsync($"/v1/environments/{name}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");

        await Put(client, name, new { concurrencyLimit = 1, description = "first" }, ("If-None-Match", "*")).Expect(HttpStatusCode.OK);
        await Put(client, name, new { concurrencyLimit = 4, description = "second" }, ("If-None-Match", "*"))
            .ExpectProblem(HttpStatusCode.PreconditionFailed, PreconditionFailed);
        Assert.Equal("first", (string?)(await client.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK))["spec"]!["description"]);

        await Put(client, name, new { concurrencyLimit = 1 }, ("If-Match", "not an etag")).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
    }

    private static Task<HttpResponseMessage> Put(HttpClient client, string name, object body, (string Name, string Value) header)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/environments/{name}") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation(header.Name, header.Value);
        return client.SendAsync(request);
    }
}
