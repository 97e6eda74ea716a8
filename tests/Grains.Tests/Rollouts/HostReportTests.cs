using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Rollouts;

/// <summary>
/// Real agents (no simulation) whose reports arrive twice, out of order, stale, with the rollout's own
/// re-deliveries mixed in: the outcome must equal a clean run of the same scenario.
/// </summary>
[Collection(ClusterCollection.Name)]
public class HostReportTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    public static TheoryData<int> FailingHosts => new() { 1, 2 };

    [Theory]
    [MemberData(nameof(FailingHosts))]
    public async Task Duplicate_stale_and_reordered_reports_end_like_a_clean_run(int failing)
    {
        var clean = await Run(failing, noisy: false);
        var noisy = await Run(failing, noisy: true);

        Assert.Equal(failing > 1 ? RolloutStatus.RolledBack : RolloutStatus.Succeeded, clean.Rollout.Status);
        Assert.Equal(clean.Rollout.Status, noisy.Rollout.Status);
        Assert.Equal(clean.Rollout.Hosts, noisy.Rollout.Hosts);
        Assert.Equal(clean.Hosts, noisy.Hosts);
    }

    /// <summary>
    /// Each silo's relay hands a rollout many answers at once; the rollout must end where the same answers one call
    /// each would leave it, also when an early answer spends the failure budget and later ones are for hosts the
    /// rollback has already claimed.
    /// </summary>
    [Theory]
    [MemberData(nameof(FailingHosts))]
    public async Task Answers_in_one_batch_leave_the_rollout_where_the_same_answers_one_by_one_do(int failing)
    {
        async Task<RolloutSnapshot> Answer(bool batched)
        {
            var (ids, rollout) = await SixAgentHostsRolledOutTo("batch");
            var grain = Grains.GetGrain<IRolloutGrain>(rollout.Id);
            await Until(grain, r => r.Hosts.Updating == ids.Count);
            var answers = ids.Select((id, i) => new HostCommandStatus
            {
                HostId = id, Kind = HostCommandKind.Apply, Outcome = i < failing ? CommandOutcome.Failed : CommandOutcome.Succeeded,
            }).ToList();
            if (batched)
            {
                await grain.OnHostsReported(answers);
            }
            else
            {
                foreach (var answer in answers) await grain.OnHostReported(answer);
            }

            // One-way answers, then the hosts' own answers to a rollback (they never applied, so they are back at once).
            return await Until(grain, r => r.Status.IsTerminal());
        }

        static async Task<RolloutSnapshot> Until(IRolloutGrain grain, Func<RolloutSnapshot, bool> holds)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            RolloutSnapshot now;
            while (!holds(now = (await grain.Get())!) && DateTime.UtcNow < deadline) await Task.Delay(20);
            return now;
        }

        var one = await Answer(batched: false);
        var many = await Answer(batched: true);

        Assert.Equal(failing > 1 ? RolloutStatus.RolledBack : RolloutStatus.Succeeded, one.Status);
        Assert.Equal(one.Status, many.Status);
        Assert.Equal(one.Hosts, many.Hosts);
    }

    /// <summary>Six hosts run by agents (no simulation) on 1.0.0, and an AllAtOnce rollout of 2.0.0 that allows one failure.</summary>
    private async Task<(List<string> Hosts, RolloutSnapshot Rollout)> SixAgentHostsRolledOutTo(string prefix)
    {
        var env = Unique(prefix);
        await Grains.GetGrain<IEnvironmentGrain>(env).Configure(new EnvironmentSpec { ConcurrencyLimit = 1 });
        var ids = Enumerable.Range(1, 6).Select(i => $"{env}-{i}").ToList();
        await Grains.GetGrain<IEnvironmentGrain>(env).RegisterHosts(ids.Select(id => new HostEnrollment
        {
            HostId = id,
            Registration = new HostRegistration { Environment = env, CurrentArtifact = Digest("1.0.0"), CurrentVersion = "1.0.0" },
        }).ToList());
        var release = await CreateRelease(Grains, "api", "2.0.0");
        return (ids, await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "AllAtOnce", MaxFailures = "1" }));
    }

    private async Task<(RolloutSnapshot Rollout, List<(HostState, string?, string?)> Hosts)> Run(int failing, bool noisy)
    {
        var (ids, rollout) = await SixAgentHostsRolledOutTo("agents");
        var grain = Grains.GetGrain<IRolloutGrain>(rollout.Id);
        var random = new Random(7);

        // The agents apply: the first `failing` hosts fail, the rest succeed.
        var reports = ids.Select((id, i) => (id, new HostOutcomeReport { RolloutId = rollout.Id, Artifact = Digest("2.0.0"), Succeeded = i >= failing })).ToList();
        await Deliver(reports, noisy, random, grain);

        // Agents keep following their desired state: a rollback asks updated hosts to return, and they report that too.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        RolloutSnapshot? done;
        while (!(done = await grain.Get())!.Status.IsTerminal() && DateTime.UtcNow < deadline)
        {
            var reverting = (await HostsOf(Grains, ids)).Where(h => h.State == HostState.RollingBack)
                .Select(h => (h.Id, new HostOutcomeReport { RolloutId = rollout.Id, Artifact = h.DesiredArtifact!, Succeeded = true })).ToList();
            await Deliver(reverting, noisy, random, grain);
            await Task.Delay(20);
        }

        Assert.True(done.Status.IsTerminal(), $"rollout stuck in {done.Status}: {done.StatusReason} {done.Hosts}");
        return (done, (await HostsOf(Grains, ids)).Select(h => (h.State, h.CurrentArtifact, h.PreviousArtifact)).ToList());
    }

    private async Task Deliver(List<(string Host, HostOutcomeReport Report)> reports, bool noisy, Random random, IRolloutGrain rollout)
    {
        if (!noisy)
        {
            foreach (var (host, report) in reports)
            {
                // An agent whose command was superseded (a rollback overtook its apply) is told 409 and moves on.
                await Grains.GetGrain<IHostGrain>(host).Report(report);
            }

            return;
        }

        // Every report twice, shuffled, with stale reports and the rollout's own re-deliveries in between.
        var deliveries = reports.Concat(reports).OrderBy(_ => random.Next()).ToList();
        foreach (var (host, report) in deliveries)
        {
            var stale = await Grains.GetGrain<IHostGrain>(host).Report(report with { Artifact = Digest("9.9.9") });
            Assert.Equal(ErrorKind.Conflict, stale.Error);
            await Grains.GetGrain<IHostGrain>(host).Report(report);
            await rollout.OnHostReported(new HostCommandStatus { HostId = host, Kind = HostCommandKind.Apply, Outcome = report.Succeeded ? CommandOutcome.Succeeded : CommandOutcome.Failed });
            await Grains.GetGrain<IHostGrain>(host).Execute(new HostCommand
            {
                RolloutId = report.RolloutId, Kind = HostCommandKind.Apply, Batch = 0, Artifact = Digest("2.0.0"), Version = "2.0.0",
            });
        }
    }
}
