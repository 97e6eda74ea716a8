using System.Net;
using System.Text;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Every endpoint × every role, from a table written out here by hand (not derived from the code's policies, so a
/// policy change that opens an endpoint to a role fails this test). An endpoint the table does not list fails it too:
/// a new endpoint must be placed in the matrix.
/// </summary>
[Collection(EngineCollection.Name)]
public class AuthorizationMatrixTests(EngineFactory engine)
{
    private const string R = "pipeline,operator,viewer,approver";
    private const string Submit = "pipeline,operator";
    private const string Operate = "pipeline,operator";
    private const string Agent = "agent,operator";

    /// <summary>Calendars, freezes and incidents hold the pipeline back, so the pipeline cannot change them.</summary>
    private const string OperatorOnly = "operator";

    /// <summary>Which roles may call each endpoint (route pattern as mapped). Everyone else gets 403.</summary>
    private static readonly Dictionary<string, string> Matrix = new(StringComparer.Ordinal)
    {
        ["POST /v1/releases/"] = Submit,
        ["GET /v1/releases/{id}"] = R,
        ["GET /v1/environments/"] = R,
        ["PUT /v1/environments/{name}"] = Operate,
        ["GET /v1/environments/{name}"] = R,
        ["GET /v1/environments/{name}/events"] = R,
        ["POST /v1/environments/{name}/simulated-hosts"] = Operate,
        ["POST /v1/rollouts/"] = Submit,
        ["POST /v1/rollouts/preview"] = R,
        ["GET /v1/rollouts/{id}"] = R,
        ["GET /v1/rollouts/{id}/events"] = R,
        ["GET /v1/rollouts/"] = R,
        ["GET /v1/releases/"] = R,
        ["GET /v1/events/stream"] = R,
        ["POST /v1/rollouts/{id}/pause"] = Operate,
        ["POST /v1/rollouts/{id}/resume"] = Operate,
        ["POST /v1/rollouts/{id}/abort"] = Operate,
        ["POST /v1/rollouts/{id}/rollback"] = Operate,
        ["POST /v1/rollouts/{id}/promote"] = Operate,
        ["POST /v1/hosts/"] = Agent,
        ["GET /v1/hosts/"] = R,
        ["GET /v1/hosts/{id}"] = R,
        ["POST /v1/hosts/{id}/heartbeat"] = Agent,
        ["GET /v1/hosts/{id}/desired"] = Agent,
        ["POST /v1/hosts/{id}/reports"] = Agent,
        ["POST /v1/hosts/{id}/metrics"] = Agent,
        ["POST /v1/hosts/{id}/quarantine/clear"] = Operate,
        ["GET /v1/analyses/{id}"] = R,
        ["POST /v1/analyses/judge"] = R,
        ["POST /v1/analyses/runs"] = R,
        ["GET /v1/audit/"] = R,
        ["GET /v1/audit/verify"] = R,
        ["PUT /v1/environments/{name}/declaration"] = Operate,
        ["GET /v1/environments/{name}/declaration"] = R,
        ["POST /v1/environments/declarations"] = Operate,
        ["GET /v1/environments/{a}/parity/{b}"] = R,
        ["GET /v1/environments/{name}/drift"] = R,
        ["POST /v1/environments/{name}/drift/scan"] = Operate,
        ["POST /v1/environments/{name}/drift/reconcile"] = Operate,
        ["POST /v1/hosts/{id}/facts"] = Agent,
        ["GET /v1/hosts/{id}/facts"] = R,
        ["POST /v1/releases/{id}/gates"] = Submit,
        ["GET /v1/releases/{id}/gates"] = R,
        ["PUT /v1/artifacts/{digest}"] = "pipeline",
        ["GET /v1/artifacts/{digest}"] = "operator,agent",
        ["GET /v1/artifacts/{digest}/meta"] = "operator,pipeline,agent",
        ["GET /v1/artifacts/{digest}/events"] = "operator",
        ["POST /v1/artifacts/external"] = "pipeline",
        ["GET /v1/artifacts/"] = "operator",
        ["POST /v1/artifacts/retention/run"] = "operator",
        ["POST /v1/releases/{id}/config"] = Submit,
        ["GET /v1/releases/{id}/config"] = R,
        ["PUT /v1/environments/{name}/parameters"] = Operate,
        ["GET /v1/environments/{name}/parameters"] = R,
        ["GET /v1/hosts/{id}/config"] = "agent",
        ["POST /v1/releases/{id}/attestations"] = Submit,
        ["POST /v1/releases/{id}/sbom"] = Submit,
        ["POST /v1/releases/{id}/waivers"] = "operator,approver",
        ["GET /v1/releases/{id}/provenance"] = R,
        ["GET /v1/releases/{id}/sbom-findings"] = R,
        ["GET /v1/releases/{id}/governance"] = R,
        ["POST /v1/releases/{id}/approvals"] = "approver",
        ["POST /v1/releases/{id}/readiness"] = "approver",
        ["POST /v1/change-records/"] = "operator,approver",
        ["GET /v1/change-records/{id}"] = R,
        ["PUT /v1/change-records/{id}/state"] = "operator,approver",
        ["GET /v1/reviews/"] = R,
        ["POST /v1/reviews/{id}"] = "operator,approver",
        ["PUT /v1/environments/{name}/calendar"] = OperatorOnly,
        ["GET /v1/environments/{name}/calendar"] = R,
        ["POST /v1/environments/{name}/calendar/exceptions"] = OperatorOnly,
        ["POST /v1/incidents/"] = OperatorOnly,
        ["GET /v1/incidents/"] = R,
        ["GET /v1/incidents/{id}"] = R,
        ["POST /v1/incidents/{id}/resolve"] = OperatorOnly,
        ["POST /v1/incidents/webhook"] = OperatorOnly,
        ["PUT /v1/services/{name}/dependencies"] = Submit,
        ["GET /v1/services/{name}/dependencies"] = R,
        ["POST /v1/trains/"] = Submit,
        ["GET /v1/trains/{name}"] = R,
        ["GET /v1/me/"] = "pipeline,operator,viewer,agent,approver",
    };

    private static readonly (string Role, string Key)[] Keys =
    [
        ("pipeline", PipelineKey), ("operator", OperatorKey), ("viewer", ViewerKey), ("agent", AgentKey), ("approver", ApproverKey),
    ];

    private IReadOnlyList<(string Method, string Pattern)> Endpoints()
    {
        var sources = engine.Services.GetServices<EndpointDataSource>();
        return sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, Normalise(e.RoutePattern.RawText!))))
            .Distinct()
            .ToList();
    }

    private static string Normalise(string pattern) => pattern.EndsWith('/') || pattern.Count(c => c == '/') > 2 ? pattern : pattern + "/";

    [Fact]
    public void Every_endpoint_is_in_the_matrix_and_the_matrix_names_no_endpoint_that_is_gone()
    {
        var mapped = Endpoints().Select(e => $"{e.Method} {e.Pattern}").ToHashSet(StringComparer.Ordinal);
        Assert.Empty(mapped.Except(Matrix.Keys).Order());
        Assert.Empty(Matrix.Keys.Except(mapped).Order());
    }

    [Fact]
    public async Task Each_role_can_call_exactly_the_endpoints_the_matrix_gives_it()
    {
        var wrong = new List<string>();
        foreach (var (method, pattern) in Endpoints())
        {
            var allowed = Matrix.GetValueOrDefault($"{method} {pattern}", string.Empty).Split(',');
            var url = System.Text.RegularExpressions.Regex.Replace(pattern, "\\{[^}]+\\}", "matrix-probe");
            foreach (var (role, key) in Keys)
            {
                using var client = engine.As(key);
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                if (method is "POST" or "PUT")
                {
                    // An empty object: an allowed caller gets a validation or not-found answer, never a change.
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }

                // Headers are enough to judge, and an event stream's body never ends.
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var forbidden = response.StatusCode == HttpStatusCode.Forbidden;
                var shouldBe = !allowed.Contains(role);
                if (forbidden != shouldBe || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.InternalServerError)
                {
                    wrong.Add($"{method} {pattern} as {role}: {(int)response.StatusCode} (expected {(shouldBe ? "403" : "allowed")})");
                }
            }
        }

        Assert.Empty(wrong);
    }
}
