using Deploy.Engine.Domain.Rolling;
using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Strategies;

public class RolloutPlannerTests
{
    private static StrategySpec Spec(StrategyInput input)
    {
        var parsed = StrategySpecParser.Parse(input);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.SelectMany(e => e.Value.Select(m => e.Key + ": " + m))));
        return parsed.Value!;
    }

    private static PlanHost Host(string id, params string[] labels) =>
        new(id, labels.Select(l => l.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]));

    private static List<PlanHost> Fleet(int count, params string[] labels) =>
        Enumerable.Range(1, count).Select(i => Host($"h{i:00}", labels)).ToList();

    private static RolloutPlan Planned(StrategySpec spec, PlanInput input)
    {
        var result = RolloutPlanner.Plan(spec, input);
        Assert.True(result.IsValid, string.Join("; ", result.Errors.SelectMany(e => e.Value.Select(m => e.Key + ": " + m))));
        return result.Plan!;
    }

    private static Dictionary<string, string> Sel(string label)
    {
        var kv = label.Split('=');
        return new Dictionary<string, string> { [kv[0]] = kv[1] };
    }

    private static CanaryStepInput Weight(int w) => new() { SetWeight = w };

    private static string Shape(PlanStep step) => step switch
    {
        DeployStep d => $"deploy {d.Hosts.Count}",
        TrafficStep t => $"traffic {t.Weight}",
        PausePlanStep { Duration: null } => "pause",
        PausePlanStep p => $"pause {p.Duration!.Value.TotalSeconds}s",
        AnalysisPlanStep a => $"analysis {a.Duration.TotalSeconds}s",
        SwitchStep s => $"switch {s.FromSlot}->{s.ToSlot}",
        KeepWarmStep k => $"warm {k.Slot} {k.Duration.TotalSeconds}s",
        ProvisionStep p => $"provision {p.Hosts.Count}",
        RetireStep r => $"retire {r.Hosts.Count}",
        BakeStep b => $"bake {b.Duration.TotalSeconds}s",
        _ => throw new InvalidOperationException(step.GetType().Name),
    };

    [Theory]
    // The worked examples of HostsForWeight: ⌈w × n / 100⌉, at least 1.
    [InlineData(10, 25, 3)]
    [InlineData(10, 3, 1)]
    [InlineData(50, 10, 5)]
    [InlineData(1, 1000, 10)]
    [InlineData(1, 1, 1)]
    [InlineData(33, 10, 4)]
    [InlineData(100, 7, 7)]
    [InlineData(10, 0, 0)]
    public void Canary_hosts_per_weight_round_up(int weight, int hosts, int expected) =>
        Assert.Equal(expected, RolloutPlanner.HostsForWeight(weight, hosts));

    [Fact]
    public void Rolling_full_scope_batches_exactly_as_the_rolling_planner()
    {
        var plan = Planned(Spec(new StrategyInput()), new PlanInput { Hosts = Fleet(10) });

        var stage = Assert.Single(plan.Stages);
        Assert.Equal(new PlanStage(0, "all hosts", stage.Hosts), stage);
        Assert.Equal(10, stage.Hosts.Count);
        // In place, the default maxUnavailable 25% of 10 → ⌊2.5⌋ = 2 hosts out of service at a time.
        Assert.Equal(new[] { "deploy 2", "deploy 2", "deploy 2", "deploy 2", "deploy 2" }, plan.Steps.Select(Shape));
        Assert.Equal(new[] { "h01", "h02" }, ((DeployStep)plan.Steps[0]).Hosts);
        Assert.Equal(new[] { "h09", "h10" }, ((DeployStep)plan.Steps[4]).Hosts);
        Assert.All(plan.Steps, s => Assert.Equal(0, s.Stage));
        Assert.Contains("10 hosts in 1 stage", plan.Explanation);
    }

    [Fact]
    public void Canary_worked_example_25_hosts()
    {
        var spec = Spec(new StrategyInput
        {
            Type = "canary",
            Steps = [Weight(10), new() { Pause = new PauseInput() }, Weight(20), new() { Analysis = new AnalysisInput { DurationSeconds = 600 } }, Weight(20), Weight(50)],
        });

        var plan = Planned(spec, new PlanInput { Hosts = Fleet(25) });

        // 10% → 3; 20% → 5 (2 more); 20% again → nothing to deploy; 50% → ⌈12.5⌉ = 13 (8 more);
        // the remaining 12 in rolling batches sized over 25 hosts (in place, default maxUnavailable 25%: ⌊6.25⌋ = 6) → two.
        Assert.Equal(new[]
        {
            "deploy 3", "traffic 10", "pause", "deploy 2", "traffic 20", "analysis 600s", "traffic 20", "deploy 8", "traffic 50",
            "deploy 6", "deploy 6", "traffic 100",
        }, plan.Steps.Select(Shape));
        Assert.Equal("deploy 3 hosts (weight 10%: ceil(10% of 25) = 3)", plan.Steps[0].Description);
        Assert.Equal("deploy 2 more hosts (weight 20%: ceil(20% of 25) = 5)", plan.Steps[3].Description);
        Assert.Equal(25, plan.Steps.OfType<DeployStep>().SelectMany(d => d.Hosts).Distinct().Count());
        Assert.Equal(
            "Canary rollout of 25 hosts in 1 stage: all hosts (25). Hosts per canary weight w over a stage of n hosts: ⌈w × n / 100⌉, at least 1; "
            + "the hosts left after the last step are deployed in rolling batches sized over the whole stage.",
            plan.Explanation);
    }

    [Theory]
    // hosts, weights, expected shape (the final rolling batches use maxSurge 0 / maxUnavailable 1 → one host at a time)
    [InlineData(3, new[] { 10 }, new[] { "deploy 1", "traffic 10", "deploy 1", "deploy 1", "traffic 100" })]
    [InlineData(10, new[] { 50 }, new[] { "deploy 5", "traffic 50", "deploy 1", "deploy 1", "deploy 1", "deploy 1", "deploy 1", "traffic 100" })]
    [InlineData(2, new[] { 90 }, new[] { "deploy 2", "traffic 90", "traffic 100" })]
    [InlineData(4, new[] { 25, 100 }, new[] { "deploy 1", "traffic 25", "deploy 3", "traffic 100" })]
    public void Canary_finishes_the_stage_when_the_last_weight_is_below_100(int hosts, int[] weights, string[] expected)
    {
        var spec = Spec(new StrategyInput
        {
            Type = "canary",
            Rolling = new RollingInput { MaxSurge = "0", MaxUnavailable = "1" },
            Steps = weights.Select(Weight).ToList(),
        });

        var plan = Planned(spec, new PlanInput { Hosts = Fleet(hosts) });
        Assert.Equal(expected, plan.Steps.Select(Shape));
    }

    [Fact]
    public void Canary_with_only_a_pause_deploys_everything_after_it()
    {
        var spec = Spec(new StrategyInput { Type = "canary", Steps = [new() { Pause = new PauseInput { DurationSeconds = 30 } }] });
        var plan = Planned(spec, new PlanInput { Hosts = Fleet(4) });
        Assert.Equal(new[] { "pause 30s", "deploy 1", "deploy 1", "deploy 1", "deploy 1", "traffic 100" }, plan.Steps.Select(Shape));
    }

    [Fact]
    public void Waves_keep_their_order_a_host_joins_its_first_matching_wave_and_unmatched_hosts_are_left_out()
    {
        var hosts = new List<PlanHost>
        {
            Host("a", "region=us", "tier=web"),
            Host("b", "region=eu", "tier=web"),
            Host("c", "region=eu", "tier=db"),
            Host("d", "region=ap"),
            Host("e", "region=us", "tier=db"),
        };
        var spec = Spec(new StrategyInput
        {
            Rolling = new RollingInput { Preset = "AllAtOnce" },
            Scope = new ScopeInput { Type = "waves", Waves = [Sel("region=eu"), Sel("tier=web"), Sel("region=us")], BakeSeconds = 600, OnFailure = "wave" },
        });

        var plan = Planned(spec, new PlanInput { Hosts = hosts });

        Assert.Equal(new[] { "wave 1 (region=eu)", "wave 2 (tier=web)", "wave 3 (region=us)" }, plan.Stages.Select(s => s.Name));
        Assert.Equal(new[] { "b", "c" }, plan.Stages[0].Hosts);   // b matches waves 1 and 2: the first wins
        Assert.Equal(new[] { "a" }, plan.Stages[1].Hosts);
        Assert.Equal(new[] { "e" }, plan.Stages[2].Hosts);
        Assert.Equal(new[] { 0, 1, 2 }, plan.Stages.Select(s => s.Index));
        Assert.Equal(new[] { "deploy 2", "bake 600s", "deploy 1", "bake 600s", "deploy 1" }, plan.Steps.Select(Shape));
        Assert.Equal(new[] { 0, 0, 1, 1, 2 }, plan.Steps.Select(s => s.Stage));
        Assert.Equal(
            "Rolling rollout of 5 hosts in 3 stages: wave 1 (region=eu) (2), wave 2 (tier=web) (1), wave 3 (region=us) (1). "
            + "1 host matches no wave and is not targeted: d. "
            + "Rolling batches per stage, sized over the stage's hosts (maxSurge rounds up, maxUnavailable down): wave 1 (region=eu) [2], wave 2 (tier=web) [1], wave 3 (region=us) [1]. "
            + "Each stage but the last bakes 10m before the next starts. "
            + "A failing stage rolls back alone; earlier stages keep the new version.",
            plan.Explanation);
        Assert.Contains("rolls back alone", plan.Explanation);
    }

    [Fact]
    public void A_pilot_group_goes_before_the_waves_and_leaves_them()
    {
        var hosts = new List<PlanHost>
        {
            Host("eu1", "region=eu"),
            Host("eu2", "region=eu", "pilot=yes"),
            Host("us1", "region=us"),
            Host("us2", "region=us", "pilot=yes"),
        };
        var spec = Spec(new StrategyInput
        {
            Scope = new ScopeInput { Type = "waves", Pilot = Sel("pilot=yes"), Waves = [Sel("region=eu"), Sel("region=us")] },
        });

        var plan = Planned(spec, new PlanInput { Hosts = hosts });

        Assert.Equal(new[] { "pilot", "wave 1 (region=eu)", "wave 2 (region=us)" }, plan.Stages.Select(s => s.Name));
        Assert.Equal(new[] { "eu2", "us2" }, plan.Stages[0].Hosts);
        Assert.Equal(new[] { "eu1" }, plan.Stages[1].Hosts);
        Assert.Equal(new[] { "us1" }, plan.Stages[2].Hosts);
        Assert.DoesNotContain(plan.Steps, s => s is BakeStep);   // no bake declared
        Assert.Contains("rolls back every stage", plan.Explanation);
    }

    [Fact]
    public void Pilot_scope_runs_the_pilot_then_the_rest_with_a_bake_between()
    {
        var hosts = Fleet(5, "region=eu");
        hosts[3] = Host("h04", "region=eu", "pilot=yes");
        var spec = Spec(new StrategyInput
        {
            Type = "canary",
            Steps = [Weight(50)],
            Scope = new ScopeInput { Type = "pilot", Pilot = Sel("pilot=yes"), BakeSeconds = 3600 },
        });

        var plan = Planned(spec, new PlanInput { Hosts = hosts });

        Assert.Equal(new[] { ("pilot", 1), ("remaining hosts", 4) }, plan.Stages.Select(s => (s.Name, s.Hosts.Count)));
        Assert.Equal(new[] { "h04" }, plan.Stages[0].Hosts);
        // The canary runs in each stage: 50% of 1 → 1; 50% of 4 → 2, then the other 2 one at a time (in place, ⌊25% of 4⌋ = 1).
        Assert.Equal(new[] { "deploy 1", "traffic 50", "traffic 100", "bake 3600s", "deploy 2", "traffic 50", "deploy 1", "deploy 1", "traffic 100" },
            plan.Steps.Select(Shape));
        Assert.Equal("bake 1h before remaining hosts", plan.Steps[3].Description);
    }

    [Fact]
    public void A_pilot_holding_every_host_is_the_only_stage()
    {
        var spec = Spec(new StrategyInput { Scope = new ScopeInput { Type = "pilot", Pilot = Sel("ring=0"), BakeSeconds = 60 } });
        var plan = Planned(spec, new PlanInput { Hosts = Fleet(2, "ring=0") });

        Assert.Equal("pilot", Assert.Single(plan.Stages).Name);
        Assert.DoesNotContain(plan.Steps, s => s is BakeStep);
    }

    public static TheoryData<string, StrategyInput, List<PlanHost>, string> ScopeErrors => new()
    {
        {
            "a wave matching no host",
            new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Sel("region=eu"), Sel("region=mars")] } },
            [Host("a", "region=eu")],
            "strategy.scope.waves[1]"
        },
        {
            "a wave whose hosts are all taken by an earlier one",
            new StrategyInput { Scope = new ScopeInput { Type = "waves", Waves = [Sel("region=eu"), Sel("tier=web")] } },
            [Host("a", "region=eu", "tier=web"), Host("b", "region=us")],
            "strategy.scope.waves[1]"
        },
        {
            "a pilot matching no host",
            new StrategyInput { Scope = new ScopeInput { Type = "pilot", Pilot = Sel("pilot=yes") } },
            [Host("a", "region=eu")],
            "strategy.scope.pilot"
        },
        {
            "a pilot matching no host before waves",
            new StrategyInput { Scope = new ScopeInput { Type = "waves", Pilot = Sel("pilot=yes"), Waves = [Sel("region=eu")] } },
            [Host("a", "region=eu")],
            "strategy.scope.pilot"
        },
        {
            "no targets",
            new StrategyInput(),
            [],
            "selector"
        },
        {
            "a stage too small for the minimum healthy hosts",
            new StrategyInput { Rolling = new RollingInput { MinimumHealthyType = "HOST_COUNT", MinimumHealthyValue = 2 }, Scope = new ScopeInput { Type = "waves", Waves = [Sel("region=eu"), Sel("region=us")] } },
            [Host("a", "region=eu"), Host("b", "region=eu"), Host("c", "region=eu"), Host("d", "region=us")],
            "strategy.minimumHealthyHosts"
        },
    };

    [Theory]
    [MemberData(nameof(ScopeErrors))]
    public void Scope_problems_are_named_by_field(string why, StrategyInput input, List<PlanHost> hosts, string field)
    {
        var result = RolloutPlanner.Plan(Spec(input), new PlanInput { Hosts = hosts });

        Assert.False(result.IsValid, why);
        Assert.Null(result.Plan);
        Assert.Contains(field, result.Errors.Keys);
    }

    [Fact]
    public void Blue_green_deploys_the_idle_slot_then_switches_and_keeps_the_old_one_warm()
    {
        var hosts = new List<PlanHost>
        {
            Host("b1", "slot=blue"), Host("g1", "slot=green"), Host("b2", "slot=blue"), Host("g2", "slot=green"), Host("g3", "slot=green"),
        };
        var spec = Spec(new StrategyInput
        {
            Type = "blueGreen",
            BlueGreen = new BlueGreenInput { PrePromotionAnalysisSeconds = 300, AutoPromoteAfterSeconds = 900 },
        });

        var plan = Planned(spec, new PlanInput { Hosts = hosts, ActiveSlot = "green" });

        var stage = Assert.Single(plan.Stages);
        Assert.Equal("idle slot slot=blue", stage.Name);
        Assert.Equal(new[] { "b1", "b2" }, stage.Hosts);
        // 2 idle hosts, default 25%/25%: ⌈0.5⌉ + ⌊0.5⌋ = 1 at a time.
        Assert.Equal(new[] { "deploy 1", "deploy 1", "analysis 300s", "pause 900s", "switch green->blue", "warm green 300s" },
            plan.Steps.Select(Shape));
    }

    [Fact]
    public void Blue_green_without_a_recorded_active_slot_takes_the_ordinal_first_as_active()
    {
        var hosts = new List<PlanHost> { Host("x1", "color=green"), Host("x2", "color=blue") };
        var spec = Spec(new StrategyInput { Type = "blueGreen", BlueGreen = new BlueGreenInput { SlotLabel = "color" }, Rolling = new RollingInput { Preset = "AllAtOnce" } });

        var plan = Planned(spec, new PlanInput { Hosts = hosts });

        Assert.Equal(new[] { "x1" }, plan.Stages[0].Hosts);
        Assert.Equal(new[] { "deploy 1", "pause", "switch blue->green", "warm blue 300s" }, plan.Steps.Select(Shape));
        Assert.Contains("ordinal order (blue)", plan.Explanation);
    }

    public static TheoryData<string, List<PlanHost>, string?, string> BlueGreenErrors => new()
    {
        { "one slot only: the idle slot is empty", [Host("a", "slot=blue"), Host("b", "slot=blue")], null, "strategy.blueGreen.slotLabel" },
        { "three slots", [Host("a", "slot=blue"), Host("b", "slot=green"), Host("c", "slot=red")], null, "strategy.blueGreen.slotLabel" },
        { "a host without the slot label", [Host("a", "slot=blue"), Host("b", "slot=green"), Host("c")], null, "strategy.blueGreen.slotLabel" },
        { "an active slot no target is on", [Host("a", "slot=blue"), Host("b", "slot=green")], "red", "activeSlot" },
    };

    [Theory]
    [MemberData(nameof(BlueGreenErrors))]
    public void Blue_green_needs_exactly_two_populated_slots(string why, List<PlanHost> hosts, string? active, string field)
    {
        var result = RolloutPlanner.Plan(Spec(new StrategyInput { Type = "blueGreen" }), new PlanInput { Hosts = hosts, ActiveSlot = active });

        Assert.False(result.IsValid, why);
        Assert.Contains(field, result.Errors.Keys);
    }

    [Fact]
    public void Immutable_with_a_codedeploy_minimum_retires_first_as_kubernetes_does_without_surge()
    {
        // HalfAtATime: FLEET_PERCENT 50 of 4 keeps 2 serving and adds none at once (maxSurge 0), so the window retires 2
        // old hosts, brings 2 new in, retires the other 2, brings the last 2 in.
        var spec = Spec(new StrategyInput { Type = "immutable", Rolling = new RollingInput { Preset = "HalfAtATime" } });
        var plan = Planned(spec, new PlanInput { Hosts = Fleet(4), ProvisionedHosts = ["n1", "n2", "n3", "n4"] });

        Assert.Equal(new[] { "n1", "n2", "n3", "n4" }, Assert.Single(plan.Stages).Hosts);
        Assert.Equal(new[] { "retire 2", "provision 2", "deploy 2", "retire 2", "provision 2", "deploy 2" }, plan.Steps.Select(Shape));
        Assert.Equal(new[] { "h01", "h02" }, ((RetireStep)plan.Steps[0]).Hosts);
        Assert.Equal(new[] { "n1", "n2" }, ((DeployStep)plan.Steps[2]).Hosts);
        Assert.Equal(new[] { "h03", "h04" }, ((RetireStep)plan.Steps[3]).Hosts);
        Assert.All(plan.Steps, s => Assert.True(s.Fleet!.Available >= 2 && s.Fleet.Total <= 4));
    }

    [Fact]
    public void Immutable_10_hosts_at_25_percent_is_a_sliding_window_with_counts_at_every_step()
    {
        // Kubernetes' Deployment controller with 10 replicas, maxSurge 3 (⌈2.5⌉), maxUnavailable 2 (⌊2.5⌋): new(+3) and
        // old(−2) together, then +2/−3, +3/−2, +2/−3 (rolling.go reconcileOldReplicaSets' own worked example).
        var spec = Spec(new StrategyInput { Type = "immutable" });
        var fresh = Enumerable.Range(1, 10).Select(i => $"n{i}").ToList();
        var plan = Planned(spec, new PlanInput { Hosts = Fleet(10), ProvisionedHosts = fresh });

        Assert.Equal(new[]
        {
            "provision 3", "retire 2", "deploy 3",
            "provision 2", "retire 3", "deploy 2",
            "provision 3", "retire 2", "deploy 3",
            "provision 2", "retire 3", "deploy 2",
        }, plan.Steps.Select(Shape));
        Assert.Equal(
            new[] { new FleetCounts(8, 3, 8, 13), new FleetCounts(5, 5, 8, 13), new FleetCounts(3, 8, 8, 13), new FleetCounts(0, 10, 8, 13) },
            plan.Steps.OfType<DeployStep>().Select(d => d.Fleet));
        Assert.Equal(fresh, plan.Steps.OfType<ProvisionStep>().SelectMany(p => p.Hosts));
        Assert.Equal(Fleet(10).Select(h => h.Id), plan.Steps.OfType<RetireStep>().SelectMany(r => r.Hosts));
        Assert.StartsWith("provision 3 hosts; window step 1 of 4: 8 old + 3 new after it, at least 8 serving (floor 8), at most 13 hosts (ceiling 13)",
            plan.Steps[0].Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("n1")]            // too few
    [InlineData("n1,h02")]        // h02 is an old host, not a new one
    public void Immutable_needs_one_new_host_per_target(string ids)
    {
        var provisioned = ids.Split(',');
        var result = RolloutPlanner.Plan(Spec(new StrategyInput { Type = "immutable" }), new PlanInput { Hosts = Fleet(2), ProvisionedHosts = provisioned });
        Assert.Contains("provisionedHosts", result.Errors.Keys);
    }

    [Fact]
    public void Blue_green_or_immutable_built_with_waves_by_hand_are_still_refused()
    {
        var waves = new ScopeSpec(ScopeKind.Waves, [Sel("slot=blue")], null, TimeSpan.Zero, WaveFailurePolicy.RollBackAll);
        var blueGreen = new StrategySpec(StrategyKind.BlueGreen, RollingSpec.Default, [], null, waves, [], DeadlineSpec.Default, ConflictPolicy.Queue);
        var hosts = new PlanInput { Hosts = [Host("a", "slot=blue"), Host("b", "slot=green")], ProvisionedHosts = ["c", "d"] };

        Assert.Contains("strategy.scope.type", RolloutPlanner.Plan(blueGreen, hosts).Errors.Keys);
        Assert.Contains("strategy.scope.type", RolloutPlanner.Plan(blueGreen with { Kind = StrategyKind.Immutable }, hosts).Errors.Keys);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(45, "45s")]
    [InlineData(90, "1m30s")]
    [InlineData(3600, "1h")]
    [InlineData(90_061, "1d1h1m1s")]
    public void Durations_read_as_a_person_writes_them(int seconds, string expected) =>
        Assert.Equal(expected, RolloutPlanner.Format(TimeSpan.FromSeconds(seconds)));
}
