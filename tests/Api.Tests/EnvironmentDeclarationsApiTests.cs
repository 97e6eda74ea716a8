using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deploy.Engine.Api.Tests.Infrastructure;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>Declared environments over HTTP: declarations in JSON and YAML, parity, quotas, drift reconcile, gates, production via the pipeline.</summary>
[Collection(EngineCollection.Name)]
public class EnvironmentDeclarationsApiTests(EngineFactory engine)
{
    private const string Validation = "urn:deploy-engine:problem:validation";
    private const string Policy = "urn:deploy-engine:problem:refused-by-policy";
    private const string Forbidden = "urn:deploy-engine:problem:forbidden";

    private static StringContent Yaml(string text) => new(text, Encoding.UTF8, "application/yaml");

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_yaml_declaration_creates_the_environment_and_its_get_shows_tier_protection_order_and_gates()
    {
        var client = engine.As(OperatorKey);
        var staging = TestHttp.Unique("stg");
        var production = TestHttp.Unique("prd");
        await client.PutAsync($"/v1/environments/{staging}/declaration", Yaml($"""
            tier: staging
            dataClassification: anonymised
            concurrencyLimit: 2
            baseline:
              services:
                shop: {"{"}version: 2.0, configHash: "{TestHttp.Digest("cfg")}"{"}"}
              runtime:
                os-image: ubuntu-24.04
            """)).Expect(HttpStatusCode.OK);
        await client.PutAsync($"/v1/environments/{production}/declaration", Yaml($"""
            name: {production}
            tier: production
            after: {staging}
            gates: [performance-test, security-scan]
            hostGroups:
              - name: web
                labels: {"{"}role: web{"}"}
            """)).Expect(HttpStatusCode.OK);

        var stg = await client.GetAsync($"/v1/environments/{staging}").Expect(HttpStatusCode.OK);
        Assert.Equal(2, (int)stg["spec"]!["concurrencyLimit"]!);
        Assert.Equal("Staging", (string?)stg["declaration"]!["declaration"]!["tier"]);
        Assert.Equal("2.0", (string?)stg["declaration"]!["declaration"]!["baseline"]!["services"]!["shop"]!["version"]);
        var prd = await client.GetAsync($"/v1/environments/{production}").Expect(HttpStatusCode.OK);
        var declared = prd["declaration"]!["declaration"]!;
        Assert.Equal("Production", (string?)declared["tier"]);
        Assert.True((bool)declared["protected"]!);
        Assert.Equal(staging, (string?)declared["after"]);
        Assert.Equal(["performance-test", "security-scan"], declared["gates"]!.AsArray().Select(g => (string)g!));

        // Events reach the history through the stream: wait for it.
        var events = await client.WaitFor($"/v1/environments/{production}/events",
            e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == "dev.cdeventsx.deploy-engine.environment.declared"));
        var declaredEvent = events["items"]!.AsArray().Single(e => (string?)e!["type"] == "dev.cdeventsx.deploy-engine.environment.declared")!;
        Assert.Equal("alice", (string?)declaredEvent["data"]!["actor"]);
        Assert.Equal("operator", (string?)declaredEvent["data"]!["role"]);
    }

    [Fact]
    public async Task An_invalid_declaration_is_400_naming_every_field_by_its_path()
    {
        var client = engine.As(OperatorKey);
        var name = TestHttp.Unique("bad");
        var problem = await client.PutAsync($"/v1/environments/{name}/declaration", Json("""
            {"tier":"qa","dataClassification":"production","after":"nowhere-x","gates":["ok","Not OK"],
             "dataSources":[{"name":"db","classification":"production"}],
             "baseline":{"services":{"shop":{"version":"","configHash":"md5:1"}},"runtime":{"os-image":""}},
             "ephemeral":{"owner":"","ttl":"soon","hostQuota":-1},"colour":"blue"}
            """)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        var errors = problem["errors"]!.AsObject().Select(e => e.Key).Order().ToList();
        Assert.Equal(["baseline.runtime.os-image", "baseline.services.shop.configHash", "baseline.services.shop.version", "colour",
            "ephemeral.hostQuota", "ephemeral.owner", "ephemeral.ttl", "gates[1]", "tier"], errors);

        // Valid in itself, a staging environment may not use production data, and 'after' must name a declared environment.
        var second = await client.PutAsync($"/v1/environments/{name}/declaration", Json("""
            {"tier":"staging","dataClassification":"production","after":"nowhere-x","dataSources":[{"name":"db","classification":"production"}]}
            """)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Equal(["dataClassification", "dataSources[0].classification"], second["errors"]!.AsObject().Select(e => e.Key).Order());

        var third = await client.PutAsync($"/v1/environments/{name}/declaration", Json("""{"tier":"staging","dataClassification":"synthetic","after":"nowhere-x"}"""))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Contains("'nowhere-x' is not declared", (string?)third["errors"]!["after"]![0]);

        await client.PutAsync($"/v1/environments/{name}/declaration", Yaml("tier: [unclosed")).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        await client.PutAsync($"/v1/environments/{name}/declaration", Json("{\"name\":\"other\",\"tier\":\"development\",\"dataClassification\":\"synthetic\"}"))
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        await client.GetAsync($"/v1/environments/{name}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Parity_lists_every_difference_between_two_declared_baselines()
    {
        var client = engine.As(OperatorKey);
        var a = TestHttp.Unique("par-a");
        var b = TestHttp.Unique("par-b");
        await client.PostAsync("/v1/environments/declarations", Json($$"""
            {"declarations":[
              {"name":"{{a}}","tier":"staging","dataClassification":"anonymised",
               "baseline":{"services":{"shop":{"version":"2.0.0"},"cart":{"version":"1.1.0"} },"runtime":{"os-image":"ubuntu-24.04","jvm":"21"} } },
              {"name":"{{b}}","tier":"production","after":"{{a}}",
               "baseline":{"services":{"shop":{"version":"1.9.0"},"cart":{"version":"1.1.0"} },"runtime":{"os-image":"ubuntu-22.04"} } }]}
            """)).Expect(HttpStatusCode.OK);

        var parity = await client.GetAsync($"/v1/environments/{a}/parity/{b}").Expect(HttpStatusCode.OK);
        Assert.False((bool)parity["identical"]!);
        Assert.Equal(["runtime.jvm: 21 / -", "runtime.os-image: ubuntu-24.04 / ubuntu-22.04", "services.shop.version: 2.0.0 / 1.9.0"],
            parity["differences"]!.AsArray().Select(d => $"{d!["field"]}: {(string?)d["a"] ?? "-"} / {(string?)d["b"] ?? "-"}"));
        Assert.True((bool)(await client.GetAsync($"/v1/environments/{a}/parity/{a}").Expect(HttpStatusCode.OK))["identical"]!);
        await client.GetAsync($"/v1/environments/{a}/parity/nope-{a}").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");

        // A batch is all or nothing: one bad declaration stores none of them.
        var c = TestHttp.Unique("par-c");
        var problem = await client.PostAsync("/v1/environments/declarations", Json($$"""
            [{"name":"{{c}}","tier":"development","dataClassification":"synthetic"},{"name":"{{c}}-2","tier":"staging","dataClassification":"synthetic","after":"{{c}}-3"}]
            """)).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.NotNull(problem["errors"]!["[1].after"]);
        await client.GetAsync($"/v1/environments/{c}/declaration").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }

    [Fact]
    public async Task Registering_hosts_beyond_an_ephemeral_environments_quota_is_422()
    {
        var client = engine.As(OperatorKey);
        var agent = engine.As(AgentKey);
        var name = "agents-quota";
        await client.PutAsync($"/v1/environments/{name}/declaration", Json("""
            {"tier":"development","dataClassification":"synthetic","ephemeral":{"owner":"team-cart","ttl":"2h","hostQuota":2}}
            """)).Expect(HttpStatusCode.OK);

        await agent.PostJson("/v1/hosts", new { id = name + "-a", environment = name }).Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/environments/{name}/simulated-hosts", new { count = 2, idPrefix = name + "-sim" })
            .ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        await agent.PostJson("/v1/hosts", new { id = name + "-b", environment = name }).Expect(HttpStatusCode.OK);
        var problem = await agent.PostJson("/v1/hosts", new { id = name + "-c", environment = name }).ExpectProblem(HttpStatusCode.UnprocessableEntity, Policy);
        Assert.Contains("host quota of 2: it has 2 hosts, registering 1 more would make 3", (string?)problem["detail"]);
        // Re-registering a host it already holds (an agent restarting) is not a new host.
        await agent.PostJson("/v1/hosts", new { id = name + "-a", environment = name }).Expect(HttpStatusCode.OK);
        Assert.Equal(2, (int)(await client.GetAsync($"/v1/environments/{name}").Expect(HttpStatusCode.OK))["hostCount"]!);
    }

    [Fact]
    public async Task Drift_reported_by_an_agent_is_reapplied_through_a_normal_rollout_and_audited()
    {
        var pipeline = engine.As(PipelineKey);
        var client = engine.As(OperatorKey);
        var agent = engine.As(AgentKey);
        var name = "agents-drift";
        await client.PutAsync($"/v1/environments/{name}/declaration", Json("""
            {"tier":"staging","dataClassification":"synthetic","baseline":{"services":{"shop":{"version":"2.0.0"} },"runtime":{"os-image":"ubuntu-24.04"} } }
            """)).Expect(HttpStatusCode.OK);
        var fleet = await client.PostJson($"/v1/environments/{name}/simulated-hosts", new { count = 2, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0" })
            .Expect(HttpStatusCode.Created);
        var hosts = fleet["hostIds"]!.AsArray().Select(h => (string)h!).ToList();
        var release = (string)(await pipeline.PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = name })
            .Expect(HttpStatusCode.Created))["id"]!;
        await client.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Succeeded");

        // Simulated hosts are the engine's: no agent key speaks for them (403, nothing stored); the operator reports their facts.
        var refused = await agent.PostJson($"/v1/hosts/{hosts[0]}/facts", new { services = new { shop = new { version = "9.9.9" } } })
            .ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        Assert.Contains("created by the engine", (string?)refused["detail"], StringComparison.Ordinal);
        await client.GetAsync($"/v1/hosts/{hosts[0]}/facts").ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
        await client.PostJson($"/v1/hosts/{hosts[0]}/facts", new { services = new { shop = new { version = "2.0.0" } }, runtime = new Dictionary<string, string> { ["os-image"] = "ubuntu-24.04" } })
            .Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/hosts/{hosts[1]}/facts", new { services = new { shop = new { version = "1.0.0" } }, runtime = new Dictionary<string, string> { ["os-image"] = "ubuntu-22.04" } })
            .Expect(HttpStatusCode.OK);
        var drift = await client.PostAsync($"/v1/environments/{name}/drift/scan", null).Expect(HttpStatusCode.OK);
        var drifted = drift["drifted"]!.AsArray().Single()!;
        Assert.Equal(hosts[1], (string?)drifted["hostId"]);
        Assert.Equal(["runtime.os-image", "services.shop.version"], drifted["fields"]!.AsArray().Select(f => (string)f!["field"]!));

        var outcome = await client.PostJson($"/v1/environments/{name}/drift/reconcile", new { mode = "reapply", reason = "host was hand-patched" })
            .Expect(HttpStatusCode.OK);
        var reapplied = (string)outcome["rollouts"]!.AsArray().Single()!;
        Assert.Contains("a rollout cannot change runtime facts", (string?)outcome["notReapplied"]![0]);
        var done = await client.WaitFor($"/v1/rollouts/{reapplied}", r => (string?)r["status"] is "Succeeded" or "Failed" or "RolledBack" or "Aborted");
        Assert.Equal("Succeeded", (string?)done["status"]);
        var clone = await client.GetAsync($"/v1/releases/{(string)done["releaseId"]!}").Expect(HttpStatusCode.OK);
        Assert.Equal(release, (string?)clone["metadata"]!["reconciles"]);
        Assert.Equal("2.0.0", (string?)clone["version"]);

        var events = await client.WaitFor($"/v1/environments/{name}/events",
            e => e["items"]!.AsArray().Any(x => (string?)x!["type"] == "dev.cdeventsx.deploy-engine.environment.drift-reconciled"));
        var reconciled = events["items"]!.AsArray().First(x => (string?)x!["type"] == "dev.cdeventsx.deploy-engine.environment.drift-reconciled")!;
        Assert.Equal("alice", (string?)reconciled["data"]!["actor"]);
        Assert.Equal("reapply", (string?)reconciled["data"]!["mode"]);
        Assert.Equal("host was hand-patched", (string?)reconciled["reason"]);

        // Accept the other way round: the runtime fact the rollout could not repair becomes the baseline.
        var accepted = await client.PostJson($"/v1/environments/{name}/drift/reconcile", new { mode = "accept", hosts = new[] { hosts[1] } })
            .Expect(HttpStatusCode.OK);
        Assert.Contains(accepted["accepted"]!.AsArray(), a => (string?)a!["field"] == "runtime.os-image" && (string?)a["actual"] == "ubuntu-22.04");
        await client.PostJson($"/v1/environments/{name}/drift/reconcile", new { mode = "sideways" }).ExpectProblem(HttpStatusCode.BadRequest, Validation);
        await client.PostJson($"/v1/environments/{name}/drift/reconcile", new { mode = "accept", hosts = new[] { "not-here" } })
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
    }

    [Fact]
    public async Task Production_takes_rollouts_and_gate_results_only_from_the_pipeline()
    {
        var client = engine.As(OperatorKey);
        var pipeline = engine.As(PipelineKey);
        var name = TestHttp.Unique("prod");
        await client.PutAsync($"/v1/environments/{name}/declaration", Json("""{"tier":"production"}""")).Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/environments/{name}/simulated-hosts", new { count = 1 }).Expect(HttpStatusCode.Created);
        // A production-tier environment is protected: the release names an approved change record.
        var change = TestHttp.Unique("chg");
        await engine.As(ApproverKey).PostJson("/v1/change-records", new { id = change, title = "shop 3.0.0", state = "approved", service = "shop", end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);
        var release = (string)(await pipeline.PostJson("/v1/releases", new { service = "shop", version = "3.0.0", artifact = TestHttp.Digest("3.0.0"), changeRecord = change })
            .Expect(HttpStatusCode.Created))["id"]!;

        var problem = await client.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        Assert.Contains("production tier", (string?)problem["detail"]);
        await client.PostJson($"/v1/releases/{release}/gates", new { environment = name, gate = "security-scan", status = "passed" })
            .ExpectProblem(HttpStatusCode.Forbidden, Forbidden);
        var bad = await pipeline.PostJson($"/v1/releases/{release}/gates", new { environment = name, gate = "Security Scan", status = "maybe", url = "ftp://x" })
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Equal(["gate", "status", "url"], bad["errors"]!.AsObject().Select(e => e.Key).Order());
        var recorded = await pipeline.PostJson($"/v1/releases/{release}/gates",
            new { environment = name, gate = "security-scan", status = "passed", url = "https://ci.example.test/scan/1" }).Expect(HttpStatusCode.OK);
        Assert.Equal("ci", (string?)recorded.AsArray().Single()!["recordedBy"]);

        // Accepted from the pipeline; production's governance then asks for an approval before it runs.
        var accepted = await pipeline.PostJson("/v1/rollouts", new { releaseId = release, environment = name }).Expect(HttpStatusCode.Created);
        Assert.Equal(name, (string?)accepted["environment"]);
    }

    [Fact]
    public async Task Facts_are_validated_and_need_a_registered_host()
    {
        // An agent key is scoped to its environments: a host that does not exist is outside them (403, as another's would be).
        var agent = engine.As(AgentKey);
        await agent.PostJson("/v1/hosts/nobody/facts", new { runtime = new { kernel = "6.8" } }).ExpectProblem(HttpStatusCode.Forbidden, "urn:deploy-engine:problem:forbidden");
        var op = engine.As(OperatorKey);
        var problem = await op.PostJson("/v1/hosts/nobody/facts", new { services = new Dictionary<string, object> { ["Shop!"] = new { version = "", configHash = "x" } } })
            .ExpectProblem(HttpStatusCode.BadRequest, Validation);
        Assert.Equal(["services.Shop!", "services.Shop!.configHash", "services.Shop!.version"], problem["errors"]!.AsObject().Select(e => e.Key).Order());
        await op.PostJson("/v1/hosts/nobody-" + Guid.NewGuid().ToString("n")[..6] + "/facts", new { runtime = new { kernel = "6.8" } })
            .ExpectProblem(HttpStatusCode.NotFound, "urn:deploy-engine:problem:not-found");
    }
}

/// <summary>An engine started with <c>Environments:DeclarationsPath</c> declares what the folder holds.</summary>
public sealed class DeclarationsFolderStartupTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("declarations-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_engine_declares_the_folders_environments_at_start()
    {
        File.WriteAllText(Path.Combine(_folder, "envs.yaml"), """
            declarations:
              - name: folder-staging
                tier: staging
                dataClassification: anonymised
              - name: folder-production
                tier: production
                after: folder-staging
                gates: [security-scan]
            """);
        using var engine = new EngineFactory().WithWebHostBuilder(b => b.UseSetting("Environments:DeclarationsPath", _folder));
        using var client = engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EngineFactory.ViewerKey);

        var production = await client.WaitFor("/v1/environments/folder-production", e => e["declaration"] is not null, TimeSpan.FromSeconds(30));
        Assert.Equal("folder-staging", (string?)production["declaration"]!["declaration"]!["after"]);
        Assert.Equal("declarations-folder", (string?)production["declaration"]!["declaredBy"]);
        await client.GetAsync("/v1/environments/folder-staging/declaration").Expect(HttpStatusCode.OK);
    }
}
