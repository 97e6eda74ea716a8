using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// A refusal changes nothing: a 503 ("nothing was changed") or a 409 leaves no record behind, whichever store failed
/// or whichever host conflicted. And readiness reports the storage as it is now.
/// </summary>
public sealed class NoHalfWrittenRefusalsTests : IClassFixture<BlobOutageEngine>
{
    private const string Unavailable = "urn:deploy-engine:problem:storage-unavailable";
    private readonly BlobOutageEngine _engine;

    public NoHalfWrittenRefusalsTests(BlobOutageEngine engine)
    {
        _engine = engine;
        _engine.BlobDown = false;
    }

    private int StoredReleases => _engine.StoredKeys.Count(k => k.StartsWith("table/release/release/", StringComparison.Ordinal));

    [Fact]
    public async Task A_release_refused_with_503_because_its_audit_cannot_be_written_is_not_stored()
    {
        var pipeline = _engine.As(PipelineKey);
        await pipeline.PostJson("/v1/releases", new { service = "shop", version = "1.0.0", artifact = TestHttp.Digest("1.0.0") }).Expect(HttpStatusCode.Created);
        var before = StoredReleases;

        _engine.BlobDown = true;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var refused = await pipeline.PostJson("/v1/releases", new { service = "shop", version = "1.0.1", artifact = TestHttp.Digest("1.0.1") });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        _engine.BlobDown = false;
        Assert.Equal(before, StoredReleases);
    }

    [Fact]
    public async Task A_host_refused_with_503_because_its_environment_cannot_list_it_is_not_registered()
    {
        var op = _engine.As(OperatorKey);
        var env = TestHttp.Unique("out");
        await op.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await op.GetAsync($"/v1/environments/{env}").Expect(HttpStatusCode.OK);

        _engine.BlobDown = true;
        var id = TestHttp.Unique("vm");
        await op.PostJson("/v1/hosts", new { id, environment = env }).ExpectProblem(HttpStatusCode.ServiceUnavailable, Unavailable);
        await op.PostJson($"/v1/environments/{env}/simulated-hosts", new { count = 3, idPrefix = id + "-sim" })
            .ExpectProblem(HttpStatusCode.ServiceUnavailable, Unavailable);

        _engine.BlobDown = false;
        await op.GetAsync($"/v1/hosts/{id}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await op.GetAsync($"/v1/hosts/{id}-sim-0001").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Equal(0, (int)(await op.GetAsync($"/v1/hosts?environment={env}").Expect(HttpStatusCode.OK))["total"]!);

        // Storage back: the same registration goes through, listed and registered.
        await op.PostJson("/v1/hosts", new { id, environment = env }).Expect(HttpStatusCode.OK);
        Assert.Equal(1, (int)(await op.GetAsync($"/v1/hosts?environment={env}").Expect(HttpStatusCode.OK))["total"]!);
    }

    [Fact]
    public async Task A_simulated_fleet_refused_with_409_registers_none_of_its_hosts()
    {
        var op = _engine.As(OperatorKey);
        var a = TestHttp.Unique("fa");
        var b = TestHttp.Unique("fb");
        var prefix = TestHttp.Unique("sim");
        await op.PutJson($"/v1/environments/{a}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await op.PutJson($"/v1/environments/{b}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await op.PostJson("/v1/hosts", new { id = prefix + "-0003", environment = a }).Expect(HttpStatusCode.OK);

        var problem = await op.PostJson($"/v1/environments/{b}/simulated-hosts", new { count = 5, idPrefix = prefix })
            .ExpectProblem(HttpStatusCode.Conflict, "urn:deploy-engine:problem:conflict");
        Assert.Contains(prefix + "-0003", (string?)problem["detail"], StringComparison.Ordinal);

        await op.GetAsync($"/v1/hosts/{prefix}-0001").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        Assert.Equal(0, (int)(await op.GetAsync($"/v1/hosts?environment={b}").Expect(HttpStatusCode.OK))["total"]!);
        Assert.Equal(a, (string?)(await op.GetAsync($"/v1/hosts/{prefix}-0003").Expect(HttpStatusCode.OK))["environment"]);
    }

    [Fact]
    public async Task Readiness_reads_storage_now_and_answers_503_while_it_is_down()
    {
        var anonymous = _engine.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);

        _engine.BlobDown = true;
        var down = await anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.NotNull(down.Headers.RetryAfter);

        _engine.BlobDown = false;
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
    }
}
