using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Deploy.Engine.Api.Tests.Infrastructure;

/// <summary>
/// The real engine process (silo + API, Local storage mode) in memory, with one key per role.
/// Ports are taken fresh so parallel test runs on a shared machine do not collide.
/// </summary>
public sealed class EngineFactory : WebApplicationFactory<Program>
{
    public const string PipelineKey = "test-pipeline-key";
    public const string OperatorKey = "test-operator-key";
    public const string ViewerKey = "test-viewer-key";
    /// <summary>agent-1: bound to <see cref="AgentEnvironments"/> (every agent key must be bound to environments).</summary>
    public const string AgentKey = "test-agent-key";
    public const string AdminKey = "test-admin-key";
    public const string ApproverKey = "test-approver-key";

    /// <summary>An agent key bound to environment <see cref="BoundEnvironment"/> (agent-east).</summary>
    public const string BoundAgentKey = "test-bound-agent-key";

    public const string BoundEnvironment = "agents-east";

    /// <summary>A viewer key bound to environment <see cref="ScopedEnvironment"/>: it reads figures of that environment only.</summary>
    public const string ScopedViewerKey = "test-scoped-viewer-key";

    public const string ScopedEnvironment = "viewers-west";

    /// <summary>The environments agent-1 serves: each test that speaks as agent-1 uses one of its own.</summary>
    public static readonly string[] AgentEnvironments = ["agents-multi", "agents-release", "agents-quota", "agents-drift", "agents-canary"];

    /// <summary>The ITSM adapter's key (itsm-sync, role itsm): keeps the built-in change records and nothing else.</summary>
    public const string ItsmKey = "test-itsm-key";

    /// <summary>An environment whose declaration changes need two change authorities (Governance:EnvironmentChangeApprovals).</summary>
    public const string TwoApprovalsEnvironment = "cab-of-two";

    /// <summary>Another such environment, for its parameter and secret changes (the declaration test turns the first to development).</summary>
    public const string TwoApprovalsParametersEnvironment = "cab-of-two-params";

    /// <summary>A key holding both pipeline and approver (dana): may submit, and is refused approving her own release.</summary>
    public const string PipelineApproverKey = "test-pipeline-approver-key";

    /// <summary>
    /// scoped-shop: every role, scoped to environment <see cref="ScopeEnvironment"/> and service <see cref="ScopeService"/>,
    /// so that on every route only its scope can refuse it (KeyScopeTests).
    /// </summary>
    public const string ScopedKey = "test-scoped-key";

    /// <summary>scoped-shop-any-env: pipeline, operator and viewer, scoped to service <see cref="ScopeService"/> only.</summary>
    public const string ServiceOnlyScopedKey = "test-service-only-scoped-key";

    /// <summary>scoped-shop-approver: approver, scoped to service <see cref="ScopeService"/> only (KeyScopeWritesTests).</summary>
    public const string ServiceScopedApproverKey = "test-service-scoped-approver-key";

    public const string ScopeEnvironment = "scope-staging";

    public const string ScopeService = "scope-shop";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Engine:StorageMode", "Local");
        builder.UseSetting("Engine:Rollouts:ReconcileInterval", "00:00:01");
        builder.UseSetting("Orleans:ClusterId", "api-tests-" + Guid.NewGuid().ToString("n")[..8]);
        builder.UseSetting("Orleans:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Orleans:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var keys = new[] { ("ci", PipelineKey, "pipeline"), ("alice", OperatorKey, "operator"), ("watcher", ViewerKey, "viewer"), ("agent-1", AgentKey, "agent"), ("admin", AdminKey, "pipeline,operator,viewer,approver"), ("carol", ApproverKey, "approver"), ("dana", PipelineApproverKey, "pipeline,approver") };
        for (var i = 0; i < keys.Length; i++)
        {
            builder.UseSetting($"Auth:Keys:{i}:Name", keys[i].Item1);
            builder.UseSetting($"Auth:Keys:{i}:Key", keys[i].Item2);
            builder.UseSetting($"Auth:Keys:{i}:Roles", keys[i].Item3);
        }

        builder.UseSetting("Auth:Keys:3:Environments", string.Join(',', AgentEnvironments));

        builder.UseSetting($"Auth:Keys:{keys.Length}:Name", "agent-east");
        builder.UseSetting($"Auth:Keys:{keys.Length}:Key", BoundAgentKey);
        builder.UseSetting($"Auth:Keys:{keys.Length}:Roles", "agent");
        builder.UseSetting($"Auth:Keys:{keys.Length}:Environments", BoundEnvironment);
        builder.UseSetting($"Auth:Keys:{keys.Length + 1}:Name", "itsm-sync");
        builder.UseSetting($"Auth:Keys:{keys.Length + 1}:Key", ItsmKey);
        builder.UseSetting($"Auth:Keys:{keys.Length + 1}:Roles", "itsm");

        builder.UseSetting($"Auth:Keys:{keys.Length + 2}:Name", "viewer-scoped");
        builder.UseSetting($"Auth:Keys:{keys.Length + 2}:Key", ScopedViewerKey);
        builder.UseSetting($"Auth:Keys:{keys.Length + 2}:Roles", "viewer");
        builder.UseSetting($"Auth:Keys:{keys.Length + 2}:Environments", ScopedEnvironment);

        builder.UseSetting($"Auth:Keys:{keys.Length + 3}:Name", "scoped-shop");
        builder.UseSetting($"Auth:Keys:{keys.Length + 3}:Key", ScopedKey);
        builder.UseSetting($"Auth:Keys:{keys.Length + 3}:Roles", "pipeline,operator,viewer,approver,itsm,agent");
        builder.UseSetting($"Auth:Keys:{keys.Length + 3}:Environments", ScopeEnvironment);
        builder.UseSetting($"Auth:Keys:{keys.Length + 3}:Services", ScopeService);

        builder.UseSetting($"Auth:Keys:{keys.Length + 4}:Name", "scoped-shop-any-env");
        builder.UseSetting($"Auth:Keys:{keys.Length + 4}:Key", ServiceOnlyScopedKey);
        builder.UseSetting($"Auth:Keys:{keys.Length + 4}:Roles", "pipeline,operator,viewer");
        builder.UseSetting($"Auth:Keys:{keys.Length + 4}:Services", ScopeService);

        builder.UseSetting($"Auth:Keys:{keys.Length + 5}:Name", "scoped-shop-approver");
        builder.UseSetting($"Auth:Keys:{keys.Length + 5}:Key", ServiceScopedApproverKey);
        builder.UseSetting($"Auth:Keys:{keys.Length + 5}:Roles", "approver");
        builder.UseSetting($"Auth:Keys:{keys.Length + 5}:Services", ScopeService);

        // The DORA gauges on /metrics refresh every 2 s here (60 s by default).
        builder.UseSetting("Metrics:DoraRefreshSeconds", "2");
        builder.UseSetting("Governance:Approvers:carol:0", "cab");
        builder.UseSetting("Governance:Approvers:carol:1", "team");
        builder.UseSetting("Governance:Approvers:dana:0", "cab");
        builder.UseSetting("Governance:Executives:0", "admin");
        builder.UseSetting($"Governance:EnvironmentChangeApprovals:{TwoApprovalsEnvironment}", "2");
        builder.UseSetting($"Governance:EnvironmentChangeApprovals:{TwoApprovalsParametersEnvironment}", "2");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    public HttpClient As(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class EngineCollection : ICollectionFixture<EngineFactory>
{
    public const string Name = "engine";
}
