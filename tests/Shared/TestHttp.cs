using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Deploy.Engine.Tests.Shared;

/// <summary>HTTP helpers shared by the API and integration tests (linked into both projects).</summary>
public static class TestHttp
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static string Digest(string seed) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed))).ToLowerInvariant();

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("n")[..8];

    /// <summary>Every host named by the events of a type in a page of rollout events (hosts.updated names many hosts per event).</summary>
    public static List<string> HostsIn(JsonNode events, string type) =>
        events["items"]!.AsArray()
            .Where(x => (string?)x!["type"] == type)
            .SelectMany(x => ((string?)x!["data"]!["hosts"] ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
            .ToList();

    public const string HostsUpdatedType = "dev.cdeventsx.deploy-engine.hosts.updated";

    public static async Task<JsonNode> Read(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("empty body");

    public static async Task<JsonNode> Expect(this Task<HttpResponseMessage> request, HttpStatusCode status)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} but got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? new JsonObject() : JsonNode.Parse(body)!;
    }

    /// <summary>Asserts an RFC 9457 problem with the given status and type, and no stack trace or exception text.</summary>
    public static async Task<JsonNode> ExpectProblem(this Task<HttpResponseMessage> request, HttpStatusCode status, string type)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} but got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal(type, (string?)problem["type"]);
        Assert.Equal((int)status, (int?)problem["status"]);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        return problem;
    }

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, object body) => client.PostAsJsonAsync(url, body, Web);

    public static Task<HttpResponseMessage> PutJson(this HttpClient client, string url, object body) => client.PutAsJsonAsync(url, body, Web);

    /// <summary>Polls a GET until the condition holds; answers other than 200 (a restarting engine) are retried.</summary>
    public static async Task<JsonNode> WaitFor(this HttpClient client, string url, Func<JsonNode, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                last = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                if (condition(last)) return last;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{url} did not reach the expected state; last: {last?.ToJsonString()}");
        return last!;
    }
}
