using CsCheck;
using Deploy.Engine.Domain.Rollouts;
using static Deploy.Engine.Domain.Rollouts.TargetPhase;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class StageCountsTests
{
    [Fact]
    public void The_worked_example_counts_each_stages_hosts_and_failures()
    {
        var phases = new Dictionary<string, TargetPhase> { ["a"] = Updating, ["b"] = Updating, ["c"] = Untouched };
        var counts = new StageCounts([(0, ["a", "b"]), (1, ["c"])], h => phases[h]);
        Assert.Equal((2, 1), (counts.Hosts(0), counts.Hosts(1)));

        counts.Move("a", Updating, Failed);
        Assert.Equal((1, 0), (counts.Failed(0), counts.Failed(1)));

        counts.Move("a", Failed, RollingBack);
        Assert.Equal(0, counts.Failed(0));
        Assert.Equal(0, counts.Hosts(7));
    }

    [Fact]
    public void Hosts_failed_before_the_counts_are_built_are_counted_and_unplanned_hosts_are_not()
    {
        var counts = new StageCounts([(3, ["x", "y"])], h => h == "x" ? Failed : Updated);
        Assert.Equal(1, counts.Failed(3));

        counts.Move("stranger", Updating, Failed);
        Assert.Equal(1, counts.Failed(3));
    }

    [Fact]
    public void After_any_sequence_of_phase_changes_the_counts_equal_a_scan_of_every_stage()
    {
        var phase = Gen.Enum<TargetPhase>();
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 30], phase.Array[30], Gen.Select(Gen.Int[0, 29], phase).Array[0, 60])
            .Sample((stages, hostCount, initial, moves) =>
            {
                var hosts = Enumerable.Range(0, hostCount).Select(i => $"h{i}").ToList();
                var stageOf = Enumerable.Range(0, hostCount).ToDictionary(i => hosts[i], i => i % stages);
                var phases = Enumerable.Range(0, hostCount).ToDictionary(i => hosts[i], i => initial[i]);
                var counts = new StageCounts(
                    Enumerable.Range(0, stages).Select(s => (s, hosts.Where(h => stageOf[h] == s))), h => phases[h]);
                foreach (var (index, to) in moves)
                {
                    var host = hosts[index % hostCount];
                    counts.Move(host, phases[host], to);
                    phases[host] = to;
                }

                for (var s = 0; s < stages; s++)
                {
                    Assert.Equal(hosts.Count(h => stageOf[h] == s), counts.Hosts(s));
                    Assert.Equal(hosts.Count(h => stageOf[h] == s && phases[h] == Failed), counts.Failed(s));
                }
            });
    }
}
