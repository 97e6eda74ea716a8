using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.ArtifactsEngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Configuration templates and per-environment parameters: secrets are accepted, used to render an agent's
/// configuration, and appear nowhere else — not in any other response, log line or event.
/// </summary>
public class ParametersAndSecretsApiTests(ArtifactsEngineFactory engine) : IClassFixture<ArtifactsEngineFactory>
{
    private readonly HttpClient _pipeline = engine.As(PipelineKey);
    private readonly HttpClient _operator = engine.As(OperatorKey);
    private readonly HttpClient _viewer = engine.As(ViewerKey);

    private static readonly object Templates = new
    {
        templates = new Dictionary<string, string>
        {
            ["app.json"] = "{\"db\": \"{{ db_url }}\", \"password\": \"{{ db_password }}\"}",
            ["pool.conf"] = "size={{pool}}",
        },
    };

    [Fact]
    public async Task Parameter_sets_are_validated_and_secrets_come_back_as_set_only()
    {
        var env = TestHttp.Unique("params");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);

        await _viewer.PutJson($"/v1/environments/{env}/parameters", new { values = new { a = "1" } }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var bad = await _operator.PutJson($"/v1/environments/{env}/parameters", new Dictionary<string, object>
        {
            ["values"] = new Dictionary<string, string> { ["db url"] = "x", ["same"] = "1" },
            ["secrets"] = new Dictionary<string, string> { ["same"] = "2" },
        }).ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.NotNull(bad["errors"]!["values.db url"]);
        Assert.NotNull(bad["errors"]!["secrets.same"]);
        await _operator.PutJson("/v1/environments/nope-missing/parameters", new { values = new { a = "1" } }).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");

        var secret = "pw-" + Guid.NewGuid().ToString("n");
        var put = await _operator.PutJson($"/v1/environments/{env}/parameters", new { values = new { db_url = "postgres://db" }, secrets = new { db_password = secret } })
            .Expect(HttpStatusCode.OK);
        Assert.Equal("set", (string?)put["secrets"]!["db_password"]);
        Assert.Equal("postgres://db", (string?)put["values"]!["db_url"]);
        var read = await _viewer.GetAsync($"/v1/environments/{env}/parameters").Expect(HttpStatusCode.OK);
        Assert.Equal("set", (string?)read["secrets"]!["db_password"]);
        Assert.DoesNotContain(secret, read.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Templates_must_be_strict_and_a_release_is_refused_where_a_parameter_is_missing()
    {
        var release = (string)(await _pipeline.PostJson("/v1/releases", new { service = "cfg", version = "1.0.0", artifact = TestHttp.Digest("cfg") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var invalid = await _pipeline.PostJson($"/v1/releases/{release}/config", new { templates = new Dictionary<string, string> { ["app.json"] = "{{ if x }}" } })
            .ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");
        Assert.Contains("line 1", invalid["errors"]!["templates.app.json"]![0]!.ToString(), StringComparison.Ordinal);
        await _pipeline.PostJson("/v1/releases/rel-doesnotexist/config", Templates).ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await _viewer.PostJson($"/v1/releases/{release}/config", Templates).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await _pipeline.PostJson($"/v1/releases/{release}/config", Templates).Expect(HttpStatusCode.OK);
        await _pipeline.PostJson($"/v1/releases/{release}/config", Templates).Expect(HttpStatusCode.OK);
        await _pipeline.PostJson($"/v1/releases/{release}/config", new { templates = new Dictionary<string, string> { ["other"] = "x" } })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");

        var env = TestHttp.Unique("cfgprod");
        await _operator.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await _operator.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 1, currentArtifact = TestHttp.Digest("0"), currentVersion = "0" }).Expect(HttpStatusCode.Created);
        await _operator.PutJson($"/v1/environments/{env}/parameters", new { values = new { db_url = "postgres://prod", pool = "5" } }).Expect(HttpStatusCode.OK);
        var refused = await _pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = env })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, "urn:deploy-engine:problem:refused-by-policy");
        Assert.Contains($"template app.json names parameter 'db_password', which environment '{env}' does not define", (string?)refused["detail"], StringComparison.Ordinal);
        await _pipeline.GetAsync($"/v1/rollouts/{release}.{env}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Only_an_agent_of_the_environment_receives_the_rendered_secret_and_it_appears_in_no_other_response_log_or_event()
    {
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("n");
        await _operator.PutJson($"/v1/environments/{Staging}", new { concurrencyLimit = 4 }).Expect(HttpStatusCode.OK);
        await _operator.PutJson($"/v1/environments/{Staging}/parameters", new { values = new { db_url = "postgres://staging", pool = "7" }, secrets = new { db_password = secret } })
            .Expect(HttpStatusCode.OK);
        var service = "cfg" + Guid.NewGuid().ToString("n")[..6];
        var (release, host) = await ArtifactsApiTests.RollOut(_operator, _pipeline, Staging, service, TestHttp.Digest(service), Templates);

        // The rolled-out host is simulated: no agent key reads its configuration. The staging agent's own host may.
        await engine.As(StagingAgentKey).GetAsync($"/v1/hosts/{host}/config?release={release}").ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var own = TestHttp.Unique("vm");
        await engine.As(StagingAgentKey).PostJson("/v1/hosts", new { id = own, environment = Staging }).Expect(HttpStatusCode.OK);
        var url = $"/v1/hosts/{own}/config?release={release}";
        await _operator.GetAsync(url).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await engine.As(ElsewhereAgentKey).GetAsync(url).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await engine.As(ProductionAgentKey).GetAsync(url).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        await engine.As(StagingAgentKey).GetAsync($"/v1/hosts/{own}/config").ExpectProblem(HttpStatusCode.BadRequest, "urn:deploy-engine:problem:validation");

        var agent = engine.As(StagingAgentKey);
        using (var response = await agent.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("no-store", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
            var rendered = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal($"{{\"db\": \"postgres://staging\", \"password\": \"{secret}\"}}", (string?)rendered["files"]!["app.json"]);
            Assert.Equal("size=7", (string?)rendered["files"]!["pool.conf"]);
            Assert.StartsWith("sha256:", (string?)rendered["hash"], StringComparison.Ordinal);
        }

        // Everything else a caller can read about this environment, release and host.
        var rollout = $"{release}.{Staging}";
        var events = await _operator.WaitFor($"/v1/environments/{Staging}/events?limit=1000",
            e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == "dev.cdeventsx.deploy-engine.environment.parameters-changed"));
        var changed = events["items"]!.AsArray().Last(x => (string?)x!["type"] == "dev.cdeventsx.deploy-engine.environment.parameters-changed")!;
        Assert.Equal("db_password", (string?)changed["data"]!["secrets"]);
        Assert.Equal("db_url,pool", (string?)changed["data"]!["values"]);
        Assert.Equal("alice", (string?)changed["data"]!["actor"]);
        foreach (var read in new[]
        {
            $"/v1/environments/{Staging}/parameters", $"/v1/environments/{Staging}", $"/v1/releases/{release}", $"/v1/releases/{release}/config",
            $"/v1/rollouts/{rollout}", $"/v1/rollouts/{rollout}/events?limit=1000", $"/v1/hosts/{host}",
        })
        {
            await _operator.GetAsync(read).Expect(HttpStatusCode.OK);
        }

        var leaks = engine.Responses.Where(r => !r.Request.Contains("/config?release=", StringComparison.Ordinal) && r.Body.Contains(secret, StringComparison.Ordinal)).ToList();
        Assert.True(leaks.Count == 0, string.Join("\n", leaks.Select(l => l.Request)));
        Assert.True(engine.Responses.Count > 10);
        Assert.NotEmpty(engine.Logs.Lines);
        Assert.DoesNotContain(engine.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
    }
}
