using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>The dashboard's files at /ui (open, no data, strict CSP) and GET /v1/me, which tells the page what a key may do.</summary>
[Collection(EngineCollection.Name)]
public class DashboardApiTests(EngineFactory engine)
{
    [Theory]
    [InlineData("/ui", "text/html")]
    [InlineData("/ui/", "text/html")]
    [InlineData("/ui/app.js", "text/javascript")]
    [InlineData("/ui/app.css", "text/css")]
    public async Task The_pages_files_are_served_without_a_key_under_a_policy_that_forbids_inline_script(string path, string mediaType)
    {
        using var client = engine.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", string.Join(' ', response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task The_page_holds_no_inline_script_and_no_key()
    {
        using var client = engine.CreateClient();

        var html = await client.GetStringAsync(new Uri("/ui", UriKind.Relative));

        Assert.Contains("<script type=\"module\" src=\"/ui/app.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("<script(?![^>]*\\bsrc=)", html);
        Assert.DoesNotContain(OperatorKey, html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/ui/missing.js")]
    [InlineData("/ui/pages/missing.js")]
    [InlineData("/ui/pages")]
    public async Task A_file_the_dashboard_does_not_ship_is_a_404(string path)
    {
        using var client = engine.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Only_get_reaches_the_dashboards_files()
    {
        using var client = engine.CreateClient();

        using var response = await client.PostAsync(new Uri("/ui/app.js", UriKind.Relative), new StringContent("x"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Theory]
    [InlineData(ViewerKey, "watcher", "viewer", "read")]
    [InlineData(OperatorKey, "alice", "operator", "agent,artifact-admin,artifact-download,artifact-meta,calendar,drill,flags,govern,incident,incident-resolve,operate,read,submit,waive,webhooks")]
    [InlineData(ApproverKey, "carol", "approver", "approve,change-record,declaration-change,flags,govern,incident-resolve,read,waive")]
    [InlineData(PipelineApproverKey, "dana", "approver,pipeline", "approve,artifact-meta,artifact-upload,change-record,declaration-change,flags,govern,incident-resolve,operate,read,submit,waive")]
    public async Task Me_names_the_key_its_roles_and_what_it_may_do(string key, string name, string roles, string can)
    {
        using var client = engine.As(key);

        var me = await client.GetAsync(new Uri("/v1/me", UriKind.Relative)).Expect(HttpStatusCode.OK);

        Assert.Equal(name, (string?)me["name"]);
        Assert.Equal(roles, string.Join(',', me["roles"]!.AsArray().Select(r => (string?)r)));
        Assert.Equal(can, string.Join(',', me["can"]!.AsArray().Select(r => (string?)r)));
        Assert.Empty(me["services"]!.AsArray());
    }

    [Fact]
    public async Task Me_shows_the_environments_a_bound_key_is_scoped_to()
    {
        using var client = engine.As(BoundAgentKey);

        var me = await client.GetAsync(new Uri("/v1/me", UriKind.Relative)).Expect(HttpStatusCode.OK);

        Assert.Equal(BoundEnvironment, string.Join(',', me["environments"]!.AsArray().Select(r => (string?)r)));
        Assert.Equal("agent,artifact-download,artifact-meta,host-config", string.Join(',', me["can"]!.AsArray().Select(r => (string?)r)));
    }

    [Fact]
    public async Task Me_without_a_key_is_a_401()
    {
        using var client = engine.CreateClient();

        await client.GetAsync(new Uri("/v1/me", UriKind.Relative)).ExpectProblem(HttpStatusCode.Unauthorized, "urn:deploy-engine:problem:unauthorized");
    }
}
