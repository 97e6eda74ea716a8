using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using static Deploy.Engine.Integration.Tests.Infrastructure.ProcessFleet;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The production topology with real processes: silos as separate <c>dotnet Deploy.Engine.Silo.dll</c> processes on
/// free loopback ports (as deploy/cluster.sh and the systemd units run them), sharing one real Azurite through the Azure
/// Table membership, driven through their HTTP APIs. kill -9 is a real SIGKILL of a process; a graceful stop is a real
/// SIGTERM. The binaries are the Silo project's build output (built with this test project), started once per process.
/// </summary>
public sealed class ProcessClusterTests : IAsyncLifetime
{
    private const string Env = "cluster";
    private const int BudgetHosts = 3;

    private readonly List<EngineProcess> _processes = [];
    private readonly List<IHost> _clients = [];
    private readonly List<string> _directories = [];
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.StopAsync(TimeSpan.FromSeconds(5));
            client.Dispose();
        }

        // Processes before Azurite: a stopping silo writes to the membership table.
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Kill_9_of_one_silo_process_of_three_mid_rollout_the_rollouts_finish_through_the_others_within_both_limits()
    {
        // Two rollouts at once in the environment, and at most 3 hosts labelled region=eu changing fleet-wide: with batches
        // of 2, two running rollouts would change 4 hosts at once, so the budget holds one of them back at times.
        var cluster = EngineProcess.Cluster.For(_azurite) with
        {
            Extra = new Dictionary<string, string>
            {
                ["Governance:Budgets:0:Selector:region"] = "eu",
                ["Governance:Budgets:0:MaxHosts"] = BudgetHosts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        var silos = await StartSilos(cluster, 3);
        var grains = await Client(cluster);
        using var first = silos[0].Client();
        await first.PutJson($"/v1/environments/{Env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        var services = new[] { "shop", "cart", "search" };
        var targets = new Dictionary<string, List<string>>();
        foreach (var service in services)
        {
            // 2.5 s a host: the first rollout runs ~12 s, wide enough that a slow machine still kills it mid-rollout (at 1.5 s
            // one CI run saw it end between the wait below and the kill).
            targets[service] = await AddHosts(first, Env, service, 10, latencyMs: 2500, new Dictionary<string, string> { ["region"] = "eu" });
        }

        var rollouts = new List<string>();
        foreach (var service in services)
        {
            rollouts.Add(await Roll(first, Env, service, "2.0.0"));
        }

        // Mid-rollout: the first rollout has updated some hosts and is still going.
        await WaitFor([first], rollouts[0], r => (int)r["hosts"]!["updated"]! >= 2, TimeSpan.FromSeconds(90));

        // The victim is the silo process that holds the first rollout's grain, found through Orleans' management grain.
        var address = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grains.GetGrain<IRolloutGrain>(rollouts[0]));
        var victim = silos.SingleOrDefault(s => address is not null && s.SiloPort == address.Endpoint.Port) ?? silos[0];
        var running = await Get(first, $"/v1/rollouts/{rollouts[0]}");
        Assert.False(Terminal(running!), $"the rollout ended before the kill ({running!["status"]}: {running["statusReason"]}); the test proves nothing");
        victim.Kill();
        Assert.True(victim.HasExited);
        var survivors = silos.Where(s => s != victim).ToList();
        var apis = survivors.Select(s => s.Client()).ToList();

        // Every rollout finishes through the surviving processes.
        foreach (var rollout in rollouts)
        {
            var done = await WaitFor(apis, rollout, Terminal, TimeSpan.FromSeconds(150));
            Assert.True((string?)done["status"] == "Succeeded", $"{rollout}: {done.ToJsonString()}");
            Assert.Equal(0, (int)done["hosts"]!["updating"]! + (int)done["hosts"]!["rollingBack"]!);
        }

        // The API on every surviving node answers, reads included.
        foreach (var api in apis)
        {
            Assert.NotNull(await Get(api, "/readyz"));
            var read = await Get(api, $"/v1/rollouts/{rollouts[0]}");
            Assert.Equal("Succeeded", (string?)read!["status"]);
        }

        foreach (var service in services)
        {
            await AssertHosts(apis[0], targets[service], "2.0.0");
        }

        // The limits, from the rollouts' own event histories: never more than 2 rollouts running in the environment,
        // never more than 3 hosts of region=eu changing. The budget did bind (three rollouts with batches of 2 want more).
        var histories = new List<IReadOnlyList<EngineEvent>>();
        foreach (var rollout in rollouts)
        {
            histories.Add(await History(apis[0], rollout));
        }

        Assert.InRange(ConcurrencyChecker.MaxOverlap(histories), 1, 2);
        var (changing, at) = BlastRadiusChecker.MaxHostsChanging(histories);
        Assert.True(changing <= BudgetHosts, $"{changing} hosts of region=eu changing at {at:O}, budget {BudgetHosts}");
        Assert.InRange(changing, 2, BudgetHosts);
        foreach (var api in apis) api.Dispose();
    }

    [Fact]
    public async Task An_api_only_node_serves_the_whole_api_through_the_gateways_and_survives_the_loss_of_its_silo()
    {
        var cluster = EngineProcess.Cluster.For(_azurite);
        var silos = await StartSilos(cluster, 1);
        var node = Track(EngineProcess.ApiNode(cluster, "api-1"));
        node.Start();
        await node.WaitReadyAsync();
        using var api = node.Client();

        // The event stream on the API node (it long-polls the feed grain through a gateway), opened before the rollout.
        using var streamClient = node.Client();
        streamClient.Timeout = Timeout.InfiniteTimeSpan;
        using var stream = await streamClient.GetAsync($"/v1/events/stream?environment={Env}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());

        // Writes and reads through the API node: environment, fleet, release, rollout to the end.
        await api.PutJson($"/v1/environments/{Env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        var hosts = await AddHosts(api, Env, "shop", 6, latencyMs: 100);
        var rollout = await Roll(api, Env, "shop", "2.0.0");
        var done = await WaitFor([api], rollout, Terminal, TimeSpan.FromSeconds(90));
        Assert.Equal("Succeeded", (string?)done["status"]);
        await AssertHosts(api, hosts, "2.0.0");

        // The stream delivered the rollout's finish to the API node's client.
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            string? line;
            var seen = false;
            while (!seen && (line = await reader.ReadLineAsync(cts.Token)) is not null)
            {
                seen = line.StartsWith("data: ", StringComparison.Ordinal)
                    && JsonNode.Parse(line[6..]) is { } e && (string?)e["type"] == EventTypes.PipelineRunFinished && (string?)e["rollout"] == rollout;
            }

            Assert.True(seen, "the API node's event stream never delivered the rollout's pipelinerun.finished");
        }

        // An artifact uploaded through the API node is in the shared blob store: the silo's own API serves the same bytes.
        var bytes = "a tarball, in spirit"u8.ToArray();
        var digest = "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant();
        using (var upload = new ByteArrayContent(bytes))
        {
            upload.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            var put = await api.PutAsync($"/v1/artifacts/{digest}", upload);
            Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        }

        using (var siloApi = silos[0].Client())
        {
            Assert.Equal(bytes, await siloApi.GetByteArrayAsync($"/v1/artifacts/{digest}"));
        }

        // Its only silo dies (kill -9) and another takes its place: the API node finds the new gateway and answers again.
        silos[0].Kill();
        var replacement = Track(EngineProcess.Silo(cluster, "silo-2"));
        replacement.Start();
        await replacement.WaitReadyAsync();
        await node.WaitReadyAsync(TimeSpan.FromSeconds(90));
        var read = await Get(api, $"/v1/rollouts/{rollout}", TimeSpan.FromSeconds(60));
        Assert.Equal("Succeeded", (string?)read?["status"]);
        Assert.False(node.HasExited);
    }

    // Found a real bug: about half the runs saw a rollout's first batch started twice (two rollout.batch-started events
    // for step 1, a batch apart). A rollout reactivated during its first step read CurrentStep 0 back as −1, because the
    // stored JSON left out members equal to their type's default (Silo/Hosting/StorageFormat.cs now writes them all).
    [Fact]
    public async Task Rolling_self_upgrade_one_silo_process_at_a_time_while_rollouts_run_disturbs_no_rollout_and_deploys_no_host_twice()
    {
        // The "new build": the same binaries copied to a directory of their own (not a different compilation; a
        // rebuild with another version stamp would take minutes on this machine and prove nothing more here).
        var cluster = EngineProcess.Cluster.For(_azurite);
        var newBuild = CopyBinaries(cluster.Binaries);
        var silos = await StartSilos(cluster, 3);
        var apis = silos.Select(s => s.Client()).ToList();
        await apis[0].PutJson($"/v1/environments/{Env}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        var services = new[] { "shop", "cart" };
        var targets = new Dictionary<string, List<string>>();
        foreach (var service in services)
        {
            targets[service] = await AddHosts(apis[0], Env, service, 12, latencyMs: 2000);
        }

        // Before each silo's turn, a new version of each service: its rollout runs (or waits behind the previous version
        // of the same service) while that silo stops and its replacement starts.
        var rollouts = new List<(string Service, string Id)>();
        for (var i = 0; i < silos.Count; i++)
        {
            var version = $"2.{i + 1}.0";
            foreach (var service in services)
            {
                rollouts.Add((service, await Roll(apis[(i + 1) % apis.Count], Env, service, version)));
            }

            // Stop the silo only once this wave is deploying: hosts are changing while it goes.
            var others = apis.Where((_, j) => j != i).ToList();
            await WaitFor(others, rollouts[^1].Id, r => (string?)r["status"] == "Progressing" && (int)r["hosts"]!["updating"]! > 0, TimeSpan.FromSeconds(90));

            await silos[i].StopAsync();
            apis[i].Dispose();
            var upgraded = Track(EngineProcess.Silo(cluster, $"silo-{i + 1}-new", newBuild));
            upgraded.Start();
            await upgraded.WaitReadyAsync();
            silos[i] = upgraded;
            apis[i] = upgraded.Client();
        }

        foreach (var (service, id) in rollouts)
        {
            var done = await WaitFor(apis, id, Terminal, TimeSpan.FromSeconds(180));
            Assert.True((string?)done["status"] == "Succeeded", $"{id}: {done.ToJsonString()}");
            AssertEachHostDeployedOnce(await History(apis[0], id), targets[service], id);
        }

        foreach (var service in services)
        {
            await AssertHosts(apis[0], targets[service], "2.3.0");
        }

        // Every process now running is a replacement started from the new build.
        Assert.All(silos, s => Assert.EndsWith("-new", s.Name, StringComparison.Ordinal));
        foreach (var api in apis) api.Dispose();
    }

    private async Task<List<EngineProcess>> StartSilos(EngineProcess.Cluster cluster, int count)
    {
        // The first alone (it creates the tables and is the one the others validate against), then the rest at once.
        var silos = Enumerable.Range(1, count).Select(i => Track(EngineProcess.Silo(cluster, $"silo-{i}"))).ToList();
        silos[0].Start();
        await silos[0].WaitReadyAsync();
        foreach (var silo in silos.Skip(1))
        {
            silo.Start();
        }

        foreach (var silo in silos.Skip(1))
        {
            await silo.WaitReadyAsync();
        }

        return silos;
    }

    private EngineProcess Track(EngineProcess process)
    {
        _processes.Add(process);
        return process;
    }

    /// <summary>An Orleans client of the cluster for the test itself (only to find where a grain lives).</summary>
    private async Task<IGrainFactory> Client(EngineProcess.Cluster cluster)
    {
        var host = new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .UseOrleansClient(c =>
            {
                c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ClusterId));
                c.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(cluster.ConnectionString));
            })
            .Build();
        _clients.Add(host);
        await host.StartAsync();
        return host.Services.GetRequiredService<IClusterClient>();
    }

    private string CopyBinaries(string from)
    {
        var to = Path.Combine(Path.GetTempPath(), "deploy-engine-build-" + Guid.NewGuid().ToString("n")[..8]);
        _directories.Add(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return to;
    }
}
