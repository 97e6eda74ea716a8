using System.Net;
using System.Text;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// One request must not take the engine down: documents nested tens of thousands deep are refused by the reader
/// before anything recurses over them (a stack overflow kills the process, and in Local mode everything with it).
/// </summary>
[Collection(EngineCollection.Name)]
public class BoundedParsingTests(EngineFactory engine)
{
    private const string Validation = "urn:deploy-engine:problem:validation";
    private const int Deep = 50_000;

    public static TheoryData<string, string> DeepDocuments => new()
    {
        { "application/yaml", new string('[', Deep) + new string(']', Deep) },
        { "application/yaml", string.Concat(Enumerable.Repeat("{a: ", Deep)) + "1" + new string('}', Deep) },
        { "application/yaml", "tier: development\nbaseline: " + new string('[', Deep) },
        { "application/yaml", string.Concat(Enumerable.Range(0, 1_000).Select(i => new string(' ', i) + "- \n")) },
        { "application/json", new string('[', Deep) + new string(']', Deep) },
        { "application/json", string.Concat(Enumerable.Repeat("{\"a\":", Deep)) + "1" + new string('}', Deep) },
    };

    [Theory]
    [MemberData(nameof(DeepDocuments))]
    public async Task A_declaration_nested_fifty_thousand_deep_is_400_and_the_engine_keeps_answering(string contentType, string body)
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("deep");
        var problem = await client.PutAsync($"/v1/environments/{name}/declaration", new StringContent(body, Encoding.UTF8, contentType))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Contains("deeper", problem.ToJsonString(), StringComparison.Ordinal);
        await client.PostAsync("/v1/environments/declarations", new StringContent(body, Encoding.UTF8, contentType))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);

        await client.GetAsync($"/v1/environments/{name}/declaration").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Equal(HttpStatusCode.OK, (await engine.CreateClient().GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_json_body_nested_fifty_thousand_deep_is_400_at_a_typed_endpoint()
    {
        var client = engine.As(PipelineKey);
        var body = "{\"service\":" + new string('[', Deep) + new string(']', Deep) + "}";
        await client.PostAsync("/v1/releases", new StringContent(body, Encoding.UTF8, "application/json"))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Equal(HttpStatusCode.OK, (await engine.CreateClient().GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Yaml_aliases_and_documents_over_the_size_limit_are_400()
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("alias");
        await client.PutAsync($"/v1/environments/{name}/declaration", new StringContent(
            "tier: development\nlabels: &l {a: b}\nbaseline: {runtime: *l}\n", Encoding.UTF8, "application/yaml"))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);

        // Many small nodes: bounded by the node count, not only by the depth.
        var wide = "tier: development\nx: [" + string.Join(",", Enumerable.Repeat("1", 200_000)) + "]\n";
        await client.PutAsync($"/v1/environments/{name}/declaration", new StringContent(wide, Encoding.UTF8, "application/yaml"))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
    }
}
