using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Domain.Strategies;

namespace Deploy.Engine.Domain.Tests.Rollouts;

public class RollbackReadinessTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    private static readonly RecoveryObjectives Objectives = new(
        new Dictionary<StrategyKind, TimeSpan> { [StrategyKind.BlueGreen] = TimeSpan.FromSeconds(60), [StrategyKind.Rolling] = TimeSpan.FromMinutes(5) },
        "staging",
        TimeSpan.FromDays(30));

    private static DrillResult Drill(StrategyKind strategy, string finished, double? seconds, string service = "web", bool rolledBack = true) =>
        new(service, strategy, DateTimeOffset.Parse(finished, System.Globalization.CultureInfo.InvariantCulture), rolledBack,
            seconds is { } s ? TimeSpan.FromSeconds(s) : null);

    public static TheoryData<string, DrillResult[], DrillReadinessVerdict> Cases => new()
    {
        { "no drill at all", [], DrillReadinessVerdict.Missing },
        { "only a rolling drill: blue-green is not drilled", [Drill(StrategyKind.Rolling, "2026-01-20T00:00:00Z", 10)], DrillReadinessVerdict.Missing },
        { "only another service's drill", [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", 10, service: "billing")], DrillReadinessVerdict.Missing },
        { "fresh and within the RTO", [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", 42)], DrillReadinessVerdict.Ready },
        { "exactly the RTO meets it", [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", 60)], DrillReadinessVerdict.Ready },
        { "61 days old", [Drill(StrategyKind.BlueGreen, "2025-12-01T12:00:00Z", 42)], DrillReadinessVerdict.Stale },
        { "exactly 30 days old still counts", [Drill(StrategyKind.BlueGreen, "2026-01-01T12:00:00Z", 42)], DrillReadinessVerdict.Ready },
        { "over the RTO", [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", 75)], DrillReadinessVerdict.ExceededRto },
        { "the rollback escalated", [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", null, rolledBack: false)], DrillReadinessVerdict.Failed },
        {
            "a newer bad drill is not hidden by an older good one",
            [Drill(StrategyKind.BlueGreen, "2026-01-10T00:00:00Z", 20), Drill(StrategyKind.BlueGreen, "2026-01-25T00:00:00Z", 90)],
            DrillReadinessVerdict.ExceededRto
        },
        {
            "a newer good drill replaces an older bad one",
            [Drill(StrategyKind.BlueGreen, "2026-01-25T00:00:00Z", 20), Drill(StrategyKind.BlueGreen, "2026-01-10T00:00:00Z", 90)],
            DrillReadinessVerdict.Ready
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_latest_drill_of_the_service_and_strategy_decides(string why, DrillResult[] drills, DrillReadinessVerdict expected)
    {
        var result = RollbackReadiness.Check("web", StrategyKind.BlueGreen, Objectives, drills, Now);

        Assert.True(expected == result.Verdict, $"{why}: {result.Verdict} ({result.Reason})");
        Assert.Equal(expected == DrillReadinessVerdict.Ready, result.Ready);
    }

    [Fact]
    public void A_missing_drill_names_the_strategy_the_service_and_the_call_to_make()
    {
        var result = RollbackReadiness.Check("web", StrategyKind.BlueGreen, Objectives, [], Now);

        Assert.Equal("rollback drill for blueGreen of web missing: run POST /v1/environments/staging/drills", result.Reason);
    }

    [Fact]
    public void An_exceeded_rto_names_both_times()
    {
        var result = RollbackReadiness.Check("web", StrategyKind.BlueGreen, Objectives, [Drill(StrategyKind.BlueGreen, "2026-01-20T00:00:00Z", 75)], Now);

        Assert.Contains("took 1m15s to be safe, over the RTO of 1m", result.Reason);
    }

    [Fact]
    public void A_strategy_without_a_declared_rto_needs_a_drill_but_no_time()
    {
        var slow = Drill(StrategyKind.Canary, "2026-01-20T00:00:00Z", 3_600);

        Assert.Equal(DrillReadinessVerdict.Missing, RollbackReadiness.Check("web", StrategyKind.Canary, Objectives, [], Now).Verdict);
        Assert.Equal(DrillReadinessVerdict.Ready, RollbackReadiness.Check("web", StrategyKind.Canary, Objectives, [slow], Now).Verdict);
    }

    [Fact]
    public void Without_an_environment_to_drill_in_nothing_can_be_ready()
    {
        var result = RollbackReadiness.Check("web", StrategyKind.Rolling, Objectives with { DrillEnvironment = null }, [], Now);

        Assert.Equal(DrillReadinessVerdict.NoDrillEnvironment, result.Verdict);
        Assert.Contains("rollback.drillEnvironment", result.Reason);
    }

    [Theory]
    [InlineData(30.0, 60.0, true)]
    [InlineData(60.0, 60.0, true)]
    [InlineData(60.001, 60.0, false)]
    [InlineData(5.0, null, true)]
    [InlineData(null, 60.0, false)]
    public void Meets_rto_is_time_to_safe_at_most_the_objective(double? seconds, double? rto, bool meets) =>
        Assert.Equal(meets, RollbackReadiness.MeetsRto(
            seconds is { } s ? TimeSpan.FromSeconds(s) : null, rto is { } r ? TimeSpan.FromSeconds(r) : null));

    [Theory]
    [InlineData("2026-01-31T12:00:00Z", true)]
    [InlineData("2026-01-01T12:00:00Z", true)]
    [InlineData("2026-01-01T11:59:59Z", false)]
    [InlineData("2026-02-01T00:00:00Z", true)]
    public void Fresh_is_at_most_the_window_old(string finished, bool fresh) =>
        Assert.Equal(fresh, RollbackReadiness.IsFresh(DateTimeOffset.Parse(finished, System.Globalization.CultureInfo.InvariantCulture), Now, TimeSpan.FromDays(30)));

    [Theory]
    [InlineData(1.5, "1.5s")]
    [InlineData(60, "1m")]
    [InlineData(75, "1m15s")]
    [InlineData(9_000, "2h30m")]
    [InlineData(2_592_000, "30d")]
    public void Durations_read_as_a_person_writes_them(double seconds, string text) =>
        Assert.Equal(text, RollbackReadiness.Describe(TimeSpan.FromSeconds(seconds)));
}
