using Deploy.Engine.Grains.Interfaces;
using Orleans.TestingHost;

namespace Deploy.Engine.Integration.Tests.Infrastructure;

/// <summary>Test clusters on Azurite and the fleet/rollout steps the fault tests share; every wait tolerates a cluster that is still noticing a dead silo.</summary>
public static class ClusterFleet
{
    /// <summary>A cluster of <paramref name="silos"/> on Azurite storage; the same ids again make a cluster that owns the same state.</summary>
    public static TestClusterBuilder Builder(AzuriteProcess azurite, int silos, string? serviceId = null, string? clusterId = null)
    {
        var builder = new TestClusterBuilder((short)silos);
        if (serviceId is not null) builder.Options.ServiceId = serviceId;
        if (clusterId is not null) builder.Options.ClusterId = clusterId;
        builder.Options.ConfigureFileLogging = false;
        builder.Options.UseTestClusterMembership = false;
        builder.Properties["Storage:ConnectionString"] = azurite.ConnectionString;
        builder.AddSiloBuilderConfigurator<AzureSiloConfigurator>();
        builder.AddClientBuilderConfigurator<AzureClientConfigurator>();
        return builder;
    }

    /// <summary>Configures the environment (limit 1) and registers simulated hosts on 1.0.0.</summary>
    public static async Task<List<string>> Register(
        IGrainFactory grains, string env, IReadOnlyList<string> ids, int latencyMs, Func<string, Dictionary<string, string>>? labels = null)
    {
        await grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var registered = await grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration
            {
                Environment = env,
                Labels = labels?.Invoke(id) ?? [],
                CurrentArtifact = TestHttp.Digest("1.0.0"),
                CurrentVersion = "1.0.0",
                Simulation = new SimulationProfile { StepLatencyMs = latencyMs },
            },
        }).ToList());
        Assert.All(registered, r => Assert.True(r.Ok, r.Detail));
        return ids.ToList();
    }

    /// <summary>Creates release <paramref name="releaseId"/> and starts its rollout in <paramref name="env"/>.</summary>
    public static async Task<IRolloutGrain> Start(
        IGrainFactory grains, string env, string releaseId, string service, string version, RolloutStrategySpec strategy,
        Dictionary<string, string>? selector = null)
    {
        Assert.True((await grains.GetGrain<IReleaseGrain>(releaseId).Create(new ReleaseDraft
        {
            Service = service, Version = version, Artifact = TestHttp.Digest(version), SubmittedBy = "test",
        })).Ok);
        var rollout = grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(releaseId, env));
        var draft = new RolloutDraft { ReleaseId = releaseId, Environment = env, SubmittedBy = "test", Strategy = strategy, Selector = selector ?? [] };
        CommandResult<RolloutSnapshot> started;
        try
        {
            started = await rollout.Start(draft);
        }
        catch (TimeoutException)
        {
            // As a pipeline would: ask again. One Start on a freshly started cluster passed the client's 30 s on a slow CI
            // machine (2026-12-08, before any fault was injected); Start registers a reminder first, and a fresh silo's
            // reminder service may wait up to 20 s for its first read of the reminder table (Orleans' LocalReminderService).
            // The second Start waits behind the first; a rollout the first one stored answers Conflict: it exists.
            started = await rollout.Start(draft);
            if (started.Error == ErrorKind.Conflict) return rollout;
        }

        Assert.True(started.Ok, started.Detail);
        return rollout;
    }

    public static async Task<RolloutSnapshot> WaitFor(IRolloutGrain rollout, Func<RolloutSnapshot, bool> condition, TimeSpan timeout, int pollMs = 200)
    {
        var deadline = DateTime.UtcNow + timeout;
        RolloutSnapshot? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await rollout.Get();
                if (last is not null && condition(last)) return last;
            }
            catch (Exception e) when (IsClusterSettling(e))
            {
                // The cluster is still noticing the dead silo (or the new one is starting); ask again.
            }

            await Task.Delay(pollMs);
        }

        Assert.Fail($"rollout did not reach the expected state in {timeout}; last: {last?.Status} {last?.StatusReason} {last?.Hosts}");
        return last!;
    }

    /// <summary>Every host is Ready on <paramref name="version"/>.</summary>
    public static async Task AssertHosts(IGrainFactory grains, IReadOnlyList<string> ids, string version)
    {
        var hosts = await Task.WhenAll(ids.Select(id => grains.GetGrain<IHostGrain>(id).Get()));
        Assert.All(hosts, h =>
        {
            Assert.True(h!.State == HostState.Ready, $"{h.Id} is {h.State} on {h.CurrentVersion}");
            Assert.Equal(TestHttp.Digest(version), h.CurrentArtifact);
        });
    }

    /// <summary>Calls again while the cluster settles after a kill.</summary>
    public static async Task<T> Retry<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (attempt < 20 && IsClusterSettling(e))
            {
                await Task.Delay(500);
            }
        }
    }

    public static bool IsClusterSettling(Exception e) => e is TimeoutException or OrleansException or SiloUnavailableException;
}
