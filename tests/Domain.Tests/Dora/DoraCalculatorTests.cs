using Deploy.Engine.Domain.Dora;

namespace Deploy.Engine.Domain.Tests.Dora;

/// <summary>Hand-worked cases of the rules in docs/dora.md (and DoraCalculator's doc comment).</summary>
public class DoraCalculatorTests
{
    private static readonly DoraScope Production = new(new HashSet<string> { "production" });

    private static DateTimeOffset T(string at) => DateTimeOffset.Parse(at + "Z", System.Globalization.CultureInfo.InvariantCulture);

    private static DeploymentRecord Deploy(string id, string started, string finished, DeploymentOutcome outcome = DeploymentOutcome.Succeeded,
        string? succeeded = null, string? commit = null, string? created = null, string service = "shop", string environment = "production",
        string? release = null) =>
        new(id, release ?? "rel-" + id, service, environment, outcome, T(started), T(finished),
            outcome == DeploymentOutcome.Succeeded ? T(succeeded ?? finished) : succeeded is null ? null : T(succeeded),
            commit is null ? null : T(commit), T(created ?? started));

    [Theory]
    // seconds, median, p75, p90, p95 — R-7: rank = p·(n−1), interpolated between the ranks either side.
    [InlineData(new[] { 3600.0, 10800.0 }, 7200.0, 9000.0, 10080.0, 10440.0)]      // median of 1 h and 3 h is 2 h
    [InlineData(new[] { 5.0, 1.0, 4.0, 2.0, 3.0 }, 3.0, 4.0, 4.6, 4.8)]            // p90: rank 3.6 → 4 + 0.6·(5 − 4)
    [InlineData(new[] { 42.0 }, 42.0, 42.0, 42.0, 42.0)]
    public void Percentiles_interpolate_between_the_nearest_ranks(double[] seconds, double median, double p75, double p90, double p95)
    {
        var summary = DoraCalculator.Summarise(seconds);

        Assert.Equal(seconds.Length, summary.Samples);
        Assert.Equal(median, summary.MedianSeconds!.Value, 3);
        Assert.Equal(p75, summary.P75Seconds!.Value, 3);
        Assert.Equal(p90, summary.P90Seconds!.Value, 3);
        Assert.Equal(p95, summary.P95Seconds!.Value, 3);
    }

    [Fact]
    public void An_empty_sample_has_no_median()
    {
        var summary = DoraCalculator.Summarise([]);
        Assert.Equal(0, summary.Samples);
        Assert.Null(summary.MedianSeconds);
    }

    [Theory]
    // deployments per day → tier (2023 report cut points)
    [InlineData(3.0, PerformanceTier.Elite)]
    [InlineData(1.0, PerformanceTier.Elite)]
    [InlineData(0.5, PerformanceTier.High)]
    [InlineData(1.0 / 7, PerformanceTier.High)]
    [InlineData(0.1, PerformanceTier.Medium)]
    [InlineData(1.0 / 30, PerformanceTier.Medium)]
    [InlineData(0.03, PerformanceTier.Low)]
    public void Frequency_tiers(double perDay, PerformanceTier expected) => Assert.Equal(expected, DoraTiers.Frequency(perDay));

    [Theory]
    // median lead time in hours → tier
    [InlineData(0.5, PerformanceTier.Elite)]
    [InlineData(23, PerformanceTier.Elite)]
    [InlineData(24, PerformanceTier.High)]
    [InlineData(24 * 7 - 1, PerformanceTier.High)]
    [InlineData(24 * 7, PerformanceTier.Medium)]
    [InlineData(24 * 30, PerformanceTier.Low)]
    public void Lead_time_tiers(double hours, PerformanceTier expected) => Assert.Equal(expected, DoraTiers.LeadTime(TimeSpan.FromHours(hours)));

    [Theory]
    [InlineData(0.0, PerformanceTier.Elite)]
    [InlineData(0.05, PerformanceTier.Elite)]
    [InlineData(0.0501, PerformanceTier.High)]
    [InlineData(0.10, PerformanceTier.High)]
    [InlineData(0.15, PerformanceTier.Medium)]
    [InlineData(0.16, PerformanceTier.Low)]
    [InlineData(0.64, PerformanceTier.Low)]
    public void Change_failure_rate_tiers(double rate, PerformanceTier expected) => Assert.Equal(expected, DoraTiers.ChangeFailureRate(rate));

    [Theory]
    // median recovery in minutes → tier
    [InlineData(59, PerformanceTier.Elite)]
    [InlineData(60, PerformanceTier.High)]
    [InlineData(60 * 24 - 1, PerformanceTier.High)]
    [InlineData(60 * 24, PerformanceTier.Medium)]
    [InlineData(60 * 24 * 7, PerformanceTier.Low)]
    public void Recovery_time_tiers(double minutes, PerformanceTier expected) => Assert.Equal(expected, DoraTiers.RecoveryTime(TimeSpan.FromMinutes(minutes)));

    [Fact]
    public void The_overall_tier_is_the_weakest_known_one()
    {
        Assert.Equal(PerformanceTier.Low, DoraTiers.Overall(PerformanceTier.Elite, null, PerformanceTier.Low, PerformanceTier.High));
        Assert.Equal(PerformanceTier.High, DoraTiers.Overall(PerformanceTier.Elite, PerformanceTier.High, null, null));
        Assert.Null(DoraTiers.Overall(null, null, null, null));
    }

    [Theory]
    // Days (of 2026-11-01 Sun .. 2026-11-14 Sat, two BigQuery weeks) with a deployment → Four Keys' label, deployments a day.
    [InlineData(new[] { 2, 3, 4, 9, 11, 13 }, "daily", 6)]   // 3 days in each week: median 3
    [InlineData(new[] { 2, 9 }, "weekly", 2)]               // one day in each week: median week has one
    [InlineData(new[] { 3 }, "monthly", 1)]                 // weeks [1, 0]: median 0.5; November has one
    [InlineData(new int[0], "yearly", 0)]
    public void Frequency_counts_daily_buckets_and_labels_them_as_Four_Keys_does(int[] days, string label, int deployments)
    {
        var records = days.Select(d => Deploy("r" + d, $"2026-11-{d:00}T09:00:00", $"2026-11-{d:00}T10:00:00")).ToList();

        var figures = DoraCalculator.Compute(records, [], Production, T("2026-11-01T00:00:00"), T("2026-11-14T12:00:00"));

        var frequency = figures.DeploymentFrequency;
        Assert.Equal(label, frequency.FourKeys);
        Assert.Equal(deployments, frequency.Deployments);
        Assert.Equal(14, frequency.Daily.Count);
        Assert.Equal(days.Length, frequency.DaysWithDeployment);
        Assert.Equal(days.Select(d => new DateOnly(2026, 11, d)), frequency.Daily.Where(x => x.Deployments > 0).Select(x => x.Day));
        Assert.Equal(Math.Round(deployments / 13.5, 4), frequency.PerDay);
    }

    [Fact]
    public void Two_deployments_on_one_day_are_two_deployments_in_one_bucket()
    {
        var records = new[] { Deploy("a", "2026-11-02T09:00:00", "2026-11-02T10:00:00"), Deploy("b", "2026-11-02T11:00:00", "2026-11-02T12:00:00") };

        var frequency = DoraCalculator.Compute(records, [], Production, T("2026-11-01T00:00:00"), T("2026-11-03T00:00:00")).DeploymentFrequency;

        Assert.Equal([0, 2, 0], frequency.Daily.Select(d => d.Deployments));
        Assert.Equal(1, frequency.PerDay);
        Assert.Equal(PerformanceTier.Elite, frequency.Tier);
    }

    /// <summary>
    /// The worked example of docs/dora.md. Window 2026-11-01 .. 2026-11-11 (10 days), production only:
    /// a  succeeded 11-02 10:00, commit 11-01 10:00                → lead 24 h
    /// b  rolled back 11-03 09:00 → 09:30                         → failure; restored by c at 12:00: 3 h
    /// c  succeeded 11-03 12:00, commit 11-03 08:00                → lead 4 h
    /// d  succeeded 11-05 14:00, no commit, release 11-05 12:00    → lead 2 h (from submission)
    /// inc-1 shop/production 11-05 15:00 → 16:30                  → linked to d (live then); restore 1.5 h
    /// e  succeeded in staging; f succeeded before the window      → out of scope
    /// Frequency 3 in 10 days = 0.3/day (high); lead median of [2, 4, 24] h = 4 h (elite), p90 rank 1.8 → 4 + 0.8·20 = 20 h;
    /// failure rate: b and d of 4 attempts = 0.5 (low); restore median of [1.5, 3] h = 2.25 h (high). Overall: low.
    /// </summary>
    [Fact]
    public void The_worked_example()
    {
        var records = new[]
        {
            Deploy("a", "2026-11-02T09:00:00", "2026-11-02T10:00:00", commit: "2026-11-01T10:00:00"),
            Deploy("b", "2026-11-03T09:00:00", "2026-11-03T09:30:00", DeploymentOutcome.RolledBack, commit: "2026-11-02T20:00:00"),
            Deploy("c", "2026-11-03T11:00:00", "2026-11-03T12:00:00", commit: "2026-11-03T08:00:00"),
            Deploy("d", "2026-11-05T13:00:00", "2026-11-05T14:00:00", created: "2026-11-05T12:00:00"),
            Deploy("e", "2026-11-06T09:00:00", "2026-11-06T10:00:00", environment: "staging"),
            Deploy("f", "2026-10-20T09:00:00", "2026-10-20T10:00:00"),
        };
        var incidents = new[] { new IncidentSpan("inc-1", "shop", "production", null, T("2026-11-05T15:00:00"), T("2026-11-05T16:30:00")) };

        var figures = DoraCalculator.Compute(records, incidents, Production, T("2026-11-01T00:00:00"), T("2026-11-11T00:00:00"));

        Assert.Equal(3, figures.DeploymentFrequency.Deployments);
        Assert.Equal(0.3, figures.DeploymentFrequency.PerDay);
        Assert.Equal(PerformanceTier.High, figures.DeploymentFrequency.Tier);

        Assert.Equal(3, figures.LeadTime.Samples);
        Assert.Equal(1, figures.LeadTime.WithoutCommitTime);
        Assert.Equal(4 * 3600, figures.LeadTime.Duration.MedianSeconds);
        Assert.Equal(20 * 3600, figures.LeadTime.Duration.P90Seconds);
        Assert.Equal(PerformanceTier.Elite, figures.LeadTime.Tier);

        var cfr = figures.ChangeFailureRate;
        Assert.Equal((4, 2, 1, 0, 1, 0.5), (cfr.Deployments, cfr.Failures, cfr.RolledBack, cfr.Failed, cfr.IncidentLinked, cfr.Rate));
        Assert.Equal(PerformanceTier.Low, cfr.Tier);

        var restore = figures.TimeToRestore;
        Assert.Equal((2, 1, 1, 0), (restore.Duration.Samples, restore.Incidents, restore.FailedDeployments, restore.Unrestored));
        Assert.Equal(2.25 * 3600, restore.Duration.MedianSeconds);
        Assert.Equal(PerformanceTier.High, restore.Tier);

        Assert.Equal(PerformanceTier.Low, figures.Tier);
        Assert.Equal("DORA 2023 Accelerate State of DevOps", figures.Report);
    }

    [Fact]
    public void A_deployment_rolled_back_after_it_succeeded_is_a_deployment_and_a_failure_restored_by_the_next_good_one()
    {
        var records = new[]
        {
            // Succeeded at 10:00, rolled back later (ended 12:00); the next good one succeeds at 15:00: restored 6 h after it started.
            Deploy("a", "2026-11-02T09:00:00", "2026-11-02T12:00:00", DeploymentOutcome.RolledBack, succeeded: "2026-11-02T10:00:00", commit: "2026-11-02T08:00:00"),
            Deploy("b", "2026-11-02T14:00:00", "2026-11-02T15:00:00", commit: "2026-11-02T13:00:00"),
        };

        var figures = DoraCalculator.Compute(records, [], Production, T("2026-11-01T00:00:00"), T("2026-11-03T00:00:00"));

        Assert.Equal(2, figures.DeploymentFrequency.Deployments);
        Assert.Equal(2 * 3600, figures.LeadTime.Duration.P90Seconds!.Value, 3);        // [2 h, 2 h]
        Assert.Equal((2, 1, 1), (figures.ChangeFailureRate.Deployments, figures.ChangeFailureRate.Failures, figures.ChangeFailureRate.RolledBack));
        Assert.Equal(6 * 3600, figures.TimeToRestore.Duration.MedianSeconds);
    }

    [Fact]
    public void A_failure_with_no_good_deployment_since_and_an_open_incident_are_unrestored_not_samples()
    {
        var records = new[]
        {
            Deploy("a", "2026-11-02T09:00:00", "2026-11-02T10:00:00"),
            Deploy("b", "2026-11-02T11:00:00", "2026-11-02T11:20:00", DeploymentOutcome.Failed),
            Deploy("c", "2026-11-02T12:00:00", "2026-11-02T13:00:00", service: "cart"),     // another service does not restore shop
        };
        var incidents = new[] { new IncidentSpan("open", "shop", null, null, T("2026-11-02T14:00:00"), null) };

        var figures = DoraCalculator.Compute(records, incidents, Production, T("2026-11-01T00:00:00"), T("2026-11-03T00:00:00"));

        Assert.Equal((0, 2, 1, 1), (figures.TimeToRestore.Duration.Samples, figures.TimeToRestore.Unrestored, figures.TimeToRestore.Incidents, figures.TimeToRestore.FailedDeployments));
        Assert.Null(figures.TimeToRestore.Tier);
        // the open incident is held against c? No: c is cart; it names shop, so a (live at 14:00) is linked.
        Assert.Equal((3, 2, 1), (figures.ChangeFailureRate.Deployments, figures.ChangeFailureRate.Failures, figures.ChangeFailureRate.IncidentLinked));
    }

    [Theory]
    // incident: service, environment, release → the rollouts it is held against
    [InlineData("shop", "production", null, "b")]          // the shop deployment live at 12:00 in production
    [InlineData("shop", null, null, "b,s")]                // no environment: the live one in each environment
    [InlineData(null, "production", null, "")]             // names no service and no release: nobody's change
    [InlineData(null, null, "rel-a", "a")]                 // names the release: its deployments
    [InlineData("cart", "production", null, "")]           // cart was never deployed before it
    public void An_incident_is_held_against_the_release_it_names_or_the_deployment_live_when_it_was_declared(
        string? service, string? environment, string? release, string expected)
    {
        var history = new[]
        {
            Deploy("a", "2026-11-02T08:00:00", "2026-11-02T09:00:00", release: "rel-a"),
            Deploy("b", "2026-11-02T10:00:00", "2026-11-02T11:00:00"),
            Deploy("late", "2026-11-02T13:00:00", "2026-11-02T14:00:00"),
            Deploy("s", "2026-11-02T07:00:00", "2026-11-02T08:00:00", environment: "staging"),
            Deploy("x", "2026-11-02T10:00:00", "2026-11-02T10:30:00", DeploymentOutcome.RolledBack),
        };

        var linked = DoraCalculator.Linked(new IncidentSpan("i", service, environment, release, T("2026-11-02T12:00:00"), null), history);

        Assert.Equal(expected, string.Join(",", linked.Select(d => d.RolloutId).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void Service_scope_keeps_incidents_that_name_those_services_only()
    {
        var scope = new DoraScope(new HashSet<string> { "production" }, new HashSet<string> { "shop" });
        Assert.True(scope.Covers(new IncidentSpan("1", "shop", "production", null, T("2026-11-02T12:00:00"), null)));
        Assert.True(scope.Covers(new IncidentSpan("2", "shop", null, null, T("2026-11-02T12:00:00"), null)));
        Assert.False(scope.Covers(new IncidentSpan("3", null, "production", null, T("2026-11-02T12:00:00"), null)));
        Assert.False(scope.Covers(new IncidentSpan("4", "shop", "staging", null, T("2026-11-02T12:00:00"), null)));
        Assert.True(Production.Covers(new IncidentSpan("5", null, null, null, T("2026-11-02T12:00:00"), null)));
    }

    [Fact]
    public void A_commit_time_after_the_deployment_counts_as_zero_lead_time()
    {
        var records = new[] { Deploy("a", "2026-11-02T09:00:00", "2026-11-02T10:00:00", commit: "2026-11-02T11:00:00") };
        Assert.Equal(0, DoraCalculator.Compute(records, [], Production, T("2026-11-01T00:00:00"), T("2026-11-03T00:00:00")).LeadTime.Duration.MedianSeconds);
    }
}
