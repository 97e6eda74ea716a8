using System.Net;
using System.Reflection;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Every route the OpenAPI document describes says what it does: a summary and a tag on each, read from the same
/// endpoint data source <see cref="PermissionTableTests"/> reads. A new route without a summary fails here, by name.
/// </summary>
[Collection(EngineCollection.Name)]
public class OpenApiSummaryTests(EngineFactory engine)
{
    [Fact]
    public void Every_described_route_has_a_summary_and_a_tag()
    {
        // What the OpenAPI generator describes: handlers (they carry their MethodInfo) not excluded from the description.
        var described = engine.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<MethodInfo>() is not null
                && e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .ToList();
        Assert.True(described.Count > 90, $"only {described.Count} routes found");

        var unsummarised = described
            .Where(e => string.IsNullOrWhiteSpace(e.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary)
                || e.Metadata.GetOrderedMetadata<ITagsMetadata>().SelectMany(t => t.Tags).All(string.IsNullOrWhiteSpace))
            .Select(e => $"{string.Join(',', e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])} {e.RoutePattern.RawText}")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Empty(unsummarised);
    }

    [Fact]
    public async Task The_openapi_document_gives_every_operation_a_summary()
    {
        var document = await engine.CreateClient().GetAsync("/openapi/v1.json").Expect(HttpStatusCode.OK);
        string[] verbs = ["get", "put", "post", "delete", "patch"];
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Where(o => verbs.Contains(o.Key)).Select(o => (Name: $"{o.Key} {path.Key}", Operation: o.Value!)))
            .ToList();
        Assert.True(operations.Count > 90, $"only {operations.Count} operations in the document");
        Assert.Empty(operations.Where(o => string.IsNullOrWhiteSpace(o.Operation["summary"]?.GetValue<string>())).Select(o => o.Name));
        Assert.Contains(operations, o => o.Name == "post /v1/rollouts/{id}/rollback" && o.Operation["description"]?.GetValue<string>() is { Length: > 0 });
    }
}
