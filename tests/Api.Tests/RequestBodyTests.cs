using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>What the API does with the body itself, before any resource sees it: its charset and its size.</summary>
[Collection(EngineCollection.Name)]
public class RequestBodyTests(EngineFactory engine)
{
    [Theory]
    [InlineData("utf-7")]
    [InlineData("x-no-such-charset")]
    [InlineData("utf-16")]
    [InlineData("utf8")]
    [InlineData("\"latin1\"")]
    public async Task A_json_body_in_a_charset_other_than_utf8_is_415_not_500(string charset)
    {
        var admin = engine.As(AdminKey);
        var version = "9.7." + Random.Shared.Next(1_000_000);
        var content = new StringContent(
            $"{{\"service\":\"charset\",\"version\":\"{version}\",\"artifact\":\"{TestHttp.Digest(version)}\"}}", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=" + charset);

        var problem = await admin.PostAsync("/v1/releases", content)
            .ExpectProblem(HttpStatusCode.UnsupportedMediaType, "urn:deploy-engine:problem:validation");
        Assert.Contains("UTF-8", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json")]
    public async Task A_utf8_json_body_is_accepted(string contentType)
    {
        var version = "9.8." + Random.Shared.Next(1_000_000);
        var content = new StringContent($"{{\"service\":\"charset\",\"version\":\"{version}\",\"artifact\":\"{TestHttp.Digest(version)}\"}}", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        await engine.As(AdminKey).PostAsync("/v1/releases", content).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413()
    {
        var admin = engine.As(AdminKey);
        var version = "9.9." + Random.Shared.Next(1_000_000);
        var huge = $"{{\"service\":\"chunked\",\"version\":\"{version}\",\"artifact\":\"{TestHttp.Digest(version)}\",\"metadata\":{{\"blob\":\"{new string('x', 2 * 1024 * 1024)}\"}}}}";

        // No Content-Length: the body arrives as a stream of unknown length, as with Transfer-Encoding: chunked.
        var content = new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(huge)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/releases") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        await admin.SendAsync(request).ExpectProblem(HttpStatusCode.RequestEntityTooLarge, "urn:deploy-engine:problem:payload-too-large");
    }

    /// <summary>A readable stream that does not tell its length, so the client cannot send a Content-Length.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
