using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

public static class Http
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static string Digest(string seed) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed))).ToLowerInvariant();

    public static async Task<JsonNode> Expect(this Task<HttpResponseMessage> request, HttpStatusCode status)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} but got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? new JsonObject() : JsonNode.Parse(body)!;
    }

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, object body) => client.PostAsJsonAsync(url, body, Web);

    public static Task<HttpResponseMessage> PutJson(this HttpClient client, string url, object body) => client.PutAsJsonAsync(url, body, Web);

    public static async Task<JsonNode> WaitFor(this HttpClient client, string url, Func<JsonNode, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                last = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                if (condition(last)) return last;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{url} did not reach the expected state in {timeout}; last: {last?.ToJsonString()}");
        return last!;
    }
}
