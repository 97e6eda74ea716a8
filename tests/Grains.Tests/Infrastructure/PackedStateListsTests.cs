using Deploy.Engine.Grains.Hosts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Rollouts;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using Orleans.Configuration;
using Orleans.Serialization;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// A host's artifact history and rollout origins, and a rollout's host phases and step hosts, are written packed in
/// Local mode's binary format and as ordinary JSON arrays and objects in Azure storage: whatever a state holds reads back
/// the same in both, and a JSON document written before they were packed still reads.
/// </summary>
public sealed class PackedStateListsTests : IDisposable
{
    private static readonly ServiceProvider Services = new ServiceCollection().AddSerializer().AddOptions().AddTypeNameFreeStorageFormat().BuildServiceProvider();

    private static readonly JsonSerializerSettings Json = Services.GetRequiredService<IOptions<OrleansJsonSerializerOptions>>().Value.JsonSerializerSettings;

    private readonly LocalStateStore _store = new(Options.Create(new ClusterOptions { ServiceId = "packed-lists-tests", ClusterId = Guid.NewGuid().ToString("n") }));

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task A_host_with_a_full_history_and_origins_reads_back_entry_for_entry_from_local_storage()
    {
        var state = Host(entries: 10);

        var read = await RoundTrip(state, "host");

        var (written, back) = (state.Services["web"], read.Services["web"]);
        Assert.IsType<ArtifactHistory>(back.History);
        Assert.Equal(written.History, back.History);
        Assert.Equal(Origins(written), Origins(back));
        Assert.Null(back.Origins[^1].Artifact); // the first rollout found the service running nothing
        Assert.Equal(written.CurrentArtifact, back.CurrentArtifact);
        Assert.Equal(written.Command, back.Command);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Short_empty_and_missing_lists_read_back_as_written(int entries)
    {
        var state = Host(entries);
        state.Services["legacy"] = new ServiceSlot { History = null!, Origins = null! };

        var read = await RoundTrip(state, "host");

        Assert.Equal(state.Services["web"].History, read.Services["web"].History);
        Assert.Equal(Origins(state.Services["web"]), Origins(read.Services["web"]));
        Assert.Null(read.Services["legacy"].History);
        Assert.Null(read.Services["legacy"].Origins);
    }

    [Fact]
    public async Task Strings_of_any_length_and_alphabet_survive_the_packing()
    {
        // Longer than the serializer's 512-byte contiguous write and spread over its buffer segments; not only ASCII.
        var state = Host(entries: 3);
        var slot = state.Services["web"];
        slot.History[1] = new ServiceArtifact { Artifact = "sha256:" + new string('f', 5_000), Version = "2.0.0-ünïcødé-😀" };
        slot.Origins[0].Version = "";

        var read = (await RoundTrip(state, "host")).Services["web"];

        Assert.Equal(slot.History, read.History);
        Assert.Equal("", read.Origins[0].Version);
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(100_000)]
    public async Task A_rollout_reads_back_every_hosts_phase_and_every_steps_hosts(int hosts)
    {
        var state = Rollout(hosts);

        var read = await RoundTrip(state, "rollout");

        Assert.IsType<HostPhases>(read.Hosts);
        Assert.Equal(state.Hosts.OrderBy(h => h.Key, StringComparer.Ordinal), read.Hosts.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Equal(state.Steps.Select(s => s.Hosts), read.Steps.Select(s => s.Hosts));
        Assert.Equal(HostPhase.Quarantined, read.Hosts["host-00007"]);
        Assert.True(read.Hosts.ContainsKey("host-00001")); // the ordinal comparer a lookup by id relies on
    }

    [Fact]
    public async Task One_list_held_twice_reads_back_as_one_list_held_twice()
    {
        var state = Rollout(10);
        state.Steps[1].Hosts = state.Steps[0].Hosts;

        var read = await RoundTrip(state, "rollout");

        Assert.Same(read.Steps[0].Hosts, read.Steps[1].Hosts);
        Assert.Equal(state.Steps[0].Hosts, read.Steps[1].Hosts);
    }

    [Fact]
    public void A_copy_is_independent_of_its_original()
    {
        var state = Rollout(10);
        var host = Host(entries: 2);
        var copier = Services.GetRequiredService<DeepCopier>();

        var rollout = copier.Copy(state);
        var slot = copier.Copy(host).Services["web"];
        state.Hosts["host-00001"] = HostPhase.Failed;
        state.Steps[0].Hosts.Add("host-99999");
        host.Services["web"].Origins[0].Artifact = "changed";

        Assert.Equal(HostPhase.Updating, rollout.Hosts["host-00001"]);
        Assert.DoesNotContain("host-99999", rollout.Steps[0].Hosts);
        Assert.NotEqual("changed", slot.Origins[0].Artifact);
    }

    [Fact]
    public void In_azure_storage_the_lists_are_the_json_they_were_and_older_documents_still_read()
    {
        var host = Host(entries: 2);
        var rollout = Rollout(3);

        var hostJson = JsonConvert.SerializeObject(host, Json);
        var rolloutJson = JsonConvert.SerializeObject(rollout, Json);
        var older = JsonConvert.DeserializeObject<RolloutGrainState>(
            "{\"Hosts\":{\"web-1\":\"Updated\",\"web-2\":1},\"Steps\":[{\"Kind\":\"Deploy\",\"Hosts\":[\"web-1\",\"web-2\"]}]}", Json)!;

        var newest = host.Services["web"].History[0];
        Assert.Contains($"\"History\":[{{\"Artifact\":\"{newest.Artifact}\",\"Version\":\"{newest.Version}\"}}", hostJson, StringComparison.Ordinal);
        Assert.Contains("\"Hosts\":{\"host-00000\":", rolloutJson, StringComparison.Ordinal);
        Assert.Contains("\"Hosts\":[\"host-00000\"]", rolloutJson, StringComparison.Ordinal);
        Assert.Equal(Origins(host.Services["web"]), Origins(JsonConvert.DeserializeObject<HostGrainState>(hostJson, Json)!.Services["web"]));
        Assert.Equal(HostPhase.Updated, older.Hosts["web-1"]);
        Assert.Equal(HostPhase.Updating, older.Hosts["web-2"]);
        Assert.Equal(["web-1", "web-2"], older.Steps[0].Hosts);
    }

    private async Task<T> RoundTrip<T>(T state, string name)
        where T : class
    {
        var storage = new LocalGrainStorage("Table", _store, Services.GetRequiredService<Serializer>(), Services.GetRequiredService<Orleans.Serialization.Session.SerializerSessionPool>());
        var id = GrainId.Create(name, Guid.NewGuid().ToString("n"));
        await storage.WriteStateAsync(name, id, new GrainState<T>(state, null));
        var read = new GrainState<T>(null!, null);
        await storage.ReadStateAsync(name, id, read);
        Assert.NotSame(state, read.State);
        return read.State!;
    }

    private static HostGrainState Host(int entries)
    {
        static string Digest(int i) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
        var slot = new ServiceSlot
        {
            State = HostState.Ready,
            CurrentArtifact = Digest(entries),
            CurrentVersion = $"1.{entries}",
            Rollout = $"rollout-{entries}",
            Command = new HostCommand { RolloutId = $"rollout-{entries}", Kind = HostCommandKind.Apply, Batch = 2, Artifact = Digest(entries), Version = $"1.{entries}" },
        };
        for (var i = entries; i >= 1; i--)
        {
            slot.History.Add(new ServiceArtifact { Artifact = Digest(i), Version = $"1.{i}" });
            slot.Origins.Add(new RolloutOrigin { RolloutId = $"rollout-{i}", Artifact = i == 1 ? null : Digest(i - 1), Version = i == 1 ? null : $"1.{i - 1}" });
        }

        var state = new HostGrainState { Environment = "prod", Labels = new() { ["region"] = "eu-1" }, Primary = "web" };
        state.Services["web"] = slot;
        return state;
    }

    private static RolloutGrainState Rollout(int hosts)
    {
        var ids = Enumerable.Range(0, hosts).Select(i => $"host-{i:D5}").ToList();
        var state = new RolloutGrainState { Environment = "prod", Service = "web", Version = "2.0.0" };
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            state.Hosts[id] = (HostPhase)(i % 8);
        }

        var batch = Math.Max(1, hosts / 10);
        state.Steps = ids.Chunk(batch).Select((chunk, i) => new StoredStep { Kind = Domain.Rollouts.PlanStepKind.Deploy, Stage = i, Hosts = new HostIds(chunk) }).ToList();
        return state;
    }

    private static List<(string, string?, string?)> Origins(ServiceSlot slot) => slot.Origins.Select(o => (o.RolloutId, o.Artifact, o.Version)).ToList();
}
