using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>A release's claims are checked: its artifact is one the engine holds (when required), and no submitter marks a release as a reconcile.</summary>
[Collection(EngineCollection.Name)]
public class ReleaseClaimsTests(EngineFactory engine)
{
    [Fact]
    public async Task A_submitted_release_cannot_claim_to_reconcile_another_and_so_borrow_its_promotion()
    {
        var pipeline = engine.As(PipelineKey);
        var original = (string)(await pipeline.PostJson("/v1/releases", new { service = "claims", version = "1.0.0", artifact = TestHttp.Digest("claims-1") })
            .Expect(HttpStatusCode.Created))["id"]!;

        var refused = await pipeline.PostJson("/v1/releases", new
        {
            service = "claims", version = "1.0.0", artifact = TestHttp.Digest("claims-1"), metadata = new Dictionary<string, string> { ["reconciles"] = original },
        }).ExpectProblem(HttpStatusCode.BadRequest, Problems.ValidationType);
        Assert.Contains("'reconciles' is reserved", (string?)refused["errors"]!["metadata"]![0]);
    }

    [Fact]
    public async Task With_Artifacts_RequireStored_a_release_names_only_an_artifact_uploaded_or_registered()
    {
        using var strict = engine.WithWebHostBuilder(b => b.UseSetting("Artifacts:RequireStored", "true"));
        using var pipeline = strict.CreateClient();
        pipeline.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PipelineKey);
        var bytes = RandomNumberGenerator.GetBytes(512);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

        var refused = await pipeline.PostJson("/v1/releases", new { service = "claims", version = "2.0.0", artifact = digest })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Problems.PolicyType);
        Assert.Equal($"artifact {digest} is not in the artifact store: upload it (PUT /v1/artifacts/{digest}) or register it (POST /v1/artifacts/external) " +
            "before releasing it (Artifacts:RequireStored)", (string?)refused["detail"]);
        var meta = await pipeline.GetAsync($"/v1/artifacts/{digest}/meta");
        Assert.True(meta.StatusCode == HttpStatusCode.NotFound || !(await meta.Read())["releases"]!.AsArray().Any(), "a refused release is linked to nothing");

        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await pipeline.PutAsync($"/v1/artifacts/{digest}", content)).EnsureSuccessStatusCode();
        await pipeline.PostJson("/v1/releases", new { service = "claims", version = "2.0.0", artifact = digest }).Expect(HttpStatusCode.Created);
    }
}
